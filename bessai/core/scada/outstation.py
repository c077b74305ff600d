"""The IEC 60870-5-104 outstation: the site's values to the grid operator, its commands to the site.

Every ``refresh_s`` the site's readings become the points' values (what an
interrogation or a cyclic transmission reports), and a change beyond a
point's dead band, or of its quality, goes out spontaneously with the
sample's own time tag; with no master started it is kept in a bounded buffer
and sent in order after STARTDT. Commands arrive on the stack's thread and are
carried out on the event loop through ``ScadaSite`` (the controllers' own
command methods: guard, interlocks, ramp and audit), the stack's thread
waiting for the outcome to confirm positively or negatively. The stack is
only ever called from one worker thread, so that the loop never waits on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bessai.core.alarms.manager import AlarmClass, AlarmDefinition, Priority
from bessai.core.config.scada import ScadaSettings
from bessai.core.scada.authority import Authority
from bessai.core.scada.buffer import EventBuffer
from bessai.core.scada.clock import os_clock_synchronised
from bessai.core.scada.points import PointSpec
from bessai.core.scada.site import Outcome, Reading, ScadaSite
from bessai.core.stores.auth import Permission, Session

if TYPE_CHECKING:
    from bessai.core.scada.stack import Iec104Stack, Value

log = logging.getLogger(__name__)
T = TypeVar("T")

LINK_LOST = AlarmDefinition(
    "scada_link_lost",
    AlarmClass.COMMS,
    Priority.HIGH,
    "Grid operator's link lost while remote control is on",
    outlives_restart=False,  # remote control does not survive a restart
)
#: How long the stack's thread waits for a command's outcome before it confirms negatively.
COMMAND_TIMEOUT_S = 8.0


class ScadaUnavailable(RuntimeError):
    """The IEC 104 stack is not installed (the optional extra)."""


@dataclass(frozen=True)
class LastCommand:
    at: float
    by: str
    ioa: int
    command: str
    value: float | bool
    outcome: str
    reason: str


@dataclass
class MasterConnection:
    """A master's open connection. ``started`` is whether it is the redundancy group's active
    one (STARTDT); None when the stack's counts cannot tell which of the group it is."""

    address: str
    connected_at: float
    started: bool | None = False


#: A connection this young is kept even when the stack does not count it yet.
JUST_ACCEPTED_S = 1.0


@dataclass
class ScadaStats:
    connections_refused: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    spontaneous_sent: int = 0
    last_command: LastCommand | None = None
    clock_offset_s: float | None = None
    clock_sync_at: float | None = None
    clock_sync_by: str | None = None


class Outstation:
    """One IEC 104 server for the site, its authority, and the remote control state."""

    def __init__(
        self,
        site: ScadaSite,
        settings: ScadaSettings,
        points: tuple[PointSpec, ...],
        *,
        clock: Callable[[], float] = time.time,
        refresh_s: float = 0.1,
    ) -> None:
        self.site = site
        self.settings = settings
        self.points = points
        self.clock = clock
        self.refresh_s = refresh_s
        self.authority = Authority(settings.authority == "remote", clock(), "site file")
        self.remote_control = False
        self.stats = ScadaStats()
        self.buffer: EventBuffer[tuple[int, Value]] = EventBuffer(settings.iec104.buffer_events)
        self.connections: list[MasterConnection] = []
        self._connections_lock = threading.Lock()  # _accept runs on the stack's thread
        self.open_connections = 0
        self.active_connections = 0
        self.active_since: float | None = None
        self.link_lost_at: float | None = None
        self._stack: Iec104Stack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._current: dict[int, Value] = {}
        self._reported: dict[int, Value] = {}
        self._on_loss_done = False
        self._stopping = False
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Open the server (the stack takes about a second) and start reporting."""
        try:
            from bessai.core.scada.stack import Iec104Stack
        except ImportError:
            raise ScadaUnavailable(
                "[scada] needs the IEC 104 stack: pip install 'bessai-edge[iec104]' (c104, GPLv3)"
            ) from None
        self._loop = asyncio.get_running_loop()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="iec104")
        cfg = self.settings.iec104
        self._stack = await self._call(
            lambda: Iec104Stack(
                cfg,
                self.points,
                self._accept,
                self._command_from_stack,
                self._clock_sync,
                cfg.periodic_s,
            )
        )
        stack = self._stack
        try:
            await self._call(stack.start)
        except RuntimeError as exc:
            self._pool.shutdown(wait=False)
            raise ScadaUnavailable(
                f"[scada.iec104] bind = {cfg.bind!r}, port = {cfg.port}: cannot listen ({exc})"
            ) from None
        self.site.hold_authority(self._holder())
        if os_clock_synchronised() is False:
            log.warning(
                "the system clock is not reported synchronised: the IEC 104 time tags are "
                "only as good as it is"
            )
        await self._refresh()
        self._task = asyncio.create_task(self._run(), name="iec104-outstation")
        log.info(
            "IEC 104 outstation listening",
            extra={
                "bind": cfg.bind,
                "port": cfg.port,
                "common_address": cfg.common_address,
                "authority": self.authority.name,
                "points": len(self.points),
            },
        )

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._stack is not None:
            await self._call(self._stack.stop)
            self._stack = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    async def _call(self, fn: Callable[[], T]) -> T:
        assert self._pool is not None
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def _run(self) -> None:
        """Refresh on a new sample or control state, and every ``refresh_s`` regardless."""
        unsubscribe = self.site.on_change(self._wake.set)
        failure: str | None = None
        try:
            while True:
                self._wake.clear()
                try:
                    await self._refresh()
                    failure = None
                except Exception as exc:
                    # Once per kind of failure: ten refreshes a second must not fill the log.
                    if f"{type(exc).__name__}: {exc}" != failure:
                        failure = f"{type(exc).__name__}: {exc}"
                        log.error("IEC 104 refresh failed", extra={"error": failure})
                # asyncio.timeout, not wait_for: on 3.11, wait_for can swallow the stop's
                # cancel when the wake comes at the same moment, and stop() then waits forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.refresh_s):
                        await self._wake.wait()
        finally:
            unsubscribe()

    async def _refresh(self) -> None:
        """Readings to points; spontaneous changes out (or kept); the link watched."""
        from bessai.core.scada.stack import Value

        stack = self._stack
        assert stack is not None
        now = self.clock()
        self.site.hold_authority(self._holder())  # a battery added since is held too
        readings = self.site.readings()
        readings["remote_authority"] = Reading(self.authority.remote, self.authority.since)
        changed: list[tuple[int, Value]] = []
        for spec in self.points:
            if spec.is_command:
                continue
            assert spec.source is not None
            reading = readings.get(spec.source, Reading(None, None))
            value = self._value(spec, reading, now, Value)
            previous = self._reported.get(spec.ioa)
            self._current[spec.ioa] = value
            if previous is None:
                self._reported[spec.ioa] = value
            elif _beyond(spec, previous, value):
                self._reported[spec.ioa] = value
                changed.append((spec.ioa, value))
        current = dict(self._current)
        counts = await self._call(lambda: self._push(stack, current, changed))
        self._watch_link(*counts, now=now)
        if counts[1] and len(self.buffer):
            await self._flush(stack)

    @staticmethod
    def _value(spec: PointSpec, reading: Reading, now: float, kind: type[Value]) -> Value:
        ts = reading.ts if reading.ts is not None else now
        if reading.value is None or (
            isinstance(reading.value, float) and not math.isfinite(reading.value)
        ):
            return kind(False if spec.is_single else 0.0, True, reading.stale, ts)
        if spec.is_single:
            return kind(bool(reading.value), reading.stale, reading.stale, ts)
        return kind(float(reading.value) * spec.scale, reading.stale, reading.stale, ts)

    def _push(
        self, stack: Iec104Stack, current: dict[int, Value], changed: list[tuple[int, Value]]
    ) -> tuple[int, int]:
        """On the worker thread: every point's value, then the changes spontaneously."""
        for ioa, value in current.items():
            stack.update(ioa, value)
        for ioa, value in changed:
            if len(self.buffer) or not stack.spontaneous(ioa, value, current[ioa]):
                self.buffer.add((ioa, value))
            else:
                self.stats.spontaneous_sent += 1
        return stack.connections()

    async def _flush(self, stack: Iec104Stack) -> None:
        events = self.buffer.take()
        current = dict(self._current)

        def send() -> list[tuple[int, Value]]:
            for i, (ioa, value) in enumerate(events):
                if not stack.spontaneous(ioa, value, current[ioa]):
                    return events[i:]
                self.stats.spontaneous_sent += 1
            return []

        unsent = await self._call(send)
        self.buffer.put_back(unsent)
        log.info(
            "buffered IEC 104 events sent",
            extra={"sent": len(events) - len(unsent), "dropped": self.buffer.dropped},
        )

    @property
    def masters(self) -> list[str]:
        """The addresses of the masters connected now."""
        with self._connections_lock:
            return [c.address for c in self.connections]

    def _track(self, open_count: int, active_count: int, now: float) -> None:
        """Which connections are still open and which is started, from the stack's counts
        (c104's server reports counts, not connections): the ones that went are the started
        ones if the started count fell, else the others, oldest first."""
        with self._connections_lock:
            conns = self.connections
            gone_started = max(0, self.active_connections - active_count)
            excess = len(conns) - open_count
            for want_started in (True, False, None):
                for c in list(conns):
                    if excess <= 0:
                        break
                    if now - c.connected_at < JUST_ACCEPTED_S:
                        continue
                    if want_started is True and (c.started is not True or gone_started <= 0):
                        continue
                    if want_started is False and c.started is True:
                        continue
                    conns.remove(c)
                    excess -= 1
                    gone_started -= c.started is True
            if active_count == 0:
                for c in conns:
                    c.started = False
            elif active_count >= len(conns):
                for c in conns:
                    c.started = True
            elif sum(c.started is True for c in conns) != active_count:
                for c in conns:
                    c.started = None
        if active_count and not self.active_connections:
            self.active_since = now
        elif not active_count:
            self.active_since = None

    def _watch_link(self, open_count: int, active_count: int, now: float) -> None:
        self._track(open_count, active_count, now)
        self.open_connections, self.active_connections = open_count, active_count
        if active_count:
            if self.link_lost_at is not None:
                log.info("IEC 104 master started again")
                self.site.alarm(LINK_LOST, False)
            self.link_lost_at = None
            self._on_loss_done = False
            return
        if self.link_lost_at is None:
            self.link_lost_at = now
        if (
            self.remote_control
            and not self._on_loss_done
            and now - self.link_lost_at >= self.settings.remote_timeout_s
        ):
            self._on_loss_done = True
            asyncio.get_running_loop().create_task(self._link_lost(now - self.link_lost_at))

    async def _link_lost(self, down_s: float) -> None:
        action = self.settings.on_loss
        detail = f"no master started for {down_s:.1f} s: {action}"
        log.warning("IEC 104 link lost with remote control on", extra={"on_loss": action})
        self.site.alarm(LINK_LOST, True, detail)
        if action == "standby":
            outcome = await self.site.remote_control(False, "scada:link-lost")
            if outcome.ok:
                self.remote_control = False
            self.site.record(
                "scada:link-lost",
                "scada_link_lost",
                "standby" if outcome.ok else "failed",
                down_s=round(down_s, 1),
                reason=outcome.reason,
            )
        else:
            self.site.record("scada:link-lost", "scada_link_lost", "hold", down_s=round(down_s, 1))

    def _holder(self) -> str | None:
        return "scada" if self.authority.remote else None

    async def set_authority(self, remote: bool, session: Session | None) -> Outcome:
        """An engineer hands authority over (the screen's second step); audited either way,
        reported on 3001. Back to Local also ends remote control: the site goes to standby."""
        wanted = "remote" if remote else "local"
        user = session.user if session is not None else "anonymous"
        if session is None or not session.may(Permission.ENGINEER):
            reason = "only an engineer may hand authority over"
            self.site.record(user, "scada_authority", "refused", authority=wanted, reason=reason)
            return Outcome(False, reason)
        if not self.authority.switch(remote, user, self.clock()):
            return Outcome(True, f"authority already {wanted}")
        self.site.hold_authority(self._holder())
        self.site.record(user, "scada_authority", "ok", authority=wanted)
        if not remote and self.remote_control:
            self.remote_control = False
            await self.site.remote_control(False, user)
        if self._stack is not None:
            await self._refresh()
        return Outcome(True, f"authority {wanted}")

    def _peer(self) -> str:
        with self._connections_lock:
            started = [c.address for c in self.connections if c.started is not False]
        return "scada:" + ("|".join(sorted(set(started or self.masters))) or "unknown")

    def _accept(self, ip: str) -> bool:
        """On the stack's thread: a master connects; refused unless on the allowed list."""
        allowed = self.settings.iec104.allowed_masters
        if allowed and ip not in allowed:
            self.stats.connections_refused += 1
            log.warning("IEC 104 master refused: not on allowed_masters", extra={"master": ip})
            return False
        with self._connections_lock:
            self.connections.append(MasterConnection(ip, self.clock()))
        log.info("IEC 104 master connected", extra={"master": ip})
        return True

    def _clock_sync(self, peer: str, master_time: datetime.datetime) -> None:
        """On the stack's thread: confirmed; the offset is recorded, the clock is not set."""
        offset = master_time.replace(tzinfo=datetime.UTC).timestamp() - time.time()
        self.stats.clock_offset_s = round(offset, 3)
        self.stats.clock_sync_at = self.clock()
        self.stats.clock_sync_by = peer
        log.info("IEC 104 clock synchronisation", extra={"master": peer, "offset_s": offset})

    def _command_from_stack(self, spec: PointSpec, value: float | bool) -> bool:
        """On the stack's thread: carry the command out on the loop, wait, confirm."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        future = asyncio.run_coroutine_threadsafe(self.command(spec, value), loop)
        try:
            return future.result(COMMAND_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            log.error("IEC 104 command timed out", extra={"ioa": spec.ioa})
            return False

    async def command(self, spec: PointSpec, value: float | bool) -> bool:
        """A command from the grid operator: True for a positive confirmation."""
        by = self._peer()
        assert spec.command is not None
        outcome = await self._decide(spec, value, by)
        self.stats.commands["accepted" if outcome.ok else "refused"] += 1
        self.stats.last_command = LastCommand(
            self.clock(),
            by,
            spec.ioa,
            spec.command,
            value,
            "accepted" if outcome.ok else "refused",
            outcome.reason,
        )
        detail: dict[str, Any] = {"ioa": spec.ioa, "command": spec.command, "value": value}
        if outcome.applied is not None:
            detail["applied"] = outcome.applied
        self.site.record(
            by,
            "scada_command",
            "ok" if outcome.ok else "refused",
            reason=outcome.reason,
            **detail,
        )
        if self._stack is not None and not self._stopping:
            await self._refresh()  # 1005 and 3001 at once, not at the next refresh
        return outcome.ok

    async def _decide(self, spec: PointSpec, value: float | bool, by: str) -> Outcome:
        if not self.authority.remote:
            return Outcome(False, "authority is local")
        if self.active_connections > 1:
            return Outcome(False, "two masters started: one redundancy group serves one")
        if spec.command == "remote_control":
            on = bool(value)
            outcome = await self.site.remote_control(on, by)
            if outcome.ok:
                self.remote_control = on
            return outcome
        if spec.command == "active_power_setpoint_kw":
            if not self.remote_control:
                return Outcome(False, "remote control is off (2101)")
            return await self.site.site_setpoint_kw(float(value) / spec.scale, by)
        if spec.command == "reactive_power_setpoint_kvar":
            if not self.remote_control:
                return Outcome(False, "remote control is off (2101)")
            return await self.site.site_reactive_kvar(float(value) / spec.scale, by)
        return Outcome(False, f"no such command: {spec.command}")

    def summary(self) -> dict[str, Any]:
        """For /health and the screens: the link, authority, commands and the buffer."""
        last = self.stats.last_command
        return {
            "protocol": "iec104",
            "bind": self.settings.iec104.bind,
            "port": self.settings.iec104.port,
            "authority": self.authority.name,
            "authority_since": self.authority.since,
            "authority_by": self.authority.by,
            "remote_control": self.remote_control,
            "masters": sorted(set(self.masters)),
            "connections": self._connection_rows(),
            "open_connections": self.open_connections,
            "active_connections": self.active_connections,
            "active_since": self.active_since,
            "connections_refused": self.stats.connections_refused,
            "commands": dict(self.stats.commands),
            "last_command": None if last is None else last.__dict__,
            "buffered_events": len(self.buffer),
            "dropped_events": self.buffer.dropped,
            "spontaneous_sent": self.stats.spontaneous_sent,
            "os_clock_synchronised": os_clock_synchronised(),
            "clock_offset_s": self.stats.clock_offset_s,
            "clock_sync_at": self.stats.clock_sync_at,
            "link_lost_since": self.link_lost_at,
        }

    def _connection_rows(self) -> list[dict[str, Any]]:
        with self._connections_lock:
            return [
                {"address": c.address, "connected_at": c.connected_at, "started": c.started}
                for c in self.connections
            ]


def _beyond(spec: PointSpec, old: Value, new: Value) -> bool:
    """A change worth a spontaneous frame: the quality, or the value past the dead band."""
    if (old.invalid, old.non_topical) != (new.invalid, new.non_topical):
        return True
    if spec.is_single:
        return bool(old.value) != bool(new.value)
    return abs(float(new.value) - float(old.value)) > spec.deadband
