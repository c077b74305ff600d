"""The IEC 60870-5-104 stack (c104, on lib60870): one server, one station, our points.

All framing is the stack's. This module is the only one that imports c104 (an
optional extra, GPLv3), so that the gateway imports without it. Its methods are
called from the outstation's one worker thread, never from the event loop; the
callbacks arrive on c104's own threads.

No ``from __future__ import annotations`` here, on purpose: c104 checks a
callback's signature against its real annotation objects and refuses strings.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

import c104

from bessai.core.config.scada import Iec104Settings
from bessai.core.scada.points import PointSpec

log = logging.getLogger(__name__)

TICK_MS = 100


@dataclass(frozen=True)
class Value:
    """A monitored value for the wire: the value, its quality bits and its time tag."""

    value: float | bool
    invalid: bool
    non_topical: bool
    ts: float


def _quality(v: Value) -> c104.Quality:
    # c104's stubs do not declare the flags' ``|`` (it works: a pybind11 flag enum).
    q = c104.Quality()
    if v.invalid:
        q = q | c104.Quality.Invalid  # type: ignore[operator]
    if v.non_topical:
        q = q | c104.Quality.NonTopical  # type: ignore[operator]
    return q


def _info(spec: PointSpec, v: Value) -> c104.Information:
    at = datetime.datetime.fromtimestamp(v.ts, datetime.UTC)
    if spec.is_single:
        return c104.SingleInfo(on=bool(v.value), quality=_quality(v), recorded_at=at)
    return c104.ShortInfo(actual=float(v.value), quality=_quality(v), recorded_at=at)


class Iec104Stack:
    """c104's Server with the point list; ``on_command`` answers True for a positive
    confirmation; ``on_connect`` accepts or refuses a master by address."""

    def __init__(
        self,
        settings: Iec104Settings,
        points: tuple[PointSpec, ...],
        on_connect: Callable[[str], bool],
        on_command: Callable[[PointSpec, float | bool], bool],
        on_clock_sync: Callable[[str, datetime.datetime], None],
        periodic_s: float,
    ) -> None:
        self._on_connect = on_connect
        self._on_command = on_command
        self._on_clock_sync = on_clock_sync
        self.server = c104.Server(
            ip=settings.bind,
            port=settings.port,
            tick_rate_ms=TICK_MS,
            max_connections=settings.max_connections,
        )
        params = self.server.protocol_parameters
        params.send_window_size = settings.k
        params.receive_window_size = settings.w
        params.connection_timeout = settings.t0_s
        params.message_timeout = settings.t1_s
        params.confirm_interval = settings.t2_s
        params.keep_alive_interval = settings.t3_s
        station = self.server.add_station(common_address=settings.common_address)
        assert station is not None
        self.specs = {p.ioa: p for p in points}
        self.points: dict[int, c104.Point] = {}
        report_ms = max(TICK_MS, round(periodic_s * 1000 / TICK_MS) * TICK_MS) if periodic_s else 0
        for spec in points:
            kind = getattr(c104.Type, spec.type)
            periodic = report_ms if spec.type.startswith("M_ME") else 0
            point = station.add_point(io_address=spec.ioa, type=kind, report_ms=periodic)
            assert point is not None
            if spec.is_command:
                point.on_receive(callable=self._received)
            else:
                point.info = _info(spec, Value(0.0, True, True, 0.0))
            self.points[spec.ioa] = point
        self.server.on_connect(callable=self._connect)
        self.server.on_clock_sync(callable=self._clock_sync)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def connections(self) -> tuple[int, int]:
        """Open connections, and started (STARTDT) ones."""
        return self.server.open_connection_count, self.server.active_connection_count

    def update(self, ioa: int, value: Value) -> None:
        """The value an interrogation or a cyclic transmission reports from now on."""
        self.points[ioa].info = _info(self.specs[ioa], value)

    def spontaneous(self, ioa: int, value: Value, current: Value) -> bool:
        """Send ``value`` spontaneously (cause 3), then report ``current`` again; False if no
        started connection took it."""
        point = self.points[ioa]
        point.info = _info(self.specs[ioa], value)
        sent = point.transmit(cause=c104.Cot.SPONTANEOUS)
        if value is not current:
            point.info = _info(self.specs[ioa], current)
        return sent

    def _connect(self, server: c104.Server, ip: str) -> bool:
        return self._on_connect(ip)

    def _clock_sync(
        self, server: c104.Server, ip: str, date_time: datetime.datetime
    ) -> c104.ResponseState:
        self._on_clock_sync(ip, date_time)
        return c104.ResponseState.SUCCESS

    def _received(
        self, point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        spec = self.specs[point.io_address]
        value = point.value
        if not isinstance(value, bool | float | int):
            return c104.ResponseState.FAILURE
        ok = self._on_command(spec, value)
        return c104.ResponseState.SUCCESS if ok else c104.ResponseState.FAILURE
