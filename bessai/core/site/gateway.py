"""The gateway: builds the devices of a site, polls them, and owns their lifecycle.

With no device configured it starts the BESS simulator in-process on a free
loopback port and polls it over real Modbus TCP (the embedded default).

Over 500 lines on purpose: the assembly of every part and their start and stop order; its cloud side and books are in ``gateway_cloud.py`` and ``gateway_books.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace

from bessai.core.alarms.catalogue import SITE_ALARMS
from bessai.core.alarms.manager import (
    AlarmManager,
)
from bessai.core.cloud.pubsub import PubSubPublisher
from bessai.core.config.endpoint import device_endpoint
from bessai.core.config.plant import (
    PlantError,
    PlantTopology,
    SiteSettings,
    check_plant_profiles,
    plant_topology,
)
from bessai.core.config.settings import ConfigError, DeviceConfig, DispatchSettings, device_limits
from bessai.core.control.books import Books
from bessai.core.control.controller import Controller
from bessai.core.control.events import (
    SYSTEM_USER,
)
from bessai.core.control.latch import EstopLatchStore
from bessai.core.control.proposals import DispatchRecord
from bessai.core.control.verification import VerificationBook
from bessai.core.dispatch import (
    Dispatcher,
    ModelDispatcher,
    PriceCurve,
    RuleDispatcher,
    load_dispatcher,
)
from bessai.core.dispatch.frequency import FrequencyResponse
from bessai.core.dispatch.summary import DispatchSummary
from bessai.core.guard.safety import SafetyGuard, SafetyLimits
from bessai.core.ids import IntrusionDetector, Score
from bessai.core.ids.summary import IntrusionSummary
from bessai.core.observe.http import HealthServer
from bessai.core.observe.metrics import GatewayMetrics
from bessai.core.observe.web_config import load_web_config
from bessai.core.plant.commands import SiteCommands
from bessai.core.plant.snapshot import SiteSnapshot, SiteSnapshotTaken, SnapshotBuilder
from bessai.core.polling.scheduler import DevicePoller, DeviceStatus
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.clock_watch import ClockWatch
from bessai.core.runtime.events import PollFailed, SampleTaken
from bessai.core.runtime.loop_lag import LoopLag
from bessai.core.runtime.periodic import cancel_and_wait
from bessai.core.site.gateway_books import GatewayBooks
from bessai.core.site.gateway_cloud import CloudConfig, GatewayCloud
from bessai.core.site.instance import StartError
from bessai.core.site.links import SiteLink
from bessai.core.site.notify import SystemdNotifier
from bessai.core.site.plant_wiring import PlantWiring
from bessai.core.site.simulated import start_simulated
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import AuthService
from bessai.core.stores.history import History
from bessai.core.stores.outbox import Outbox
from bessai.drivers.device import Endpoint, ModbusDevice, SerialEndpoint
from bessai.drivers.profile import Profile
from bessai.drivers.profile_loader import LoadedProfile, open_profile
from bessai.drivers.simulator.server import BessSimulator
from bessai.integrity.manifest import changed_files

log = logging.getLogger(__name__)


class Gateway(GatewayCloud, GatewayBooks):
    """Polls every configured device and publishes what it reads on the bus."""

    def __init__(
        self,
        site_id: str,
        devices: list[DeviceConfig],
        *,
        bus: EventBus | None = None,
        simulator_seed: int = 0,
        data_dir: Path | None = None,
        limits: SafetyLimits | None = None,
        heartbeat_interval_s: float = 2.0,
        control_interval_s: float = 0.5,
        auth: AuthService | None = None,
        health_port: int | None = None,
        health_bind: str = "127.0.0.1",
        tracer: trace.Tracer | None = None,
        cloud: CloudConfig | None = None,
        history_raw_retention_s: float = 7 * 86400.0,
        history_max_bytes: int = 1024 * 1024 * 1024,
        ids_baseline_s: float = 600.0,
        ids_enabled: bool = True,
        dispatch: DispatchSettings | None = None,
        plant: PlantTopology | None = None,
        wall_clock: Callable[[], float] = time.time,
        health_web_config: Path | None = None,
        profile_dir: Path | None = None,
    ) -> None:
        self.site_id = site_id
        self.wall_clock = wall_clock  # stamps records; every duration runs on time.monotonic
        self.clock_watch = ClockWatch(wall_clock)
        self.configs = devices
        self.bus = bus or EventBus()
        self.simulator_seed = simulator_seed
        self.data_dir = data_dir or Path("data")
        self.limits = limits or SafetyLimits()
        self.heartbeat_interval_s = heartbeat_interval_s
        self.control_interval_s = control_interval_s
        self.audit = AuditTrail(
            self.data_dir / "audit.db", clock=wall_clock, on_head=self._audit_head
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._head_published_at = -math.inf
        self.auth = auth or AuthService(self.data_dir / "users.db", audit=self.audit.append)
        self.alarms = AlarmManager(self.bus, self.data_dir / "alarms.db")
        for definition in SITE_ALARMS:
            self.alarms.define(definition)
        # SR 3.2: the shipped model, profiles and translations are the bytes the package shipped.
        changed = changed_files()
        self.security_problems = [f"shipped file {line}" for line in changed]
        self.alarms.update("shipped_file_changed", bool(changed), "; ".join(changed))
        self.store_failures: dict[str, str] = {}
        self.books = Books(self.audit, self.alarms, on_failure=self._store_failure)
        self._check_audit_anchor()
        self.latches = EstopLatchStore(self.data_dir / "estop.json")
        self.notifier = SystemdNotifier()
        self.controllers: dict[str, Controller] = {}
        self.snapshots = SnapshotBuilder(site_id, self.alarms)
        self.commands = SiteCommands(self.controllers, self.books)
        self._unwire: list[Callable[[], None]] = []
        self.snapshot: SiteSnapshot | None = None
        self.tracer = tracer or trace.get_tracer("bessai")
        self.metrics = GatewayMetrics(site_id)
        self.health_port = health_port
        self.health_bind = health_bind
        self.web_config = None if health_web_config is None else load_web_config(health_web_config)
        self.http: HealthServer | None = None
        self.history = History(
            self.data_dir / "history.db",
            raw_retention_s=history_raw_retention_s,
            max_bytes=history_max_bytes,
            clock=wall_clock,
        )
        self.cloud = cloud
        self.outbox: Outbox | None = None
        self.publisher: PubSubPublisher | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._topic_check: asyncio.Task[None] | None = None
        self.cloud_problems: list[str] = []  # a missing topic or permission, for /health
        self.topic_recheck_s = 300.0
        self.status_every_s = 10.0  # the site's status message, for the fleet view
        self.loop_lag = LoopLag()  # the loop's own stalls, left out of the devices' latency
        self.ids = IntrusionDetector(
            self.bus,
            self.data_dir,
            baseline_s=ids_baseline_s,
            capacity_kwh=self.limits.capacity_kwh,
            on_score=self._intrusion_scored,
            enabled=ids_enabled,
            loop_lag=self.loop_lag,
        )
        self.history.score_of = self.ids.score
        self.dispatch_settings = dispatch or DispatchSettings()
        self.dispatch_record = DispatchRecord(self.data_dir / "dispatch.db")
        self.model_dispatcher: ModelDispatcher | None = None
        self.simulators: dict[str, BessSimulator] = {}
        self.devices: dict[str, ModbusDevice] = {}
        self.pollers: dict[str, DevicePoller] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._device_tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._dispatch: tuple[Dispatcher, ModelDispatcher | None] = (RuleDispatcher(), None)
        self._prices = PriceCurve(
            tuple(self.dispatch_settings.marginal_cost_usd_mwh), self.dispatch_settings.timezone
        )
        self.started_at: float | None = None
        # Started last, stopped first (the grid operator's link: site/scada_link.py).
        self.links: list[SiteLink] = []
        # Profiles are checked before anything starts, so a bad one stops the start cleanly.
        self.profile_dir = profile_dir
        self.own_profiles: dict[str, LoadedProfile] = {}  # a site's own, audited at start
        # What this site's commissioning runs measured, merged into each device's profile.
        self.verification = VerificationBook(self.data_dir / "verification.json")
        self.profiles: dict[str, Profile] = {d.name: self._load_profile(d) for d in devices}
        self.device_limits = device_limits(self.limits, devices, self.profiles)
        try:
            self.plant = plant or plant_topology(devices, SiteSettings())
            check_plant_profiles(self.plant, self.profiles)
        except PlantError as exc:
            raise ConfigError(str(exc)) from None
        self.wiring = PlantWiring(
            self.plant,
            self.controllers,
            self.pollers,
            self.profiles,
            self.device_limits,
            self.alarms,
            interval_s=control_interval_s,
        )
        self.commands.site = self.wiring.site
        self.stores_replaced: dict[str, str] = {}
        for what, store in (
            ("alarms", self.alarms),
            ("history", self.history),
            ("dispatch record", self.dispatch_record),
        ):
            self._store_replaced(what, store.open_problem)

    def _dispatchers(self) -> tuple[Dispatcher, ModelDispatcher | None]:
        """The Auto dispatcher and the shadow one, as the dispatch mode says; alarms a bad model."""
        settings = self.dispatch_settings
        rules = RuleDispatcher(peak_import_kw=settings.peak_import_kw)
        if settings.mode == "rules":
            return rules, None
        if settings.mode == "frequency":
            f = settings.frequency
            droop = FrequencyResponse(
                nominal_hz=f.nominal_hz,
                deadband_hz=f.deadband_hz,
                droop_pct=f.droop_pct,
                max_response_kw=f.max_response_kw,
                ramp_kw_per_s=f.ramp_kw_per_s,
                max_age_s=f.max_age_s,
            )
            log.info(
                "frequency response in Auto: droop %g %%, dead band ±%g Hz around %g Hz",
                f.droop_pct,
                f.deadband_hz,
                f.nominal_hz,
            )
            return droop, None
        self.model_dispatcher, error = load_dispatcher(settings.model_path, rules)
        if error is not None:
            log.error("dispatch model not usable, rules in use: %s", error)
        else:
            log.info(
                "dispatch model %s loaded (%s mode)", self.model_dispatcher.version, settings.mode
            )
        self.alarms.update("dispatch_model_unavailable", error is not None, error or "")
        if settings.mode == "shadow":
            return rules, self.model_dispatcher
        return self.model_dispatcher, None

    def _droop_for(
        self, droop: FrequencyResponse, profile: Profile, controller: Controller
    ) -> FrequencyResponse:
        """A device's own droop (its ramp state is its own), as a percentage of its rating:
        the site file's, else the profile's, else the setpoint register's maximum, else the
        discharge limit."""
        rating = self.dispatch_settings.frequency.rated_kw
        if rating is None and profile.control is not None:
            rating = profile.control.rated_power_kw
        if rating is None and math.isfinite(controller.guard.device_max_kw):
            rating = controller.guard.device_max_kw
        return dataclasses.replace(droop, rated_kw=rating, _last=None)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.loop_lag.start()
        self.notifier.start_watchdog()
        unsubscribe: list[Callable[[], None]] = []

        def first_poll(_: object) -> None:
            # Ready once every device has been polled once (answered or not).
            polled = sum(
                1 for p in self.pollers.values() if p.status.polls_ok or p.status.polls_failed
            )
            if polled >= len(self.pollers):
                self.notifier.ready(f"polling {len(self.pollers)} devices")
                for undo in unsubscribe:
                    undo()
                unsubscribe.clear()

        unsubscribe += [
            self.bus.subscribe(SampleTaken, first_poll),
            self.bus.subscribe(PollFailed, first_poll),
        ]
        dispatcher, shadow = self._dispatchers()
        settings = self.dispatch_settings
        self._dispatch = (dispatcher, shadow)
        self._prices = PriceCurve(tuple(settings.marginal_cost_usd_mwh), settings.timezone)
        for cfg in self.configs:
            await self._open_device(cfg)
        # Restored alarms of a device no longer on the site go with it (alarms/manager.py).
        self.alarms.keep_restored_of(c.name for c in self.configs)
        self.started_at = time.time()
        self.history.attach(self.bus)
        self.history.start(self._store_failure)
        self.dispatch_record.attach(self.bus)
        self.dispatch_record.start(self._store_failure)
        if self.cloud is not None:
            self._start_cloud(self.cloud)
        else:
            log.info("cloud outbox off: GCP_PROJECT_ID and GCP_PUBSUB_TOPIC are not both set")
        self.metrics.attach(self, intrusion=self.ids.score)
        if self.health_port is not None:
            http = HealthServer(
                self, self.metrics, self.health_bind, self.health_port, web_config=self.web_config
            )
            try:
                await http.start()
            except OSError as exc:
                await http.stop()
                await self.stop()
                raise StartError(
                    f"HEALTH_PORT {self.health_port} on HEALTH_BIND {self.health_bind}: "
                    f"{exc.strerror or exc} (another bessai, or an address not of this machine?)"
                ) from None
            self.http = http
            self.security_problems += [p for p in http.problems if p not in self.security_problems]
        for name, own in self.own_profiles.items():
            self._audit_profile(name, own)
        for name in self.pollers:
            self._run_device(name)
        self._tasks.append(asyncio.create_task(self._site_cycle(), name="site-snapshot"))
        self._tasks.append(asyncio.create_task(self.wiring.site.run(), name="site-split"))
        self._unwire = self.wiring.attach(self.bus)
        for link in self.links:
            try:
                await link.start()
            except StartError:
                await self.stop()
                raise
        log.info(
            "gateway started",
            extra={"site": self.site_id, "devices": [str(d) for d in self.devices.values()]},
        )

    async def _open_device(self, cfg: DeviceConfig) -> None:
        """A device's link, poller and controller (started later, by ``start``'s loop or
        ``add_device``)."""
        dispatcher, shadow = self._dispatch
        profile = self.profiles[cfg.name]
        endpoint: Endpoint
        if cfg.simulated:
            sim, endpoint = await start_simulated(
                cfg,
                profile,
                seed=self.simulator_seed,
                local_hour=self._prices.local_hour(time.time()),
            )
            self.simulators[cfg.name] = sim
        elif cfg.serial_port is not None:
            endpoint = SerialEndpoint(
                cfg.serial_port, baudrate=cfg.baudrate, parity=cfg.parity, stopbits=cfg.stopbits
            )
        else:
            assert cfg.host is not None
            endpoint = device_endpoint(cfg, profile)  # TLS too
        device = ModbusDevice(
            cfg.name, profile, endpoint, unit_id=cfg.unit_id, timeout_s=cfg.timeout_s
        )
        self.devices[cfg.name] = device
        self.ids.attach(device)
        self.pollers[cfg.name] = DevicePoller(
            device, cfg.poll_interval_s, self.bus, tracer=self.tracer, wall_clock=self.wall_clock
        )
        controller = Controller(
            device,
            self.bus,
            self.audit,
            self.alarms,
            guard=SafetyGuard(self.device_limits[cfg.name]),
            clock=self.wall_clock,
            control_interval_s=self.control_interval_s,
            heartbeat_interval_s=self.heartbeat_interval_s,
            tracer=self.tracer,
            intrusion_score=functools.partial(self.ids.score, cfg.name),
            dispatcher=dispatcher,
            shadow_dispatcher=shadow,
            prices=self._prices,
            books=self.books,
            latch_store=self.latches,
        )
        if isinstance(dispatcher, FrequencyResponse):
            controller.dispatcher = self._droop_for(dispatcher, profile, controller)
        if controller.can_control or controller.watchdog_reg is not None:
            self.controllers[cfg.name] = controller
            self.wiring.protect(controller)
        else:
            controller.close()

    def _replan(self) -> None:
        """A device added or removed: the plant is described anew (its [site] kept)."""
        p = self.plant
        site = SiteSettings(
            poi_meter=p.poi_meter if any(c.name == p.poi_meter for c in self.configs) else None,
            export_limit_kw=p.export_limit_kw,
            import_limit_kw=p.import_limit_kw,
            ramp_kw_per_s=p.ramp_kw_per_s,
        )
        self.plant = plant_topology(self.configs, site)
        self.wiring.plant = self.wiring.site.topology = self.plant

    def build_snapshot(self, now: float | None = None) -> SiteSnapshot:
        """Compose the site's snapshot now (the cycle publishes one; readers take the latest)."""
        now = time.time() if now is None else now
        snapshot = self.snapshots.build(
            now,
            {name: poller.status for name, poller in self.pollers.items()},
            self.controllers,
            self.device_limits,
            {c.name: c.role for c in self.configs},
            {name: lim.capacity_kwh for name, lim in self.device_limits.items()},
            self.intrusion_summary(),
            self.devices,
            plant=self.plant,
            site_split=self.wiring.site.last if self.wiring.site.active else None,
            battery_limits=self.wiring.battery_limits(),
        )
        step = self.clock_watch.recent()
        if step is not None:
            snapshot = dataclasses.replace(snapshot, clock_step_s=step.step_s)
        self.snapshot = snapshot
        return snapshot

    def link_summaries(self) -> dict[str, Any]:
        """Each outside link's state for /health (the grid operator's link as ``scada``)."""
        found: dict[str, Any] = {}
        for link in self.links:
            summary = getattr(link, "summary", None)
            if callable(summary):
                found[getattr(link, "name", "scada")] = summary()
        return found

    def current_snapshot(self) -> SiteSnapshot:
        """The site now, for a reader that asks (/health, the status message): composed afresh,
        so that it never lags what the metrics and the bus have already said."""
        return self.build_snapshot()

    def _look_at_the_clock(self) -> None:
        """A step of the wall clock is said once: a log line, an alarm, an audit row."""
        step = self.clock_watch.look()
        if step is None:
            if self.clock_watch.recent(60.0) is None:
                self.alarms.update("clock_stepped", False)
            return
        old = datetime.fromtimestamp(step.old_wall, UTC).isoformat(timespec="seconds")
        new = datetime.fromtimestamp(step.new_wall, UTC).isoformat(timespec="seconds")
        detail = f"wall clock stepped {step.step_s:+.0f} s: {old} -> {new}"
        log.warning(
            "wall clock stepped", extra={"step_s": round(step.step_s, 3), "old": old, "new": new}
        )
        self.alarms.update("clock_stepped", True, detail)
        self.books.record(
            SYSTEM_USER, "clock_stepped", "detected", step_s=round(step.step_s, 3), old=old, new=new
        )

    async def _site_cycle(self) -> None:
        """Once per control cycle: the wall clock looked at, the site's snapshot on the bus."""
        while True:
            try:
                self._look_at_the_clock()
                self.bus.publish(SiteSnapshotTaken(self.build_snapshot()))
            except Exception as exc:
                log.error("site snapshot failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await asyncio.sleep(self.control_interval_s)

    def _load_profile(self, cfg: DeviceConfig) -> Profile:
        """A device's profile: a shipped one as shipped, a site's own from its profile directory."""
        loaded = open_profile(cfg.profile, trusted_dir=self.profile_dir)
        if not loaded.shipped:
            self.own_profiles[cfg.name] = loaded
        return self.verification.view(cfg.name, loaded)

    def _audit_profile(self, device: str, own: LoadedProfile) -> None:
        self.books.record(
            SYSTEM_USER, "profile_loaded", "ok", device=device, path=own.source, sha256=own.sha256
        )

    def _run_device(self, name: str) -> None:
        tasks = [asyncio.create_task(self.pollers[name].run(), name=f"poll:{name}")]
        if name in self.controllers:
            tasks.append(asyncio.create_task(self.controllers[name].run(), name=f"control:{name}"))
        self._device_tasks[name] = tasks
        self._tasks += tasks

    async def add_device(self, cfg: DeviceConfig) -> None:
        """Start polling (and, if its profile can be commanded, controlling) one more device,
        in Standby, without a restart. Raises ConfigError or ProfileError naming the fault."""
        if cfg.name in self.devices:
            raise ConfigError(f"device name {cfg.name!r} is used already")
        profile = self._load_profile(cfg)
        limits = device_limits(self.limits, [cfg], {cfg.name: profile})[cfg.name]
        if cfg.name in self.own_profiles:
            self._audit_profile(cfg.name, self.own_profiles[cfg.name])
        self.profiles[cfg.name] = profile
        self.device_limits[cfg.name] = limits
        self.configs = [*self.configs, cfg]
        self._replan()
        await self._open_device(cfg)
        if self.started_at is not None:
            self.metrics.attach_device(self, cfg.name)
        self._run_device(cfg.name)
        self.build_snapshot()
        log.info("device added", extra={"device": str(self.devices[cfg.name])})

    async def remove_device(self, name: str) -> None:
        """Stop a device: zero power and Standby first, then its poller and link."""
        if name not in self.devices:
            raise ConfigError(f"no device named {name!r}")
        controller = self.controllers.pop(name, None)
        poller = self.pollers.pop(name)
        poller.stopping = True
        if controller is not None:
            controller.stopping = True
        tasks = self._device_tasks.pop(name, [])
        await cancel_and_wait(tasks)
        self._tasks = [t for t in self._tasks if t not in tasks]
        if controller is not None:
            try:
                await asyncio.wait_for(controller.shutdown(), 5.0)
            finally:
                controller.close()
        await self.devices.pop(name).close()
        sim = self.simulators.pop(name, None)
        if sim is not None:
            await sim.stop()
        self.configs = [c for c in self.configs if c.name != name]
        self._replan()
        self.profiles.pop(name, None)
        self.device_limits.pop(name, None)
        self.alarms.forget_source(name)
        self.metrics.detach_device(name)
        self.build_snapshot()
        log.info("device removed", extra={"device": name})

    async def stop(self) -> None:
        self.notifier.stopping()
        for undo in self._unwire:
            undo()
        self._unwire.clear()
        for link in reversed(self.links):
            await link.stop()
        if self.http is not None:
            await self.http.stop()
            self.http = None
        for poller in self.pollers.values():
            poller.stopping = True
        for controller in self.controllers.values():
            controller.stopping = True
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        await self.ids.close()
        self.loop_lag.stop()
        for controller in self.controllers.values():
            try:
                await asyncio.wait_for(controller.shutdown(), 5.0)
            except Exception as exc:
                log.error(
                    "could not leave the battery at zero power",
                    extra={
                        "device": controller.device.name,
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
            controller.close()
        await self.books.stop()
        for device in self.devices.values():
            await device.close()
        if self._housekeeping is not None:
            await cancel_and_wait([self._housekeeping])
        if self._topic_check is not None:
            await cancel_and_wait([self._topic_check])
        # The battery is safe by now; a store that fails from here on is logged, not raised.
        if self.publisher is not None and self.outbox is not None:
            try:
                drained = await self.publisher.drain(
                    self.cloud.drain_on_stop_s if self.cloud else 0
                )
            except Exception as exc:
                drained = False
                log.error("outbox not flushed", extra={"error": f"{type(exc).__name__}: {exc}"})
            if not drained:
                log.info("outbox kept for the next start", extra={"depth": self.outbox.depth})
        steps: list[tuple[str, Callable[[], Awaitable[None] | None]]] = []
        if self.publisher is not None:
            steps.append(("publisher", self.publisher.stop))
        if self.outbox is not None:
            steps.append(("outbox", self.outbox.stop))
        steps += [("history", self.history.stop), ("dispatch record", self.dispatch_record.stop)]
        steps += [(f"simulator {n}", sim.stop) for n, sim in self.simulators.items()]
        steps += [
            ("alarms", self.alarms.close),
            ("audit", self.audit.close),
            ("users", self.auth.close),
        ]
        for what, step in steps:
            try:
                pending = step()
                if pending is not None:
                    await pending
            except Exception as exc:
                log.error(
                    "could not close cleanly",
                    extra={"part": what, "error": f"{type(exc).__name__}: {exc}"},
                )
        await self.notifier.stop()
        log.info("gateway stopped", extra={"site": self.site_id})

    def controller(self, name: str | None = None) -> Controller:
        """The named controller, or the only/first one."""
        if name is not None:
            return self.controllers[name]
        return next(iter(self.controllers.values()))

    def seconds_to_next_poll(self) -> float | None:
        """How long until the next device poll is due (0 while one runs), None if none runs.

        The GUI paces its frames by this, so that a redraw does not hold the
        shared loop just as a poll falls due.
        """
        due = [p.next_at for p in self.pollers.values() if p.next_at is not None]
        if not due:
            return None
        if any(p.polling for p in self.pollers.values()):
            return 0.0
        return max(0.0, min(due) - asyncio.get_running_loop().time())

    def intrusion_summary(self) -> IntrusionSummary:
        """Intrusion score per device: 'learning' while the baseline is collected, then scored."""
        return self.ids.summary(self.limits.intrusion_lockout_score)

    def _intrusion_scored(self, device: str, score: Score) -> None:
        self.alarms.update(
            "intrusion_alert",
            score.value >= self.ids.alarm_threshold,
            f"{device}: {score.driver}",
            source=device,
        )

    def dispatch_summary(self) -> DispatchSummary:
        """For /health and the screens: the dispatch mode and the model in use, or why none is."""
        model = self.model_dispatcher
        return DispatchSummary(
            self.dispatch_settings.mode,
            None if model is None else model.version,
            None if model is None else model.load_error,
        )

    def statuses(self) -> list[DeviceStatus]:
        return [p.status for p in self.pollers.values()]
