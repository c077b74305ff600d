"""Battery protection across the link: what each inverter's BMS allows it now.

A BMS decides what its battery may do (charge and discharge current limits,
or power limits, its cells' extremes, its contactor, its alarm word); the
inverter's guard intersects its own window with this one. A BMS whose link is
down, whose data is stale, or whose mapped values are unknown interlocks its
inverter, named: unknown is unsafe across devices too. A falling limit is
obeyed at once (the next control tick); a rising one is followed with a ramp,
so that a BMS recovering from a cell limit does not see its full current back
in one step. Racks in parallel under one inverter are counted at the weakest
rack's limit times their number (current does not share evenly).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bessai.core.control.battery import FIRST_POLL, BatteryInputs
from bessai.core.guard.safety import Interlock, Reason, SafetyLimits
from bessai.core.polling.scheduler import DeviceStatus


@dataclass(frozen=True)
class CellLimits:
    """Cell limits the protection derates towards (LFP defaults)."""

    voltage_max_v: float = 3.65
    voltage_min_v: float = 2.50
    voltage_band_v: float = 0.05
    temp_max_c: float = 55.0
    temp_charge_min_c: float = 0.0
    temp_band_c: float = 5.0
    max_age_s: float = 3.0


@dataclass(frozen=True)
class BatteryLimit:
    """What an inverter's batteries allow now (kW, both positive), why, and from which BMS."""

    charge_kw: float
    discharge_kw: float
    bms: str | None
    cause: str  # "ccl", "dcl", "power_limit", "cell_voltage", "cell_temp", "cold", "none"
    value: float | None = None
    interlock: Interlock | None = None

    @property
    def allows_nothing(self) -> bool:
        return self.interlock is not None


def _taper(distance: float, band: float) -> float:
    if band <= 0:
        return 1.0 if distance > 0 else 0.0
    return min(1.0, max(0.0, distance / band))


def _unsafe(bms: str, why: str, quantity: str | None = None) -> BatteryLimit:
    return BatteryLimit(
        0.0,
        0.0,
        bms,
        why,
        interlock=Interlock.of(Reason.INTERLOCK_BATTERY, bms=bms, quantity=quantity or "", why=why),
    )


def bms_limit(
    name: str,
    status: DeviceStatus | None,
    mapped: frozenset[str],
    cells: CellLimits,
    now: float,
) -> BatteryLimit:
    """One BMS's window from its latest sample (every mapped quantity must be known)."""
    if status is not None and not status.polls_ok and not status.polls_failed:
        return _unsafe(name, FIRST_POLL)  # an interlock, not yet an alarm: nothing is known
    if status is None or not status.up:
        return _unsafe(name, "link down")
    sample = status.last_sample
    age = status.sample_age_mono_s()
    if age is None and sample is not None:
        age = now - sample.ts  # a status filled by hand (tests): its wall age
    if sample is None or age is None or age > cells.max_age_s:
        return _unsafe(name, "stale")
    roles = sample.roles

    def known(role: str) -> float | None:
        value = roles.get(role)
        return value if value is not None and math.isfinite(value) else None

    for role in (
        "soc_pct",
        "contactor_closed",
        "bms_alarm_word",
        "cell_voltage_max_v",
        "cell_voltage_min_v",
        "cell_temp_max_c",
        "cell_temp_min_c",
    ):
        if role in mapped and known(role) is None:
            return _unsafe(name, "not available", role)
    if "contactor_closed" in mapped and not known("contactor_closed"):
        return _unsafe(name, "contactor open", "contactor_closed")
    if "bms_alarm_word" in mapped and known("bms_alarm_word"):
        return _unsafe(name, "BMS alarm", "bms_alarm_word")
    voltage = known("pack_voltage_v")
    limits: list[tuple[float, float, str]] = []  # charge, discharge, cause
    if "max_charge_power_kw" in mapped or "max_discharge_power_kw" in mapped:
        charge, discharge = known("max_charge_power_kw"), known("max_discharge_power_kw")
        if charge is None or discharge is None:
            missing = "max_charge_power_kw" if charge is None else "max_discharge_power_kw"
            return _unsafe(name, "not available", missing)
        limits.append((charge, discharge, "power_limit"))
    if "ccl_a" in mapped or "dcl_a" in mapped:
        ccl, dcl = known("ccl_a"), known("dcl_a")
        if ccl is None or dcl is None or voltage is None:
            missing = "ccl_a" if ccl is None else "dcl_a" if dcl is None else "pack_voltage_v"
            return _unsafe(name, "not available", missing)
        limits.append((max(0.0, ccl) * voltage / 1000, max(0.0, dcl) * voltage / 1000, "ccl"))
    if not limits:
        return _unsafe(name, "no charge or discharge limit mapped", "ccl_a")
    charge = min(c for c, _, _ in limits)
    discharge = min(d for _, d, _ in limits)
    cause_c = next(cause for c, _, cause in limits if c == charge)
    cause_d = next(cause for _, d, cause in limits if d == discharge)
    cause, value = (cause_c if charge <= discharge else cause_d), None
    vmax, vmin = known("cell_voltage_max_v"), known("cell_voltage_min_v")
    tmax, tmin = known("cell_temp_max_c"), known("cell_temp_min_c")
    if vmax is not None:
        factor = _taper(cells.voltage_max_v - vmax, cells.voltage_band_v)
        if factor < 1.0:
            charge, cause, value = charge * factor, "cell_voltage", vmax
    if vmin is not None:
        factor = _taper(vmin - cells.voltage_min_v, cells.voltage_band_v)
        if factor < 1.0:
            discharge, cause, value = discharge * factor, "cell_voltage", vmin
    if tmax is not None:
        factor = _taper(cells.temp_max_c - tmax, cells.temp_band_c)
        if factor < 1.0:
            charge, discharge, cause, value = charge * factor, discharge * factor, "cell_temp", tmax
    if tmin is not None:
        factor = _taper(tmin - cells.temp_charge_min_c, cells.temp_band_c)
        if factor < 1.0:
            charge, cause, value = charge * factor, "cold", tmin
    return BatteryLimit(charge, discharge, name, cause, value)


class BatteryProtection:
    """One inverter's view of its batteries: the intersection, ramped when it rises."""

    def __init__(
        self,
        inverter: str,
        batteries: Sequence[str],
        status_of: Callable[[str], DeviceStatus | None],
        mapped: Mapping[str, frozenset[str]],
        *,
        cells: CellLimits | None = None,
        limits: Callable[[], SafetyLimits] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inverter = inverter
        self.batteries = tuple(batteries)
        self.status_of = status_of
        self.mapped = mapped
        self.cells = cells or CellLimits()
        self.limits = limits or SafetyLimits
        self.clock = clock
        self._last: tuple[float, float, float] | None = None  # charge, discharge, at
        self.last: BatteryLimit | None = None  # the latest, for the snapshot

    def limit(self, now: float | None = None) -> BatteryLimit:
        """Now: the weakest battery's window times the racks in parallel, the rise ramped."""
        now = self.clock() if now is None else now
        found = [
            bms_limit(b, self.status_of(b), self.mapped.get(b, frozenset()), self.cells, now)
            for b in self.batteries
        ]
        unsafe = next((f for f in found if f.interlock is not None), None)
        if unsafe is not None:
            self._last = (0.0, 0.0, now)
            self.last = unsafe
            return unsafe
        n = len(found)
        weakest_c = min(found, key=lambda f: f.charge_kw)
        weakest_d = min(found, key=lambda f: f.discharge_kw)
        charge, discharge = weakest_c.charge_kw * n, weakest_d.discharge_kw * n
        lead = weakest_c if weakest_c.charge_kw <= weakest_d.discharge_kw else weakest_d
        if self._last is not None:
            last_c, last_d, at = self._last
            step = self.limits().max_ramp_kw_per_s * max(0.0, now - at)
            charge = min(charge, last_c + step)  # falling at once, rising on the ramp
            discharge = min(discharge, last_d + step)
        self._last = (charge, discharge, now)
        self.last = BatteryLimit(charge, discharge, lead.bms, lead.cause, lead.value)
        return self.last

    def inputs(self, now: float | None = None) -> BatteryInputs:
        """What the inverter's guard reads of its batteries now (the controller's port)."""
        now = self.clock() if now is None else now
        limit = self.limit(now)
        samples = [
            s.last_sample.roles
            for b in self.batteries
            if (s := self.status_of(b)) is not None and s.up and s.last_sample is not None
        ]

        def values(role: str) -> list[float]:
            return [v for r in samples if (v := r.get(role)) is not None and math.isfinite(v)]

        socs = values("soc_pct")
        temps = values("cell_temp_max_c") or values("battery_temp_c")
        volts = values("pack_voltage_v")
        amps = values("pack_current_a")
        whole = limit.interlock is None and len(socs) == len(self.batteries)
        return BatteryInputs(
            soc_min_pct=min(socs) if whole else None,
            soc_max_pct=max(socs) if whole else None,
            temp_c=max(temps) if temps else None,
            pack_voltage_v=min(volts) if volts else None,
            pack_current_a=sum(amps) if len(amps) == len(self.batteries) else None,
            charge_kw=limit.charge_kw,
            discharge_kw=limit.discharge_kw,
            interlock=limit.interlock,
        )
