"""The bridge: the only GUI module that touches the core.

It subscribes to the core's bus, keeps the latest of everything, and emits
Qt signals at most at the screen's rate (10 Hz by default), so the screen
never blocks the core and the core never waits for the screen. A frame that
would fall during a device poll or just before one is put off (by at most
half a frame) until the poll is done: a redraw and its paint hold the loop
the core shares for 10-20 ms, and at equal rates a colliding phase would
delay every poll. Commands go
the other way as asyncio tasks on the same (qasync) loop; their results come
back as signals. Chart samples are buffered between frames, not dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
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
from bessai.core.config.settings import DeviceConfig
from bessai.core.control.events import CommandResult, ControlMode, ControlState, ControlStateChanged
from bessai.core.dispatch.summary import DispatchSummary
from bessai.core.guard.safety import Interlock, Preview, Reason, SafetyLimits, Window
from bessai.core.ids.summary import IntrusionSummary
from bessai.core.plant.commands import SITE_TARGET
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
from bessai.core.site.admin import ConnectionTest, SiteAdmin, SiteChangeError, check_connection
from bessai.core.site.commissioning import (
    TESTS,
    CommissioningError,
    CommissioningRun,
    write_report_json,
)
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthError, Permission, Role, Session
from bessai.core.stores.outbox_summary import OutboxSummary
from bessai.drivers.device import RegisterRow
from bessai.drivers.discovery import (
    Discovery,
    DiscoveryError,
    discover,
    discovered_profile,
    write_profile,
)
from bessai.drivers.profile_loader import registry_ids
from bessai.drivers.simulator.server import Fault

log = logging.getLogger(__name__)

EVENT_ACTIONS = ("mode", "estop", "estop_reset", "maintenance")
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


class CoreBridge(QObject):
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

    def touch(self) -> None:
        """The operator touched the screen or the keyboard: the session is not idle."""
        if self.session is not None:
            self.gateway.auth.session(self.session.token, touch=True)

    def current_session(self) -> Session | None:
        """The logged-in session, or None once it expired for idleness (looking is not activity)."""
        if (
            self.session is not None
            and self.gateway.auth.session(self.session.token, touch=False) is None
        ):
            self.session = None
            self.session_changed.emit()
        return self.session

    def may(self, permission: Permission) -> bool:
        session = self.current_session()
        return session is not None and session.may(permission)

    async def login(self, user: str, secret: str) -> Session | str:
        """A session, or the refusal's stable code ("bad_credentials", "locked", ...)."""
        try:
            self.session = await self.gateway.auth.login(user, secret)
        except AuthError as exc:
            return exc.code
        self.session_changed.emit()
        return self.session

    def logout(self) -> None:
        if self.session is not None:
            self.run("logout", self.gateway.auth.logout(self.session.token))
        self.session = None
        self.session_changed.emit()

    def targets(self) -> list[str]:
        """What Control can command: the site (with several devices), then each device."""
        return self.gateway.commands.targets()

    @property
    def target(self) -> str | None:
        """The site or the device Control commands now (None: nothing can be commanded)."""
        targets = self.targets()
        if self._target in targets:
            return self._target
        return targets[0] if targets else None

    def set_target(self, target: str) -> None:
        self._target = target

    def controller_name(self) -> str | None:
        """The device Control commands, None for the site or when there is none."""
        target = self.target
        return None if target in (None, SITE_TARGET) else target

    def state(self) -> ControlState | None:
        """The control state of the target: a device's, or the site's as the core composes it."""
        target = self.target
        return None if target is None else self.snapshot().control_of(target)

    def interlocks_of_target(self) -> list[InterlockEntry]:
        """The target's interlocks, each naming its device, with since-when and who clears it."""
        snapshot = self.snapshot()
        target = self.target
        if target is None:
            return []
        if target == SITE_TARGET:
            return list(snapshot.interlocks)
        device = snapshot.device(target)
        return [] if device is None else list(device.interlocks)

    def target_devices(self) -> list[DeviceSnapshot]:
        snapshot = self.snapshot()
        target = self.target
        if target == SITE_TARGET:
            return list(snapshot.controllable)
        device = None if target is None else snapshot.device(target)
        return [] if device is None else [device]

    def dispatch_summary(self) -> DispatchSummary:
        return self.gateway.dispatch_summary()

    def preview(self, setpoint_kw: float) -> Preview | None:
        target = self.target
        return None if target is None else self.gateway.commands.preview_total(setpoint_kw, target)

    def set_mode(self, mode: ControlMode, done: Callable[[Any], None] | None = None) -> None:
        target = self.target
        if target is not None:
            self.run(
                "mode", self.gateway.commands.set_mode(self.current_session(), mode, target), done
            )

    def command_setpoint(self, kw: float, done: Callable[[Any], None] | None = None) -> None:
        target = self.target
        if target is not None:
            self.run(
                "setpoint",
                self.gateway.commands.command_setpoint(self.current_session(), kw, target),
                done,
            )

    def estop(self) -> None:
        self.run("estop", self.gateway.commands.estop(self.current_session(), "screen"))

    def reset_estop(self, done: Callable[[Any], None] | None = None) -> None:
        target = self.target
        if target is not None:
            self.run(
                "estop_reset",
                self.gateway.commands.reset_estop(self.current_session(), target),
                done,
            )

    def acknowledge(self, ref: str, comment: str | None) -> None:
        """Acknowledge one alarm instance (``source/code``)."""
        self.run("ack", self.gateway.acknowledge_alarm(self.current_session(), ref, comment))

    def acknowledge_all(self, comment: str | None) -> None:
        """Acknowledge every unacknowledged instance, with one comment."""
        self.run("ack", self.gateway.acknowledge_all_alarms(self.current_session(), comment))

    def shelve(self, ref: str, duration_s: float) -> None:
        self.run("shelve", self.gateway.shelve_alarm(self.current_session(), ref, duration_s))

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

    def read(self, action: str, query: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """A store read (SQLite) in a worker thread, its result to ``done`` on the loop: the
        screen's loop never waits on the disk."""
        self.run(action, asyncio.to_thread(query), done)

    def fetch_users(self, done: Callable[[Any], None]) -> None:
        """The accounts as (name, role), for the login picker and Settings."""
        self.read("users", self.gateway.auth.users, done)

    def fetch_alarm_log(self, limit: int, done: Callable[[Any], None]) -> None:
        self.read("alarm_log", lambda: self.gateway.alarms.history(limit), done)

    def fetch_audit(self, limit: int, done: Callable[[Any], None]) -> None:
        """The last ``limit`` audit records, newest first."""
        self.read("audit", lambda: list(reversed(self.gateway.audit.records()[-limit:])), done)

    def watch_fleet(self, project_id: str, subscription: str, stale_after_s: float = 30.0) -> None:
        """Read the fleet's telemetry subscription (the Fleet page pulls it while shown)."""
        self.fleet = Fleet(stale_after_s=stale_after_s)
        self._fleet_reader = FleetReader(project_id, subscription, self.fleet)

    def pull_fleet(self, done: Callable[[Any], None]) -> None:
        """One pull off the loop; ``done`` gets the message count or the error in words."""
        reader = self._fleet_reader
        if reader is None:
            return

        def pull() -> int | str:
            try:
                return reader.pull_once(timeout_s=2.0)
            except Exception as exc:  # the link or the subscription: shown on the page
                return f"{type(exc).__name__}: {exc}"

        self.read("fleet", pull, done)

    def fetch_events(self, since: float, done: Callable[[Any], None]) -> None:
        """Chart markers since ``since``: (ts, kind, text) from the audit trail and alarm log."""

        def query() -> list[tuple[float, str, str]]:
            marks: list[tuple[float, str, str]] = []
            for r in self.gateway.audit.records_since(since, EVENT_ACTIONS):
                if r.outcome in ("ok", "latched"):
                    text = str(r.detail.get("new", "")) if r.action == "mode" else ""
                    marks.append((r.ts, r.action, text))
            for row in self.gateway.alarms.history(500):
                if float(str(row[0])) >= since and row[2] == "raised":
                    marks.append((float(str(row[0])), "alarm", str(row[1])))
            return sorted(marks)

        self.read("events", query, done)

    def create_first_admin(
        self, name: str, secret: str, done: Callable[[Any], None] | None = None
    ) -> None:
        """The first account of a new site (an admin); refused once any account exists."""

        async def create() -> Session | str:
            try:
                await self.gateway.auth.add_user(name, Role.ADMIN, secret)
            except AuthError as exc:
                return exc.code
            return await self.login(name, secret)

        self.run("first_admin", create(), done)

    def add_user(
        self, name: str, role: str, secret: str, done: Callable[[Any], None] | None = None
    ) -> None:
        async def add() -> tuple[str, str] | str:
            """(name, role) when added, else the refusal's stable code."""
            try:
                await self.gateway.auth.add_user(
                    name, Role[role.upper()], secret, by=self.current_session()
                )
            except AuthError as exc:
                return exc.code
            except KeyError:
                return "bad_role"
            return (name, role)

        self.run("user_add", add(), done)

    def write_register(
        self, device: str, register: str, value: float, done: Callable[[Any], None] | None = None
    ) -> None:
        controller = self.gateway.controllers.get(device)
        if controller is not None:
            self.run(
                "register_write",
                controller.write_register(self.current_session(), register, value),
                done,
            )

    def enable_site_admin(self, site_file: Path) -> None:
        """Devices and limits become editable; changes are saved to ``site_file``."""
        self.site_admin = SiteAdmin(self.gateway, site_file)

    @property
    def site_file(self) -> Path | None:
        return None if self.site_admin is None else self.site_admin.editor.path

    def profile_ids(self) -> list[str]:
        return registry_ids()

    def device_config(self, name: str) -> dict[str, Any] | None:
        """A device's settings as the site file holds them."""
        for cfg in self.gateway.configs:
            if cfg.name == name:
                return cfg.model_dump()
        return None

    @staticmethod
    def device_from(fields: dict[str, Any]) -> DeviceConfig | str:
        """A device's settings from the form, or what is wrong with them in one line."""
        try:
            return DeviceConfig.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "device"
            return f"{where}: {first['msg']}"

    def _site_change(
        self, action: str, change: Awaitable[Any], done: Callable[[Any], None] | None
    ) -> None:
        async def guarded() -> Any:
            try:
                result = await change
            except SiteChangeError as exc:
                return f"refused: {exc}"
            return "ok" if result is None else result

        self.run(action, guarded(), done)

    def _admin(self) -> SiteAdmin:
        if self.site_admin is None:
            raise SiteChangeError("this site is not editable from the app")
        return self.site_admin

    def add_device(self, fields: dict[str, Any], done: Callable[[Any], None] | None = None) -> None:
        cfg = self.device_from(fields)
        if isinstance(cfg, str):
            if done is not None:
                done(f"refused: {cfg}")
            return
        self._site_change("device_add", self._admin_call("add_device", cfg), done)

    def update_device(
        self, name: str, fields: dict[str, Any], done: Callable[[Any], None] | None = None
    ) -> None:
        cfg = self.device_from(fields)
        if isinstance(cfg, str):
            if done is not None:
                done(f"refused: {cfg}")
            return
        self._site_change("device_update", self._admin_call("update_device", name, cfg), done)

    def remove_device(self, name: str, done: Callable[[Any], None] | None = None) -> None:
        self._site_change("device_remove", self._admin_call("remove_device", name), done)

    async def _admin_call(self, method: str, *args: Any) -> Any:
        return await getattr(self._admin(), method)(self.current_session(), *args)

    def set_limits(
        self,
        device: str | None,
        changes: dict[str, float],
        done: Callable[[Any], None] | None = None,
    ) -> None:
        self._site_change("limits", self._admin_call("set_limits", device, changes), done)

    def limits_of(self, device: str | None) -> SafetyLimits:
        if device is None:
            return self.gateway.limits
        controller = self.gateway.controllers.get(device)
        return controller.guard.limits if controller else self.gateway.device_limits[device]

    def maintenance(self, device: str) -> bool:
        controller = self.gateway.controllers.get(device)
        return bool(controller and controller.maintenance)

    def set_maintenance(
        self, device: str, on: bool, done: Callable[[Any], None] | None = None
    ) -> None:
        self._site_change("maintenance", self._admin_call("set_maintenance", device, on), done)

    def test_connection(
        self, fields: dict[str, Any], done: Callable[[Any], None] | None = None
    ) -> None:
        """One poll of the form's device (not added yet): identity, decoded and raw values."""
        cfg = self.device_from(fields)
        if isinstance(cfg, str):
            if done is not None:
                done(ConnectionTest(False, cfg))
            return
        self.run("connection_test", check_connection(cfg), done)

    def discover(
        self, host: str, port: int, unit: int | None, done: Callable[[Any], None] | None = None
    ) -> None:
        """``bessai discover`` from the device form; a SunSpec map is saved as a profile."""

        async def find() -> tuple[Discovery, str | None] | str:
            try:
                found = await discover(host, port, unit=unit)
            except DiscoveryError as exc:
                return str(exc)
            if found.sunspec is None:
                return found, None
            data = discovered_profile(found.sunspec, host, port, time.strftime("%Y-%m-%dT%H:%M:%S"))
            path = self.gateway.data_dir / "profiles" / f"{data['id']}.json"
            try:
                await asyncio.to_thread(write_profile, data, path)
            except OSError as exc:
                return f"{path}: cannot write: {exc.strerror}"
            return found, str(path)

        self.run("discover", find(), done)

    def remove_user(self, name: str, done: Callable[[Any], None] | None = None) -> None:
        self._user_change(
            "user_remove", self.gateway.auth.remove_user(name, by=self.current_session()), done
        )

    def unlock_user(self, name: str, done: Callable[[Any], None] | None = None) -> None:
        self._user_change(
            "user_unlock", self.gateway.auth.unlock(name, by=self.current_session()), done
        )

    def reset_user(self, name: str, secret: str, done: Callable[[Any], None] | None = None) -> None:
        self._user_change(
            "user_reset",
            self.gateway.auth.reset_secret(name, secret, by=self.current_session()),
            done,
        )

    def _user_change(
        self, action: str, change: Awaitable[Any], done: Callable[[Any], None] | None
    ) -> None:
        async def guarded() -> str:
            try:
                await change
            except AuthError as exc:
                return exc.code
            return "ok"

        self.run(action, guarded(), done)

    def start_commissioning(
        self,
        device: str,
        tests: list[str],
        progress: Callable[[str, str], None],
        done: Callable[[Any], None] | None = None,
        *,
        comms_wait_s: float = 120.0,
    ) -> str | None:
        """Start a commissioning run; None when started, else why not (in English)."""
        session = self.current_session()
        if session is None:
            return "log in as an engineer first"
        if self.commissioning is not None:
            return "a commissioning run is in progress"
        try:
            run = CommissioningRun(self.gateway, device, session, comms_wait_s=comms_wait_s)
        except CommissioningError as exc:
            return str(exc)
        run.progress = progress
        self.commissioning = run

        async def go() -> dict[str, Any]:
            try:
                report = await run.run(tuple(t for t in TESTS if t in tests))
            finally:
                self.commissioning = None
            return report.to_json()

        self.run("commissioning", go(), done)
        return None

    def is_simulated(self, device: str) -> bool:
        return device in self.gateway.simulators

    def drop_simulated_link(self, device: str, seconds: float) -> bool:
        """For the comms-loss test on a simulated device: it stops answering for a while."""
        sim = self.gateway.simulators.get(device)
        if sim is None:
            return False
        sim.inject(Fault.NO_ANSWER)
        sim.drop_connections()
        asyncio.get_event_loop().call_later(seconds, sim.inject, Fault.NO_ANSWER, False)
        return True

    def write_report(
        self,
        report: dict[str, Any],
        writer: Callable[[dict[str, Any], Path], None],
        done: Callable[[Any], None] | None = None,
    ) -> Path:
        """The report's JSON (off the loop) in DATA_DIR/reports; ``writer`` draws the PDF beside it."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(report["finished_at"]))
        base = self.gateway.data_dir / "reports" / f"commissioning-{report['device']}-{stamp}"

        async def both() -> str:
            try:
                await asyncio.to_thread(write_report_json, report, base.with_suffix(".json"))
                writer(report, base.with_suffix(".pdf"))
            except OSError as exc:
                return f"cannot write the report: {exc.strerror}: {exc.filename}"
            return str(base.with_suffix(".pdf"))

        self.run("report", both(), done)
        return base


def result_text(result: object, spanish: bool) -> str:
    """What a command's result says, in the screen's language."""
    if isinstance(result, CommandResult):
        return result.message_es if spanish else result.message_en
    return str(result)


__all__ = [
    "TESTS",
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
    "Permission",
    "Preview",
    "Priority",
    "Reason",
    "SafetyLimits",
    "Sample",
    "SiteSnapshot",
    "Window",
    "freeze_startup_heap",
    "result_text",
]
