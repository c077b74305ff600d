"""The site snapshot: every device's state and the site values safety reads, composed once per cycle.

One immutable, Qt-free value that the screen, /health, the status message
and the fleet view read instead of asking the controllers and pollers each
their own way. A site value that safety reads is the worst of its devices,
never an average: the hottest battery, the least SoC headroom to the floor
and to the ceiling, the intersection of the allowed windows; each names the
device it comes from. Conditions (E-stop, a lost link, a trip, …) are listed
worst first, each with its device, so that a trip on the second battery is
never hidden by a healthy first one.

Over 500 lines on purpose: the snapshot's types and the one builder that defines every site value stay together, so the site's definition reads in one place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bessai.core.alarms.manager import Alarm, AlarmManager, AlarmState
from bessai.core.config.plant import PlantTopology
from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode, ControlState
from bessai.core.guard.safety import (
    Interlock,
    Params,
    Reason,
    SafetyLimits,
    Window,
    describe,
    params_of,
)
from bessai.core.ids.summary import DeviceIntrusion, IntrusionSummary
from bessai.core.plant.protection import BatteryLimit
from bessai.core.plant.site_control import SiteSplit
from bessai.core.polling.scheduler import DeviceStatus
from bessai.drivers.device import ModbusDevice

#: Who or what clears an interlock, by its reason (the screen words it).
CLEARED_BY: Mapping[Reason, str] = MappingProxyType(
    {
        Reason.INTERLOCK_ESTOP: "engineer_reset",
        Reason.INTERLOCK_COMMS: "link_returns",
        Reason.INTERLOCK_STALE: "fresh_data",
        Reason.INTERLOCK_TRIP: "cause_clears",
        Reason.INTERLOCK_MEASUREMENT: "valid_measurement",
        Reason.INTERLOCK_INTRUSION: "engineer_review",
        Reason.INTERLOCK_MAINTENANCE: "engineer_maintenance_off",
        Reason.INTERLOCK_NO_OPERATOR: "operator_login",
        Reason.INTERLOCK_BATTERY: "bms_trusted",
    }
)

#: Interlocks that are trips (red), the others are warnings (amber).
TRIP_REASONS = frozenset(
    {
        Reason.INTERLOCK_ESTOP,
        Reason.INTERLOCK_TRIP,
        Reason.INTERLOCK_COMMS,
        Reason.INTERLOCK_INTRUSION,
        Reason.INTERLOCK_BATTERY,
    }
)

#: Condition codes, worst first; the strip shows the first.
CONDITION_ORDER: tuple[str, ...] = (
    "estop",
    "comms_lost",
    "trip",
    "intrusion_lockout",
    "interlock",
    "intrusion_alarm",
)


@dataclass(frozen=True)
class InterlockEntry:
    """One interlock on one device: why, since when, and who or what clears it."""

    device: str
    reason: Reason
    params: Params
    since: float
    cleared_by: str
    by: str | None = None  # who caused it, where that is known (an E-stop's presser)

    @property
    def message_en(self) -> str:
        return describe(self.reason, self.params)


@dataclass(frozen=True)
class LinkStats:
    """A device's link as /health reports it."""

    endpoint: str
    profile_id: str
    interval_s: float
    polls_ok: int
    polls_failed: int
    comms_gaps: int
    last_error: str | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    exceptions: int = 0
    timeouts: int = 0
    reconnects: int = 0


@dataclass(frozen=True)
class DeviceSnapshot:
    """One device: its link, its latest values with their validity, its control and alarms."""

    name: str
    role: str
    up: bool
    sample_ts: float | None
    age_s: float | None
    stale: bool
    values: Mapping[str, float | None]
    unknown: tuple[tuple[str, str], ...]
    link: LinkStats
    control: ControlState | None
    interlocks: tuple[InterlockEntry, ...]
    alarms: tuple[Alarm, ...]
    intrusion: DeviceIntrusion | None
    soc_floor_pct: float
    soc_ceiling_pct: float
    capacity_kwh: float = 0.0

    @property
    def severity(self) -> str:
        """The device's state in ISA-101 terms: "trip", "warning" or "normal"."""
        if self.estop_latched or not self.up:
            return "trip"
        if any(i.reason in TRIP_REASONS for i in self.interlocks):
            return "trip"
        if self.interlocks or any(a.active for a in self.alarms):
            return "warning"
        return "normal"

    def value(self, role: str) -> float | None:
        """A role's value, None while missing or not trusted (unknown is unsafe)."""
        if any(quantity == role for quantity, _ in self.unknown):
            return None
        return self.values.get(role)

    @property
    def controllable(self) -> bool:
        return self.control is not None

    @property
    def mode(self) -> ControlMode | None:
        return None if self.control is None else self.control.mode

    @property
    def soc_pct(self) -> float | None:
        return self.value("soc_pct")

    @property
    def power_kw(self) -> float | None:
        return self.value("active_power_kw")

    @property
    def temp_c(self) -> float | None:
        """The hottest the device reports: its cells' maximum where it has one (a BMS)."""
        cell = self.value("cell_temp_max_c")
        return cell if cell is not None else self.value("battery_temp_c")

    @property
    def setpoint_kw(self) -> float:
        return 0.0 if self.control is None else self.control.applied_kw

    @property
    def estop_latched(self) -> bool:
        return self.control is not None and self.control.estop_latched

    @property
    def window_kw(self) -> tuple[float, float] | None:
        if self.control is None:
            return None
        return (self.control.window.min_kw, self.control.window.max_kw)


@dataclass(frozen=True)
class SiteValue:
    """A site value and the device it comes from (None for a sum or when nothing reports it)."""

    value: float | None
    device: str | None = None


@dataclass(frozen=True)
class Condition:
    """Something abnormal on the site, for the strip and /health: what, how bad, where."""

    code: str
    severity: str  # "trip" | "warning"
    device: str | None
    reason: Reason | None = None
    params: Params = ()

    @property
    def message_en(self) -> str:
        """In English, for /health and the status message (the screen words it itself)."""
        values = dict(self.params)
        if self.code == "intrusion_alarm":
            return f"intrusion score {values.get('score', 0.0):.2f}"
        if self.code == "comms_lost":
            return f"no communication: {values.get('detail', '')}"
        if self.code == "estop":
            return "E-stop latched"
        if self.reason is Reason.INTERLOCK_TRIP:
            return describe(self.reason, self.params).split(": ", 1)[-1]
        return "" if self.reason is None else describe(self.reason, self.params)


@dataclass(frozen=True)
class SiteSnapshot:
    """The whole site at one instant; built by ``SnapshotBuilder``, read by every interface."""

    ts: float
    site_id: str
    devices: tuple[DeviceSnapshot, ...]
    hottest_temp_c: SiteValue
    lowest_soc_pct: SiteValue
    highest_soc_pct: SiteValue
    soc_floor_headroom_pct: SiteValue
    soc_ceiling_headroom_pct: SiteValue
    soc_pct: SiteValue
    power_kw: SiteValue
    setpoint_kw: float
    window_kw: tuple[float, float]
    window_limited_by: tuple[str | None, str | None]
    grid_power_kw: SiteValue
    pv_power_kw: SiteValue
    load_kw: SiteValue
    grid_frequency_hz: SiteValue
    conditions: tuple[Condition, ...]
    alarms: tuple[Alarm, ...]
    intrusion: IntrusionSummary | None = None
    alarm_version: int = 0
    site_split: SiteSplit | None = None
    battery_limits: Mapping[str, BatteryLimit] = field(default_factory=dict)
    plant: PlantTopology | None = None
    clock_step_s: float | None = None  # the wall clock's latest step, within 10 min
    _by_name: Mapping[str, DeviceSnapshot] = field(default_factory=dict, repr=False)

    def device(self, name: str) -> DeviceSnapshot | None:
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.devices)

    @property
    def controllable(self) -> tuple[DeviceSnapshot, ...]:
        return tuple(d for d in self.devices if d.controllable)

    @property
    def active_alarms(self) -> tuple[Alarm, ...]:
        """Instances whose condition holds now (shelved ones too)."""
        return tuple(a for a in self.alarms if a.active)

    @property
    def estop_latched(self) -> bool:
        return any(d.estop_latched for d in self.devices)

    @property
    def interlocks(self) -> tuple[InterlockEntry, ...]:
        return tuple(i for d in self.devices for i in d.interlocks)

    @property
    def mode(self) -> ControlMode | None:
        """The site's mode when every controllable device is in it; None when they differ."""
        modes = {d.mode for d in self.controllable}
        return modes.pop() if len(modes) == 1 else None

    @property
    def worst(self) -> Condition | None:
        return self.conditions[0] if self.conditions else None

    @property
    def energy_to_floor_kwh(self) -> float | None:
        """What the batteries can still deliver before each reaches its SoC floor."""
        parts = [
            max(0.0, d.soc_pct - d.soc_floor_pct) / 100 * d.capacity_kwh
            for d in self.devices
            if d.soc_pct is not None and d.capacity_kwh
        ]
        return sum(parts) if parts else None

    @property
    def energy_to_ceiling_kwh(self) -> float | None:
        """What the batteries can still take before each reaches its SoC ceiling."""
        parts = [
            max(0.0, d.soc_ceiling_pct - d.soc_pct) / 100 * d.capacity_kwh
            for d in self.devices
            if d.soc_pct is not None and d.capacity_kwh
        ]
        return sum(parts) if parts else None

    def seconds_to_soc_limit(self) -> float | None:
        """At the present site power: the time until the batteries reach the floor (discharging)
        or the ceiling (charging); None when idle or unknown."""
        power = self.power_kw.value
        if power is None or power == 0:
            return None
        energy = self.energy_to_floor_kwh if power > 0 else self.energy_to_ceiling_kwh
        return None if energy is None else energy / abs(power) * 3600.0

    @property
    def limiting(self) -> tuple[str, str] | None:
        """What limits the site's window now, named: the device and why (for the screen and
        /health): a BMS's limit on its inverter, the POI, or an interlock."""
        if self.site_split is not None and self.site_split.limited_by in (
            "poi_export",
            "poi_import",
            "poi_meter_unknown",
        ):
            return (
                self.plant.poi_meter or "poi"
            ) if self.plant else "poi", self.site_split.limited_by
        if self.interlocks:
            first = self.interlocks[0]
            return first.device, first.message_en
        tight = [
            (lim.charge_kw + lim.discharge_kw, lim)
            for lim in self.battery_limits.values()
            if lim.cause not in ("ccl", "power_limit") or lim.value is not None
        ]
        if tight:
            lim = min(tight, key=lambda p: p[0])[1]
            what = lim.cause.replace("_", " ")
            return lim.bms or "", what if lim.value is None else f"{what} {lim.value:.2f}"
        return None

    def control_of(self, target: str) -> ControlState | None:
        """The control state of a device, or of the site ("site": every controllable device
        together — the summed setpoint, the window an equal split allows, every device's
        interlocks named, the shortest lease; Standby unless all share one mode)."""
        if target != "site":
            found = self.device(target)
            return None if found is None else found.control
        states = [d.control for d in self.controllable if d.control is not None]
        if not states:
            return None
        interlocks = tuple(Interlock(i.reason, i.params, device=i.device) for i in self.interlocks)
        leases = [s.lease_expires_at for s in states if s.lease_expires_at is not None]
        low, high = self.window_kw
        if interlocks:
            first = interlocks[0].reason
            window = Window(0.0, 0.0, first, first)
        else:
            window = Window(
                low, high, states[0].window.charge_reason, states[0].window.discharge_reason
            )
        return ControlState(
            device="site",
            mode=self.mode or ControlMode.STANDBY,
            target_kw=sum(s.target_kw for s in states),
            applied_kw=sum(s.applied_kw for s in states),
            lease_expires_at=min(leases) if leases and self.mode is ControlMode.MANUAL else None,
            estop_latched=any(s.estop_latched for s in states),
            maintenance=any(s.maintenance for s in states),
            interlocks=interlocks,
            window=window,
            last_verdict=None,
            proposal=None,
            heartbeat=0,
        )


def _extreme(pairs: Iterable[tuple[str, float | None]], pick: str) -> SiteValue:
    known = [(v, n) for n, v in pairs if v is not None and math.isfinite(v)]
    if not known:
        return SiteValue(None)
    value, name = (max if pick == "max" else min)(known, key=lambda p: (p[0], p[1]))
    return SiteValue(value, name)


def _sum(pairs: Iterable[tuple[str, float | None]]) -> SiteValue:
    values = [v for _, v in pairs if v is not None]
    return SiteValue(sum(values) if values else None)


class SnapshotBuilder:
    """Composes the snapshot; remembers when each (device, interlock) was first seen."""

    def __init__(self, site_id: str, alarms: AlarmManager) -> None:
        self.site_id = site_id
        self.alarms = alarms
        self._since: dict[tuple[str, Reason], float] = {}

    def build(
        self,
        now: float,
        statuses: Mapping[str, DeviceStatus],
        controllers: Mapping[str, Controller],
        limits: Mapping[str, SafetyLimits],
        roles: Mapping[str, str],
        capacities_kwh: Mapping[str, float],
        intrusion: IntrusionSummary | None = None,
        links: Mapping[str, ModbusDevice] | None = None,
        *,
        plant: PlantTopology | None = None,
        site_split: SiteSplit | None = None,
        battery_limits: Mapping[str, BatteryLimit] | None = None,
    ) -> SiteSnapshot:
        devices: list[DeviceSnapshot] = []
        by_source: dict[str, list[Alarm]] = {}
        shown = self.alarms.active(include_shelved=True)
        for alarm in shown:
            by_source.setdefault(alarm.source, []).append(alarm)
        seen: set[tuple[str, Reason]] = set()
        for name, status in statuses.items():
            controller = controllers.get(name)
            state = controller.state(now) if controller is not None else None
            sample = status.last_sample
            age = status.last_sample_age_s(now)
            lim = controller.guard.limits if controller else limits.get(name) or SafetyLimits()
            stale = age is None or age > lim.max_sample_age_s
            entries: list[InterlockEntry] = []
            for interlock in state.interlocks if state is not None else ():
                key = (name, interlock.reason)
                seen.add(key)
                by = None
                if interlock.reason is Reason.INTERLOCK_ESTOP and controller is not None:
                    # The press, kept across restarts: not when this gateway first saw it.
                    by = controller.estop_by
                    if controller.estop_since is not None:
                        self._since[key] = controller.estop_since
                since = self._since.setdefault(key, now)
                entries.append(
                    InterlockEntry(
                        name,
                        interlock.reason,
                        interlock.params,
                        since,
                        CLEARED_BY.get(interlock.reason, "operator"),
                        by,
                    )
                )
            unknown = controller.telemetry.unknown if controller is not None else ()
            link = None if links is None else links.get(name)
            stats = None if link is None else link.stats
            devices.append(
                DeviceSnapshot(
                    name=name,
                    role=roles.get(name, "other"),
                    up=status.up,
                    sample_ts=None if sample is None else sample.ts,
                    age_s=None if age is None else round(age, 3),
                    stale=stale,
                    values=MappingProxyType(dict(sample.roles) if sample is not None else {}),
                    unknown=unknown,
                    link=LinkStats(
                        status.endpoint,
                        status.profile_id,
                        status.interval_s,
                        status.polls_ok,
                        status.polls_failed,
                        len(status.gaps),
                        status.last_error,
                        status.latency_quantile_s(0.5),
                        status.latency_quantile_s(0.95),
                        0 if stats is None else sum(stats.exceptions.values()),
                        0 if stats is None else stats.timeouts,
                        0 if stats is None else stats.reconnects,
                    ),
                    control=state,
                    interlocks=tuple(entries),
                    alarms=tuple(by_source.get(name, ())),
                    intrusion=None if intrusion is None else intrusion.devices.get(name),
                    soc_floor_pct=lim.soc_floor_pct,
                    soc_ceiling_pct=lim.soc_ceiling_pct,
                    capacity_kwh=lim.capacity_kwh,
                )
            )
        for key in self._since.keys() - seen:
            del self._since[key]
        snapshot = self._site(now, devices, shown, capacities_kwh, intrusion)
        if plant is None or not plant.is_plant:
            return replace(snapshot, site_split=site_split)
        poi = snapshot.device(plant.poi_meter) if plant.poi_meter else None
        grid = SiteValue(None if poi is None else poi.value("grid_power_kw"), plant.poi_meter)
        inverters = [d for d in devices if d.name in plant.inverters and d.controllable]
        power = (
            SiteValue(None)
            if any(d.power_kw is None for d in inverters)
            else SiteValue(sum(d.power_kw or 0.0 for d in inverters))
        )
        load = SiteValue(None)
        if grid.value is not None and power.value is not None:
            load = SiteValue(grid.value + power.value)  # the site's own load less its PV
        return replace(
            snapshot,
            grid_power_kw=grid,
            power_kw=power,
            load_kw=load,
            site_split=site_split,
            battery_limits=MappingProxyType(dict(battery_limits or {})),
            plant=plant,
        )

    def _site(
        self,
        now: float,
        devices: list[DeviceSnapshot],
        alarms: list[Alarm],
        capacities_kwh: Mapping[str, float],
        intrusion: IntrusionSummary | None,
    ) -> SiteSnapshot:
        soc = [(d.name, d.soc_pct) for d in devices]
        weighted = [
            (d.soc_pct, capacities_kwh.get(d.name, 1.0)) for d in devices if d.soc_pct is not None
        ]
        capacity = sum(c for _, c in weighted)
        controllable = [d for d in devices if d.control is not None]
        low_names: tuple[str | None, str | None] = (None, None)
        if controllable:
            mins = [(d.control.window.min_kw, d.name) for d in controllable if d.control]
            maxs = [(d.control.window.max_kw, d.name) for d in controllable if d.control]
            floor, floor_by = max(mins)
            ceiling, ceiling_by = min(maxs)
            # The site's setpoint is split equally: each device must be able to take its share.
            n = len(controllable)
            window = (min(0.0, floor) * n, max(0.0, ceiling) * n)
            low_names = (floor_by, ceiling_by)
        else:
            window = (0.0, 0.0)
        grid = _sum((d.name, d.value("grid_power_kw")) for d in devices)
        pv = _sum((d.name, d.value("pv_power_kw")) for d in devices)
        power = _sum((d.name, d.power_kw) for d in devices)
        if any(d.power_kw is None for d in controllable):
            power = SiteValue(None)  # a battery whose power is unknown makes the sum unknown
        load = SiteValue(None)
        if grid.value is not None and power.value is not None:
            load = SiteValue(grid.value + (pv.value or 0.0) + power.value)
        return SiteSnapshot(
            ts=now,
            site_id=self.site_id,
            devices=tuple(devices),
            hottest_temp_c=_extreme(((d.name, d.temp_c) for d in devices), "max"),
            lowest_soc_pct=_extreme(soc, "min"),
            highest_soc_pct=_extreme(soc, "max"),
            soc_floor_headroom_pct=_extreme(
                (
                    (d.name, None if d.soc_pct is None else d.soc_pct - d.soc_floor_pct)
                    for d in devices
                ),
                "min",
            ),
            soc_ceiling_headroom_pct=_extreme(
                (
                    (d.name, None if d.soc_pct is None else d.soc_ceiling_pct - d.soc_pct)
                    for d in devices
                ),
                "min",
            ),
            soc_pct=SiteValue(sum(s * c for s, c in weighted) / capacity if capacity > 0 else None),
            power_kw=power,
            setpoint_kw=sum(d.setpoint_kw for d in controllable),
            window_kw=window,
            window_limited_by=low_names,
            grid_power_kw=grid,
            pv_power_kw=pv,
            load_kw=load,
            grid_frequency_hz=next(
                (
                    SiteValue(v, d.name)
                    for d in devices
                    if (v := d.value("grid_frequency_hz")) is not None
                ),
                SiteValue(None),
            ),
            conditions=tuple(_conditions(devices, intrusion)),
            alarms=tuple(alarms),
            intrusion=intrusion,
            alarm_version=self.alarms.version,
            _by_name=MappingProxyType({d.name: d for d in devices}),
        )


def _conditions(
    devices: list[DeviceSnapshot], intrusion: IntrusionSummary | None
) -> list[Condition]:
    """Every abnormal condition with its device, worst first (then by device name)."""
    found: list[Condition] = []
    for d in devices:
        if d.estop_latched:
            found.append(Condition("estop", "trip", d.name, Reason.INTERLOCK_ESTOP))
        if not d.up:
            error = d.link.last_error or "not connected yet"
            found.append(
                Condition(
                    "comms_lost", "trip", d.name, Reason.INTERLOCK_COMMS, params_of(detail=error)
                )
            )
        for i in d.interlocks:
            if i.reason in (Reason.INTERLOCK_ESTOP, Reason.INTERLOCK_COMMS):
                continue
            if i.reason is Reason.INTERLOCK_TRIP:
                code, severity = "trip", "trip"
            elif i.reason is Reason.INTERLOCK_INTRUSION:
                code, severity = "intrusion_lockout", "trip"
            else:
                code, severity = "interlock", "warning"
            found.append(Condition(code, severity, d.name, i.reason, i.params))
        score = None if d.intrusion is None else d.intrusion.score
        if (
            intrusion is not None
            and score is not None
            and score >= intrusion.alarm_threshold
            and not any(i.reason is Reason.INTERLOCK_INTRUSION for i in d.interlocks)
        ):
            found.append(
                Condition("intrusion_alarm", "warning", d.name, None, params_of(score=score))
            )
    order = {code: n for n, code in enumerate(CONDITION_ORDER)}
    return sorted(found, key=lambda c: (order[c.code], c.device or ""))


@dataclass(frozen=True)
class SiteSnapshotTaken:
    """Published once per control cycle with the site's new snapshot."""

    snapshot: SiteSnapshot


def unacknowledged(alarms: Iterable[Alarm]) -> list[Alarm]:
    return [a for a in alarms if a.state in (AlarmState.ACTIVE_UNACK, AlarmState.CLEARED_UNACK)]
