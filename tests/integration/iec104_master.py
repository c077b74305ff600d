"""A master for the outstation's tests: c104's own Client, on 127.0.0.1.

No ``from __future__ import annotations``: c104 checks its callbacks' real
annotation objects. Its calls block (they wait for the confirmation), so the
tests make them through ``asyncio.to_thread``.
"""

import time
from dataclasses import dataclass

import c104

from bessai.core.scada.points import DEFAULT_POINTS


@dataclass(frozen=True)
class Frame:
    ioa: int
    value: object
    invalid: bool
    non_topical: bool
    recorded_at: float | None
    cot: str
    received_at: float


class Master:
    """One connection to the outstation, its points predeclared from the default list."""

    def __init__(self, port: int, common_address: int, *, muted: bool = False) -> None:
        self.client = c104.Client(tick_rate_ms=50, command_timeout_ms=1000)
        # Always connected muted; STARTDT is sent by ``wait_open`` (c104's own start-up
        # STARTDT sometimes never leaves when it races the connection's opening).
        connection = self.client.add_connection(ip="127.0.0.1", port=port, init=c104.Init.MUTED)
        assert connection is not None
        self.connection = connection
        self.common_address = common_address
        station = connection.add_station(common_address=common_address)
        assert station is not None
        self.station = station
        self.frames: list[Frame] = []
        self.raw: list[str] = []
        self.raw_at: list[float] = []  # when each raw frame came off the socket
        connection.on_receive_raw(callable=self._raw)
        for spec in DEFAULT_POINTS:
            point = station.add_point(io_address=spec.ioa, type=getattr(c104.Type, spec.type))
            assert point is not None
            if not spec.is_command:
                point.on_receive(callable=self._received)
        self.muted = muted
        self.closed = False
        self.client.start()

    def _received(
        self, point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        quality = point.quality
        at = point.recorded_at
        self.frames.append(
            Frame(
                point.io_address,
                point.value,
                "Invalid" in str(quality),
                "NonTopical" in str(quality),
                None if at is None else at.timestamp(),
                message.cot.name,
                time.time(),
            )
        )
        return c104.ResponseState.SUCCESS

    def _raw(self, connection: c104.Connection, data: bytes) -> None:
        self.raw_at.append(time.time())
        self.raw.append(c104.explain_bytes(apdu=data))

    def _confirmation(self, start: int, what: str, timeout_s: float = 10.0) -> bool:
        """The confirmation (``what``, e.g. 'C_SE_NC_1 | ACTIVATION_CON') among the frames
        received since ``start``: True if positive. Read off the wire rather than from the
        call's result: c104's Client misses a confirmation that comes back very fast."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for frame in self.raw[start:]:
                if what in frame:
                    return "| POSITIVE |" in frame
            time.sleep(0.02)
        raise AssertionError(f"no {what} within {timeout_s} s")

    def wait_open(self, timeout_s: float = 5.0) -> bool:
        """Connected (and started, unless muted) within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        muted_since: float | None = None
        unmuted_at: float | None = None
        while time.monotonic() < deadline:
            state = self.connection.state
            if state == c104.ConnectionState.OPEN:
                return True
            if state != c104.ConnectionState.OPEN_MUTED:
                muted_since = None
            else:
                if self.muted:
                    return True
                now = time.monotonic()
                muted_since = muted_since or now
                # c104's Client can crash (SIGSEGV) when unmute races the connection's own
                # opening, or a STARTDT still in flight: one at a time, on a settled link.
                settled = now - muted_since >= 0.3
                if settled and (unmuted_at is None or now - unmuted_at > 1.0):
                    unmuted_at = now
                    self.connection.unmute()
            time.sleep(0.05)
        return False

    def interrogate(self) -> dict[int, Frame]:
        """A station interrogation; the last frame of each address with cause 20."""
        start, raw_start = len(self.frames), len(self.raw)
        self.connection.interrogation(common_address=self.common_address, wait_for_response=False)
        assert self._confirmation(raw_start, "C_IC_NA_1 | ACTIVATION_TERMINATION")
        wanted = {p.ioa for p in DEFAULT_POINTS if not p.is_command}
        deadline = time.monotonic() + 2.0
        while True:
            got = {f.ioa: f for f in self.frames[start:] if f.cot == "INTERROGATED_BY_STATION"}
            if set(got) >= wanted:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"interrogation answered {sorted(got)} of {sorted(wanted)}")
            time.sleep(0.02)

    def command(self, ioa: int, value: float | bool) -> bool:
        """A direct command; True for a positive confirmation."""
        point = self.station.get_point(io_address=ioa)
        assert point is not None
        point.value = value
        start = len(self.raw)
        point.transmit(cause=c104.Cot.ACTIVATION)
        return self._confirmation(start, f"{point.type.name} | ACTIVATION_CON")

    def clock_sync(self) -> bool:
        start = len(self.raw)
        self.connection.clock_sync(common_address=self.common_address, wait_for_response=False)
        return self._confirmation(start, "C_CS_NA_1 | ACTIVATION_CON")

    def unmute(self) -> bool:
        """STARTDT on a muted connection."""
        self.muted = False
        return self.wait_open()

    def close(self) -> None:
        """Disconnect (again: nothing)."""
        if not self.closed:
            self.closed = True
            self.client.stop()
