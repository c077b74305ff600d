"""The bridge: the only GUI seam onto the core, in three parts.

``CoreBridge`` (here) is the live feed: it subscribes to the core's bus, keeps
the latest site snapshot (composed by the core once per control cycle) and
emits Qt signals at most at the screen's rate (10 Hz by default), so the
screen never blocks the core and the core never waits for the screen. A frame
that would fall during a device poll or just before one is put off (by at
most half a frame) until the poll is done. Pages read the snapshot and
compute no site value themselves. ``bridge_commands.CommandsBridge`` is the
operator's commands (the session, the target — the site or one device —,
modes, setpoints, E-stop, alarms), through the gateway's command API;
``bridge_admin.AdminBridge`` the engineer's and administrator's work (users,
devices, limits, commissioning, discovery, reports, fleet). Commands run as
asyncio tasks on the same (qasync) loop; their results come back as signals.
Chart samples are buffered between frames, not dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from bessai.core.alarms.manager import (
    Alarm,
    AlarmAcknowledged,
    AlarmCleared,
    AlarmRaised,
    AlarmShelved,
    AlarmState,
    Priority,
)
from bessai.core.cloud.fleet import Fleet, FleetReader, FleetRow
from bessai.core.control.events import CommandResult, ControlMode, ControlState, ControlStateChanged
from bessai.core.guard.safety import (
    ENGLISH,
    TRIP_CAUSES,
    Interlock,
    Params,
    Preview,
    Reason,
    SafetyLimits,
    Window,
    describe,
)
from bessai.core.ids.summary import IntrusionSummary
from bessai.core.plant.snapshot import (
    Condition,
    DeviceSnapshot,
    InterlockEntry,
    SiteSnapshot,
    SiteSnapshotTaken,
)
from bessai.core.polling.scheduler import DeviceStatus
from bessai.core.runtime.events import Sample, SampleTaken
from bessai.core.runtime.heap import freeze_startup_heap
from bessai.core.site.admin import ConnectionTest, SiteAdmin
from bessai.core.site.commissioning import (
    TESTS,
    CommissioningRun,
)
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Permission, Session
from bessai.core.stores.outbox_summary import OutboxSummary
from bessai.drivers.device import RegisterRow
from bessai.drivers.discovery import (
    Discovery,
)
from bessai.gui.bridge_admin import AdminBridge
from bessai.gui.bridge_commands import CommandsBridge

log = logging.getLogger(__name__)

# Text and colours are refreshed four times a second: a person reads no faster, and each
# refresh of a page costs the loop the core shares (the charts keep the full frame rate).
TEXT_PERIOD_S = 0.25


@dataclass(frozen=True)
class DeviceInfo:
    """One device as the screen shows it."""

    name: str
    manufacturer: str
    model: str
    endpoint: str
    writable: list[str]
    requests_per_poll: int
    reconnects: int
    timeouts: int
    exceptions: int
    controllable: bool


class CoreBridge(CommandsBridge, AdminBridge, QObject):
    """Coalesces core events into Qt signals and runs operator commands on the core."""

    frame = Signal()  # at most at the screen's rate, when anything changed
    text_frame = Signal()  # at most TEXT_PERIOD_S apart: numbers in words need no more
    samples_arrived = Signal(list)  # every Sample since the last frame (for charts)
    alarms_changed = Signal()
    session_changed = Signal()
    command_done = Signal(str, object)  # action, CommandResult | str (error)

    def __init__(
        self,
        gateway: Gateway,
        *,
        rate_hz: float = 10.0,
        paint_guard_s: float = 0.025,
        poll_margin_s: float = 0.005,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.gateway = gateway
        self.latest: dict[str, Sample] = {}
        self.control: dict[str, ControlState] = {}
        self.session: Session | None = None
        self._pending: list[Sample] = []
        self._alarms_dirty = False
        self._snapshot: SiteSnapshot | None = None
        self._target: str | None = None  # None: the site when it has several devices
        self._text_at = 0.0
        self.fleet: Fleet | None = None  # the fleet view's state, once a subscription is watched
        self._fleet_reader: FleetReader | None = None  # when each active interlock was first seen
        self._tasks: set[asyncio.Task[Any]] = set()  # qasync keeps no references to tasks
        self.site_admin: SiteAdmin | None = None  # set when the site can be edited from here
        self.commissioning: CommissioningRun | None = None
        bus = gateway.bus
        self._unsubscribe = [
            bus.subscribe(SampleTaken, self._on_sample),
            bus.subscribe(ControlStateChanged, self._on_control),
            bus.subscribe(SiteSnapshotTaken, self._on_snapshot),
            *(
                bus.subscribe(kind, self._on_alarm)
                for kind in (AlarmRaised, AlarmCleared, AlarmAcknowledged, AlarmShelved)
            ),
        ]
        self.period_ms = max(1, round(1000 / rate_hz))
        self.paint_guard_s = paint_guard_s
        self.poll_margin_s = poll_margin_s
        self.frames_put_off = 0
        self.frames_forced = 0
        self._put_off_s = 0.0
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.timer.start(self.period_ms)

    def _on_sample(self, event: SampleTaken) -> None:
        self.latest[event.sample.device] = event.sample
        self._pending.append(event.sample)

    def _on_control(self, event: ControlStateChanged) -> None:
        self.control[event.state.device] = event.state

    def _on_snapshot(self, event: SiteSnapshotTaken) -> None:
        self._snapshot = event.snapshot

    def snapshot(self) -> SiteSnapshot:
        """The site as the core last composed it (once per control cycle)."""
        snapshot = self._snapshot
        names = set(self.gateway.pollers)
        if snapshot is None or set(snapshot.names) != names:
            # A device added or removed since: every page shows the site as it is now.
            snapshot = self._snapshot = self.gateway.build_snapshot()
        return snapshot

    def _on_alarm(self, _: object) -> None:
        self._alarms_dirty = True

    def _tick(self) -> None:
        """Emit a frame, or put it off while a poll runs or is about to fall due."""
        due_s = self.gateway.seconds_to_next_poll()
        if due_s is not None and due_s < self.paint_guard_s:
            if self._put_off_s < self.period_ms / 2000:
                wait_s = due_s + self.poll_margin_s
                if self._put_off_s == 0.0:
                    self.frames_put_off += 1
                self._put_off_s += wait_s
                self.timer.start(max(1, round(wait_s * 1000)))
                return
            self.frames_forced += 1  # put off for half a frame already: the screen goes on
        self._put_off_s = 0.0
        self._emit()
        self.timer.start(self.period_ms)

    def _emit(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.samples_arrived.emit(batch)
        if self._alarms_dirty:
            self._alarms_dirty = False
            self.alarms_changed.emit()
        # A frame every tick keeps ages and the lease countdown moving even with no events.
        self.frame.emit()
        now = time.monotonic()
        if now - self._text_at >= TEXT_PERIOD_S - self.period_ms / 2000:
            self._text_at = now
            self.text_frame.emit()

    def close(self) -> None:
        self.timer.stop()
        if self._fleet_reader is not None:
            self._fleet_reader.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for task in self._tasks:
            task.cancel()

    def run(
        self, action: str, coro: Awaitable[Any], done: Callable[[Any], None] | None = None
    ) -> asyncio.Task[Any]:
        """Run a core coroutine on the loop; report its result by signal (and callback)."""

        async def wrapper() -> Any:
            try:
                result = await coro
            except Exception as exc:  # shown to the operator, never raised into Qt
                log.exception("command failed", extra={"action": action})
                result = f"{type(exc).__name__}: {exc}"
            self.command_done.emit(action, result)
            if done is not None:
                done(result)
            return result

        task = asyncio.get_event_loop().create_task(wrapper())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def fetch_history(
        self,
        device: str,
        roles: dict[str, str],
        start: float,
        end: float,
        width_px: int,
        done: Callable[[Any], None],
    ) -> None:
        """Chart series from local history, read off the loop; ``done`` gets {name: (ts, values)}."""

        async def load() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, role in roles.items():
                series = await self.gateway.history.fetch(device, role, start, end, width_px)
                out[name] = (series.ts, series.values)
            return out

        self.run("history", load(), done)

    @property
    def site_id(self) -> str:
        return self.gateway.site_id

    @property
    def data_dir(self) -> Path:
        return self.gateway.data_dir

    def statuses(self) -> list[DeviceStatus]:
        return self.gateway.statuses()

    def device_names(self) -> list[str]:
        return list(self.gateway.devices)

    def device_info(self, name: str) -> DeviceInfo | None:
        """What the Devices and Settings pages show of one device."""
        dev = self.gateway.devices.get(name)
        if dev is None:
            return None
        return DeviceInfo(
            name=name,
            manufacturer=dev.profile.manufacturer,
            model=dev.profile.model,
            endpoint=str(dev.endpoint),
            writable=[r.name for r in dev.profile.registers if r.writable],
            requests_per_poll=dev.plan.request_count,
            reconnects=dev.stats.reconnects,
            timeouts=dev.stats.timeouts,
            exceptions=sum(dev.stats.exceptions.values()),
            controllable=name in self.gateway.controllers,
        )

    def register_rows(self, name: str) -> list[RegisterRow]:
        return self.gateway.devices[name].register_table()

    def limits(self) -> SafetyLimits | None:
        """The guard's limits of the first controllable device (what the Overview colours by)."""
        if not self.gateway.controllers:
            return None
        return self.gateway.controller().guard.limits

    def rated_kw(self) -> float | None:
        """The controllable device's rating (for the dead band and the keypad's presets)."""
        name = self.controller_name()
        if name is None:
            return None
        profile = self.gateway.devices[name].profile
        rating = profile.control.rated_power_kw if profile.control is not None else None
        limits = self.gateway.controllers[name].guard.limits
        return rating or max(limits.max_charge_kw, limits.max_discharge_kw)

    def seconds_to_soc_limit(self, power_kw: float, soc_pct: float | None) -> float | None:
        if not self.gateway.controllers:
            return None
        return self.gateway.controller().guard.seconds_to_soc_limit(power_kw, soc_pct)

    def device_intrusion_score(self, device: str) -> float | None:
        return self.gateway.ids.score(device)

    def poll_period_s(self) -> float:
        """The slowest device's poll period (a longer silence is a gap in the charts)."""
        return max((d.poll_interval_s for d in self.gateway.configs), default=1.0)

    def active_alarms(self) -> list[Alarm]:
        """The alarm instances to show (not shelved), most urgent first, from the snapshot."""
        now = time.time()
        return [a for a in self.snapshot().alarms if not a.shelved(now)]

    def intrusion_summary(self) -> IntrusionSummary:
        return self.gateway.intrusion_summary()

    def outbox_summary(self) -> OutboxSummary | None:
        return self.gateway.outbox_summary()


def result_text(result: object, spanish: bool) -> str:
    """What a command's result says, in the screen's language (the translator installed)."""
    if isinstance(result, CommandResult):
        from bessai.gui.reasons import of

        return of(result)
    return str(result)


__all__ = [
    "ENGLISH",
    "TESTS",
    "TRIP_CAUSES",
    "Alarm",
    "AlarmState",
    "CommandResult",
    "Condition",
    "ConnectionTest",
    "ControlMode",
    "ControlState",
    "CoreBridge",
    "DeviceSnapshot",
    "DeviceStatus",
    "Discovery",
    "FleetRow",
    "Gateway",
    "Interlock",
    "InterlockEntry",
    "IntrusionSummary",
    "Params",
    "Permission",
    "Preview",
    "Priority",
    "Reason",
    "SafetyLimits",
    "Sample",
    "SiteSnapshot",
    "Window",
    "describe",
    "freeze_startup_heap",
    "result_text",
]
