"""Prometheus metrics of the gateway, fed from the bus and the devices' traffic records.

Names follow Prometheus conventions: base units (watts, seconds, ratio),
``_total`` counters, ``_seconds`` histograms, labels ``site`` and ``device``.
Each gateway has its own registry, so tests and several gateways in one
process do not share state.
"""

from __future__ import annotations

import contextlib
import math
import platform
import time
from collections.abc import Callable
from functools import partial
from importlib.metadata import version
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import generate_latest

from bessai import __version__
from bessai.core.alarms.manager import AlarmClass, AlarmCleared, AlarmRaised, Priority
from bessai.core.control.events import (
    CommandRefused,
    ControlMode,
    ControlStateChanged,
    DispatchProposed,
    SetpointApplied,
)
from bessai.core.guard.safety import Reason
from bessai.core.plant.snapshot import SiteSnapshotTaken
from bessai.core.polling.scheduler import DeviceStatus
from bessai.core.runtime.events import DeviceConnected, DeviceDisconnected, SampleTaken
from bessai.core.stores.outbox import Outbox
from bessai.drivers.traffic import TrafficRecord

if TYPE_CHECKING:
    from bessai.core.observe.site_view import SiteView

POLL_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
INFERENCE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)
INTERLOCK_REASONS = [r for r in Reason if r.value.startswith("interlock_")]


class GatewayMetrics:
    """The gateway's metric families and the bus subscriptions that keep them current."""

    def __init__(self, site_id: str, registry: CollectorRegistry | None = None) -> None:
        self.site = site_id
        self._intrusion: Callable[[str], float | None] | None = None
        self.registry = registry or CollectorRegistry()
        r = self.registry
        dev = ["site", "device"]
        self.build = Info(
            "bessai_build", "Version of the gateway and its key libraries.", registry=r
        )
        self.build.info(
            {
                "version": __version__,
                "python": platform.python_version(),
                "pymodbus": version("pymodbus"),
            }
        )
        self.start_time = Gauge(
            "bessai_start_time_seconds", "Unix time the gateway started.", ["site"], registry=r
        )
        self.poll_duration = Histogram(
            "bessai_poll_duration_seconds",
            "Time of one full poll of a device.",
            dev,
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "bessai_modbus_requests_total",
            "Modbus requests by function code and outcome.",
            [*dev, "function_code", "outcome"],
            registry=r,
        )
        self.exceptions = Counter(
            "bessai_modbus_exceptions_total",
            "Modbus exception responses by exception code.",
            [*dev, "code"],
            registry=r,
        )
        self.reconnects = Counter(
            "bessai_modbus_reconnects_total", "Reconnections after a lost link.", dev, registry=r
        )
        self.connected = Gauge(
            "bessai_device_connected", "1 while the device answers polls.", dev, registry=r
        )
        self.sample_age = Gauge(
            "bessai_last_sample_age_seconds", "Age of the last good sample.", dev, registry=r
        )
        self.soc = Gauge("bessai_battery_soc_ratio", "State of charge (0..1).", dev, registry=r)
        self.power = Gauge(
            "bessai_active_power_watts", "Active power, positive = discharging.", dev, registry=r
        )
        self.setpoint = Gauge(
            "bessai_setpoint_power_watts",
            "Setpoint last written, positive = discharge.",
            dev,
            registry=r,
        )
        self.temperature = Gauge(
            "bessai_battery_temperature_celsius", "Battery temperature.", dev, registry=r
        )
        self.voltage = Gauge("bessai_pack_voltage_volts", "Battery pack voltage.", dev, registry=r)
        self.current = Gauge(
            "bessai_pack_current_amperes",
            "Battery pack current, positive = discharging.",
            dev,
            registry=r,
        )
        self.mode = Gauge(
            "bessai_control_mode", "1 for the current control mode.", [*dev, "mode"], registry=r
        )
        self.interlock = Gauge(
            "bessai_interlock_active", "1 while the interlock holds.", [*dev, "reason"], registry=r
        )
        self.interlocks = Gauge(
            "bessai_interlocks_active", "Number of interlocks holding.", dev, registry=r
        )
        self.refusals = Counter(
            "bessai_safety_refusals_total",
            "Commands the safety layer refused, by reason.",
            [*dev, "reason"],
            registry=r,
        )
        self.estop = Gauge(
            "bessai_estop_latched", "1 while the emergency stop is latched.", dev, registry=r
        )
        self.intrusion_score = Gauge(
            "bessai_intrusion_score",
            "Intrusion score 0..1 (NaN until a baseline exists).",
            dev,
            registry=r,
        )
        self.intrusion_alerts = Counter(
            "bessai_intrusion_alerts_total", "Intrusion alarms raised.", ["site"], registry=r
        )
        self.inferences = Counter(
            "bessai_dispatch_inferences_total",
            "Dispatch proposals by source.",
            [*dev, "source"],
            registry=r,
        )
        self.fallbacks = Counter(
            "bessai_dispatch_fallbacks_total",
            "Proposals from the rule fallback instead of the model.",
            [*dev, "reason"],
            registry=r,
        )
        self.inference_duration = Histogram(
            "bessai_dispatch_inference_duration_seconds",
            "Time to compute one dispatch proposal.",
            dev,
            buckets=INFERENCE_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "bessai_outbox_depth_messages", "Messages waiting in the outbox.", ["site"], registry=r
        )
        self.outbox_oldest = Gauge(
            "bessai_outbox_oldest_age_seconds",
            "Age of the oldest message waiting in the outbox.",
            ["site"],
            registry=r,
        )
        self.published = Counter(
            "bessai_pubsub_messages_published_total",
            "Messages Pub/Sub acknowledged.",
            ["site", "topic"],
            registry=r,
        )
        self.publish_failed = Counter(
            "bessai_pubsub_messages_failed_total",
            "Publish attempts that failed.",
            ["site", "topic"],
            registry=r,
        )
        self.alarms_active = Gauge(
            "bessai_alarms_active", "Active alarms by priority.", ["site", "priority"], registry=r
        )
        self.alarm_active = Gauge(
            "bessai_alarm_active",
            "1 while this alarm instance is active (device is 'site' for site-wide alarms).",
            ["site", "device", "alarm", "priority"],
            registry=r,
        )
        self._active_alarms: dict[tuple[str, str], Priority] = {}
        self.site_power = Gauge(
            "bessai_site_power_watts",
            "The site as a plant, from its snapshot: quantity = requested (the site setpoint), "
            "target (after ramp and POI limits), delivered (the inverters' shares), batteries "
            "(measured sum), poi (the POI meter, + = import), window_min / window_max.",
            ["site", "quantity"],
            registry=r,
        )
        self.site_share = Gauge(
            "bessai_site_share_watts",
            "Each inverter's share of the site setpoint.",
            ["site", "device"],
            registry=r,
        )

    def attach_device(self, gateway: SiteView, name: str) -> None:
        """One device's series (at start, or when a device is added while running)."""
        labels = (self.site, name)
        self.connected.labels(*labels).set(0)
        self.estop.labels(*labels).set(0)
        self.interlocks.labels(*labels).set(0)
        self.reconnects.labels(*labels)
        self.poll_duration.labels(*labels)
        for mode in ControlMode:
            self.mode.labels(*labels, mode.value).set(1 if mode is ControlMode.STANDBY else 0)
        for reason in INTERLOCK_REASONS:
            self.interlock.labels(*labels, reason.value).set(0)
        self.sample_age.labels(*labels).set_function(partial(_age, gateway.pollers[name].status))
        self.intrusion_score.labels(*labels).set_function(partial(_score, self._intrusion, name))
        gateway.devices[name].traffic_listeners.append(self._on_traffic)

    def detach_device(self, name: str) -> None:
        """A removed device's gauges go (its counters stay until the restart, as Prometheus
        expects of counters)."""
        labels = (self.site, name)
        for gauge in (self.connected, self.estop, self.interlocks, self.sample_age):
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)
        with contextlib.suppress(KeyError):
            self.intrusion_score.remove(*labels)
        for mode in ControlMode:
            with contextlib.suppress(KeyError):
                self.mode.remove(*labels, mode.value)
        for reason in INTERLOCK_REASONS:
            with contextlib.suppress(KeyError):
                self.interlock.remove(*labels, reason.value)

    def attach(
        self, gateway: SiteView, intrusion: Callable[[str], float | None] | None = None
    ) -> None:
        """Subscribe to the gateway's bus and devices; give every device its series."""
        self.start_time.labels(self.site).set(gateway.started_at or time.time())
        self.intrusion_alerts.labels(self.site)
        for priority in Priority:
            self.alarms_active.labels(self.site, priority.name.lower()).set(0)
        self._intrusion = intrusion
        for name in gateway.devices:
            self.attach_device(gateway, name)
        bus_ = gateway.bus
        bus_.subscribe(SiteSnapshotTaken, self._on_snapshot)
        if gateway.outbox is not None:
            outbox = gateway.outbox
            self.outbox_depth.labels(self.site).set_function(lambda: float(outbox.depth))
            self.outbox_oldest.labels(self.site).set_function(partial(_oldest, outbox))
        bus = gateway.bus
        bus.subscribe(SampleTaken, self._on_sample)
        bus.subscribe(DeviceConnected, self._on_connected)
        bus.subscribe(
            DeviceDisconnected, lambda e: self.connected.labels(self.site, e.device).set(0)
        )
        bus.subscribe(ControlStateChanged, self._on_control)
        bus.subscribe(
            SetpointApplied,
            lambda e: self.setpoint.labels(self.site, e.device).set(e.value_kw * 1000),
        )
        bus.subscribe(
            CommandRefused, lambda e: self.refusals.labels(self.site, e.device, e.reason).inc()
        )
        bus.subscribe(DispatchProposed, self._on_dispatch)
        bus.subscribe(AlarmRaised, self._on_alarm_raised)
        bus.subscribe(AlarmCleared, self._on_alarm_cleared)

    def _on_traffic(self, rec: TrafficRecord) -> None:
        self.requests.labels(self.site, rec.device, str(rec.function_code), rec.outcome.value).inc()
        if rec.exception_code is not None:
            self.exceptions.labels(self.site, rec.device, str(rec.exception_code)).inc()

    def _on_sample(self, event: SampleTaken) -> None:
        s = event.sample
        labels = (self.site, s.device)
        self.poll_duration.labels(*labels).observe(s.poll_duration_s)
        self.connected.labels(*labels).set(1)
        for gauge, role, factor in (
            (self.soc, "soc_pct", 0.01),
            (self.power, "active_power_kw", 1000.0),
            (self.temperature, "battery_temp_c", 1.0),
            (self.voltage, "pack_voltage_v", 1.0),
            (self.current, "pack_current_a", 1.0),
        ):
            value = s.roles.get(role)
            gauge.labels(*labels).set(math.nan if value is None else value * factor)

    def _on_connected(self, event: DeviceConnected) -> None:
        self.connected.labels(self.site, event.device).set(1)
        if event.reconnect:
            self.reconnects.labels(self.site, event.device).inc()

    def _on_control(self, event: ControlStateChanged) -> None:
        st = event.state
        labels = (self.site, st.device)
        for mode in ControlMode:
            self.mode.labels(*labels, mode.value).set(1 if mode is st.mode else 0)
        holding = {i.reason for i in st.interlocks}
        for reason in INTERLOCK_REASONS:
            self.interlock.labels(*labels, reason.value).set(1 if reason in holding else 0)
        self.interlocks.labels(*labels).set(len(holding))
        self.estop.labels(*labels).set(1 if st.estop_latched else 0)

    def _on_dispatch(self, event: DispatchProposed) -> None:
        labels = (self.site, event.device)
        self.inferences.labels(*labels, event.proposal.source).inc()
        self.inference_duration.labels(*labels).observe(event.duration_s)
        if event.proposal.fallback is not None:
            self.fallbacks.labels(*labels, event.proposal.fallback.code).inc()

    def _on_alarm_raised(self, event: AlarmRaised) -> None:
        alarm = event.alarm
        self._active_alarms[(alarm.source, alarm.id)] = alarm.definition.priority
        self.alarm_active.labels(
            self.site, alarm.source, alarm.id, alarm.definition.priority.name.lower()
        ).set(1)
        if event.alarm.definition.alarm_class is AlarmClass.INTRUSION:
            self.intrusion_alerts.labels(self.site).inc()
        self._count_alarms()

    def _on_alarm_cleared(self, event: AlarmCleared) -> None:
        alarm = event.alarm
        self._active_alarms.pop((alarm.source, alarm.id), None)
        with contextlib.suppress(KeyError):
            self.alarm_active.remove(
                self.site, alarm.source, alarm.id, alarm.definition.priority.name.lower()
            )
        self._count_alarms()

    def _count_alarms(self) -> None:
        for priority in Priority:
            count = sum(1 for p in self._active_alarms.values() if p is priority)
            self.alarms_active.labels(self.site, priority.name.lower()).set(count)

    def _on_snapshot(self, event: SiteSnapshotTaken) -> None:
        """The ``bessai_site_*`` series, once per control cycle (NaN while unknown)."""
        s = event.snapshot
        split = s.site_split

        def watts(kw: float | None) -> float:
            return math.nan if kw is None or not math.isfinite(kw) else kw * 1000

        values = {
            "requested": None if split is None else split.requested_kw,
            "target": None if split is None else split.target_kw,
            "delivered": None if split is None else split.delivered_kw,
            "batteries": s.power_kw.value,
            "poi": s.grid_power_kw.value,
            "window_min": s.window_kw[0],
            "window_max": s.window_kw[1],
        }
        for quantity, kw in values.items():
            self.site_power.labels(self.site, quantity).set(watts(kw))
        shares = {} if split is None else split.shares_kw
        for device in {d.name for d in s.controllable}:
            self.site_share.labels(self.site, device).set(watts(shares.get(device, 0.0)))

    def render(self) -> bytes:
        """The classic Prometheus text format (what ``promtool check metrics`` reads)."""
        return generate_latest(self.registry)


def _oldest(outbox: Outbox) -> float:
    age = outbox.oldest_age_s()
    return 0.0 if age is None else age


def _age(status: DeviceStatus) -> float:
    age = status.last_sample_age_s()
    return math.nan if age is None else age


def _score(intrusion: Callable[[str], float | None] | None, device: str) -> float:
    value = intrusion(device) if intrusion is not None else None
    return math.nan if value is None else value
