"""The gateway: builds the devices of a site, polls them, and owns their lifecycle.

With no device configured it starts the BESS simulator in-process on a free
loopback port and polls it over real Modbus TCP (the embedded default).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import trace

from bessai.core.alarms.catalogue import SITE_ALARMS
from bessai.core.alarms.manager import (
    Alarm,
    AlarmCleared,
    AlarmError,
    AlarmManager,
    AlarmRaised,
    AlarmState,
)
from bessai.core.cloud.pubsub import PubSubPublisher
from bessai.core.cloud.topics import TopicCheck, check_topics
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
    COMMAND_BOOKS_WAIT_S,
    SYSTEM_USER,
    CommandRefused,
    CommandResult,
    refuse_role,
)
from bessai.core.control.latch import EstopLatchStore
from bessai.core.control.proposals import DispatchRecord
from bessai.core.dispatch import (
    Dispatcher,
    ModelDispatcher,
    PriceCurve,
    RuleDispatcher,
    load_dispatcher,
)
from bessai.core.dispatch.frequency import FrequencyResponse
from bessai.core.dispatch.summary import DispatchSummary
from bessai.core.guard.safety import Reason, SafetyGuard, SafetyLimits
from bessai.core.ids import IntrusionDetector, Score
from bessai.core.ids.summary import IntrusionSummary
from bessai.core.observe.health import alarm_json
from bessai.core.observe.http import HealthServer
from bessai.core.observe.metrics import GatewayMetrics
from bessai.core.observe.web_config import load_web_config
from bessai.core.plant.commands import SiteCommands
from bessai.core.plant.snapshot import SiteSnapshot, SiteSnapshotTaken, SnapshotBuilder
from bessai.core.polling.scheduler import DevicePoller, DeviceStatus
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import PollFailed, SampleTaken
from bessai.core.runtime.loop_lag import LoopLag
from bessai.core.runtime.periodic import cancel_and_wait
from bessai.core.site.instance import StartError
from bessai.core.site.links import SiteLink
from bessai.core.site.notify import SystemdNotifier
from bessai.core.site.plant_wiring import PlantWiring
from bessai.core.site.simulated import start_simulated
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import AuthService, Permission, Session
from bessai.core.stores.history import History
from bessai.core.stores.outbox import Outbox
from bessai.core.stores.outbox_summary import OutboxSummary
from bessai.drivers.device import Endpoint, ModbusDevice, SerialEndpoint
from bessai.drivers.profile import Profile
from bessai.drivers.profile_loader import LoadedProfile, open_profile
from bessai.drivers.simulator.server import BessSimulator
from bessai.integrity.manifest import changed_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CloudConfig:
    """Where telemetry goes: a Pub/Sub project and topic (and an optional events topic)."""

    project_id: str
    topic: str
    events_topic: str | None = None
    max_rows: int = 1_000_000
    max_bytes: int = 512 * 1024 * 1024
    retry_max_s: float = 30.0
    publish_timeout_s: float = 10.0
    drain_on_stop_s: float = 5.0


class Gateway:
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
        health_web_config: Path | None = None,
        profile_dir: Path | None = None,
    ) -> None:
        self.site_id = site_id
        self.configs = devices
        self.bus = bus or EventBus()
        self.simulator_seed = simulator_seed
        self.data_dir = data_dir or Path("data")
        self.limits = limits or SafetyLimits()
        self.heartbeat_interval_s = heartbeat_interval_s
        self.control_interval_s = control_interval_s
        self.audit = AuditTrail(self.data_dir / "audit.db", on_head=self._audit_head)
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
            device, cfg.poll_interval_s, self.bus, tracer=self.tracer
        )
        controller = Controller(
            device,
            self.bus,
            self.audit,
            self.alarms,
            guard=SafetyGuard(self.device_limits[cfg.name]),
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

    async def _site_cycle(self) -> None:
        """Once per control cycle: the site's snapshot, on the bus for every reader."""
        while True:
            try:
                self.bus.publish(SiteSnapshotTaken(self.build_snapshot()))
            except Exception as exc:
                log.error("site snapshot failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await asyncio.sleep(self.control_interval_s)

    def _load_profile(self, cfg: DeviceConfig) -> Profile:
        """A device's profile: a shipped one as shipped, a site's own from its profile directory."""
        loaded = open_profile(cfg.profile, trusted_dir=self.profile_dir)
        if not loaded.shipped:
            self.own_profiles[cfg.name] = loaded
        return loaded.profile

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

    def _start_cloud(self, cloud: CloudConfig) -> None:
        self.outbox = Outbox(
            self.data_dir / "outbox.db",
            self.site_id,
            topic=cloud.topic,
            events_topic=cloud.events_topic,
            max_rows=cloud.max_rows,
            max_bytes=cloud.max_bytes,
            on_drop=self._outbox_dropped,
        )
        self._store_replaced("outbox", self.outbox.open_problem)
        self.outbox.attach(self.bus)
        if cloud.events_topic:
            self.bus.subscribe(AlarmRaised, lambda e: self._event_to_cloud("alarm", e.alarm))
            self.bus.subscribe(AlarmCleared, lambda e: self._event_to_cloud("alarm", e.alarm))
        self.outbox.start(self._store_failure)
        self.publisher = PubSubPublisher(
            self.outbox,
            cloud.project_id,
            backoff_max_s=cloud.retry_max_s,
            publish_timeout_s=cloud.publish_timeout_s,
            on_published=lambda topic, n: self.metrics.published.labels(self.site_id, topic).inc(n),
            on_failed=lambda topic, n: self.metrics.publish_failed.labels(self.site_id, topic).inc(
                n
            ),
        )
        self.publisher.start()
        self._housekeeping = asyncio.create_task(self._outbox_housekeeping(), name="outbox-alarm")
        self._topic_check = asyncio.create_task(self._check_topics(cloud), name="topic-check")
        log.info(
            "cloud outbox on",
            extra={"project": cloud.project_id, "topic": cloud.topic, "depth": self.outbox.depth},
        )

    async def _check_topics(self, cloud: CloudConfig) -> None:
        """At start, and every ``topic_recheck_s`` while something is wrong: each topic exists
        and this identity may publish to it. Each problem is one log line and a /health
        problem, until it is fixed (then it is logged as fixed)."""
        topics = [cloud.topic, *([cloud.events_topic] if cloud.events_topic else [])]
        found: dict[str, str] = {}  # topic -> its problem, as last decided
        while True:
            try:
                checks = await asyncio.to_thread(check_topics, cloud.project_id, topics)
            except Exception as exc:  # no credentials at all, a broken client ...
                checks = [TopicCheck(cloud.topic, f"Pub/Sub cannot be used: {exc}", True)]
            had = bool(found)
            for check in checks:
                if not check.decided:
                    continue  # unreachable now: the publisher's backoff handles the link
                if check.problem is None:
                    found.pop(check.topic, None)
                elif found.get(check.topic) != check.problem:
                    found[check.topic] = check.problem
                    log.error("cloud topic check failed", extra={"problem": check.problem})
            self.cloud_problems = list(found.values())
            if had and not found:
                log.info("cloud topic check passed", extra={"topics": topics})
            if not found and all(c.decided for c in checks):
                return
            await asyncio.sleep(self.topic_recheck_s)

    def _outbox_dropped(self, count: int) -> None:
        self.alarms.update("outbox_full", True, f"{count} oldest raw samples dropped")

    def _event_to_cloud(self, kind: str, alarm: Alarm) -> None:
        assert self.outbox is not None
        self.outbox.add_event(
            kind,
            alarm.id,
            {
                "id": f"{self.site_id}:alarm:{alarm.ref}:{alarm.state.value}:{alarm.raised_at}:{alarm.cleared_at}",
                "alarm": alarm.id,
                "device": alarm.device,
                "state": alarm.state.value,
                "priority": int(alarm.definition.priority),
                "class": alarm.definition.alarm_class.value,
                "text_en": alarm.definition.text_en,
                "detail": alarm.detail,
                "raised_at": alarm.raised_at,
                "cleared_at": alarm.cleared_at,
            },
        )

    def status_message(self, now: float) -> dict[str, Any]:
        """The site at a glance for the fleet view, from the site's snapshot: each device's
        link, mode and interlocks, the active alarm instances (each naming its device), the
        worst condition and this outbox's backlog."""
        snapshot = self.current_snapshot()
        devices: dict[str, Any] = {
            d.name: {
                "up": d.up,
                "mode": None if d.mode is None else d.mode.value,
                "interlocks": len(d.interlocks),
                "temp_c": d.temp_c,
                "soc_pct": d.soc_pct,
            }
            for d in snapshot.devices
        }
        active = snapshot.active_alarms
        outbox = self.outbox_summary()
        worst = snapshot.worst
        return {
            "id": f"{self.site_id}:status:{round(now * 1000)}",
            "ts": now,
            "devices": devices,
            "alarms": {
                "active": len(active),
                "highest_priority": min((int(a.definition.priority) for a in active), default=None),
                "instances": [alarm_json(a) for a in active],
            },
            "worst": None
            if worst is None
            else {"code": worst.code, "device": worst.device, "message": worst.message_en},
            "outbox": {
                "depth": 0 if outbox is None else outbox.depth,
                "oldest_age_s": None if outbox is None else outbox.oldest_age_s,
            },
        }

    async def _outbox_housekeeping(self) -> None:
        last_status = -math.inf
        while True:
            await asyncio.sleep(1.0)
            now = time.time()
            if self.outbox is not None and now - last_status >= self.status_every_s:
                last_status = now
                self.outbox.add_status(self.status_message(now))
            full = self.outbox is not None and self.cloud is not None
            if full and self.outbox.depth < 0.9 * self.cloud.max_rows:  # type: ignore[union-attr]
                self.alarms.update("outbox_full", False)

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

    def _check_audit_anchor(self) -> None:
        """The anchor says the chain went further than the file does: deleted or rolled back."""
        anchor = self.audit.anchor_at_start
        if anchor is None:
            return
        try:
            seq, _ = self.audit.head()
        except sqlite3.OperationalError as exc:
            log.error("audit chain not checked against its anchor", extra={"error": str(exc)})
            return
        if seq >= anchor[0]:
            return
        detail = (
            f"audit.db ends at row {seq} but its anchor says {anchor[0]} "
            f"(hash {anchor[1][:16]}…): the chain was deleted, truncated or rolled back"
        )
        log.error("audit chain shorter than its anchor", extra={"detail": detail})
        self.alarms.update("audit_chain_short", True, detail)
        self.books.record(
            SYSTEM_USER,
            "audit_chain_short",
            "detected",
            chain_seq=seq,
            anchor_seq=anchor[0],
            anchor_hash=anchor[1],
        )

    def _audit_head(self, seq: int, digest: str) -> None:
        """From the audit's writer thread: the new head, to the events topic (at most once a minute)."""
        loop = self._loop
        if loop is None or self.outbox is None or self.outbox.events_topic is None:
            return
        now = time.monotonic()
        if now - self._head_published_at < 60.0:
            return
        self._head_published_at = now
        body = {"id": f"{self.site_id}:audit_head:{seq}", "seq": seq, "hash": digest}
        loop.call_soon_threadsafe(self.outbox.add_event, "audit_head", "audit", body)

    def _store_replaced(self, what: str, problem: str | None) -> None:
        """A corrupt store was moved aside and started afresh: said until the next start."""
        if problem is None:
            return
        self.stores_replaced[what] = problem
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(self.stores_replaced.items()))
        self.alarms.update("store_replaced", True, detail)

    def _store_failure(self, store: str, error: str | None) -> None:
        """A store started (error) or stopped (None) failing: an alarm and a /health problem."""
        if error is None:
            self.store_failures.pop(store, None)
        else:
            self.store_failures[store] = error
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(self.store_failures.items()))
        self.alarms.update("store_failed", bool(self.store_failures), detail)

    async def acknowledge_alarm(
        self, session: Session | None, alarm_id: str, comment: str | None = None
    ) -> CommandResult:
        """Acknowledge an alarm (operator): alarms belong to the site, not to a battery."""
        return await self._alarm_command(
            session,
            Permission.CONTROL,
            "acknowledge alarms",
            "alarm_ack",
            lambda user: self.alarms.acknowledge(alarm_id, user, comment),
            alarm=alarm_id,
            comment=comment,
        )

    async def acknowledge_all_alarms(
        self, session: Session | None, comment: str | None = None
    ) -> CommandResult:
        """Acknowledge every unacknowledged instance at once, with one comment (operator)."""
        waiting = [
            a.ref
            for a in self.alarms.active(include_shelved=True)
            if a.state in (AlarmState.ACTIVE_UNACK, AlarmState.CLEARED_UNACK)
        ]

        def change(user: str) -> None:
            for ref in waiting:
                self.alarms.acknowledge(ref, user, comment)

        return await self._alarm_command(
            session,
            Permission.CONTROL,
            "acknowledge alarms",
            "alarm_ack_all",
            change,
            alarms=waiting,
            comment=comment,
        )

    async def shelve_alarm(
        self, session: Session | None, alarm_id: str, duration_s: float, comment: str | None = None
    ) -> CommandResult:
        """Shelve an alarm for a bounded time (engineer)."""
        return await self._alarm_command(
            session,
            Permission.ENGINEER,
            "shelve alarms",
            "alarm_shelve",
            lambda user: self.alarms.shelve(alarm_id, user, duration_s, comment),
            alarm=alarm_id,
            duration_s=duration_s,
        )

    async def _alarm_command(
        self,
        session: Session | None,
        need: Permission,
        what: str,
        action: str,
        change: Callable[[str], object],
        **detail: Any,
    ) -> CommandResult:
        """Check the role, change the alarm, audit the outcome (a refusal is also an event)."""
        user = session.user if session else "anonymous"
        refused = refuse_role(session, need, what)
        if refused is None:
            try:
                change(user)
            except AlarmError as exc:
                refused = CommandResult.of(False, Reason.REFUSED, detail=str(exc))
        outcome = "ok" if refused is None else "refused"
        if refused is not None:
            detail["reason"] = refused.reason.value
            self.bus.publish(CommandRefused("site", action, refused.reason.value))
        self.books.record(user, action, outcome, **detail)
        self.books.flush_alarms()
        await self.books.settled(COMMAND_BOOKS_WAIT_S)
        return refused or CommandResult.of(True, Reason.DONE)

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

    def outbox_summary(self) -> OutboxSummary | None:
        """The cloud outbox's depth and oldest age; None while there is no outbox."""
        if self.outbox is None:
            return None
        age = self.outbox.oldest_age_s()
        state = self.publisher.state if self.publisher else None
        return OutboxSummary(
            depth=self.outbox.depth,
            oldest_age_s=None if age is None else round(age, 3),
            dropped=self.outbox.stats.dropped,
            link_up=bool(state and state.up),
            published=state.published if state else 0,
            last_error=state.last_error if state else None,
        )

    def statuses(self) -> list[DeviceStatus]:
        return [p.status for p in self.pollers.values()]
