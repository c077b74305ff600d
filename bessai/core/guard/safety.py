"""SafetyGuard: the limits, derating and interlocks every setpoint must pass.

Pure decisions, no I/O: the controller feeds it the latest telemetry and asks
for a verdict on each setpoint. Every verdict carries a reason code and its
parameters, never a bare bool and never a sentence: ``describe`` words them in
English (logs, /health, audit), the screen through its translations. Power is positive when
the battery discharges, negative when it charges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Reason(StrEnum):
    """Why a setpoint was allowed, clamped or refused."""

    OK = "ok"
    DONE = "done"
    ZERO = "zero"
    CLAMP_MAX_DISCHARGE = "clamp_max_discharge"
    CLAMP_MAX_CHARGE = "clamp_max_charge"
    CLAMP_SOC_FLOOR = "clamp_soc_floor"
    CLAMP_SOC_CEILING = "clamp_soc_ceiling"
    CLAMP_TEMPERATURE = "clamp_temperature"
    CLAMP_COLD = "clamp_cold"
    CLAMP_RAMP = "clamp_ramp"
    REFUSED_NOT_FINITE = "refused_not_finite"
    INTERLOCK_COMMS = "interlock_comms"
    INTERLOCK_STALE = "interlock_stale"
    INTERLOCK_TRIP = "interlock_trip"
    INTERLOCK_MEASUREMENT = "interlock_measurement"
    INTERLOCK_INTRUSION = "interlock_intrusion"
    INTERLOCK_ESTOP = "interlock_estop"
    INTERLOCK_MAINTENANCE = "interlock_maintenance"
    INTERLOCK_NO_OPERATOR = "interlock_no_operator"
    REFUSED_MODE = "refused_mode"
    REFUSED_ROLE = "refused_role"
    REFUSED_LIMITS = "refused_limits"
    REFUSED = "refused"
    INTERLOCK_BATTERY = "interlock_battery"
    CLAMP_BATTERY = "clamp_battery"
    CLAMP_SITE = "clamp_site"
    WRITE_FAILED = "write_failed"
    LEASE_EXPIRED = "lease_expired"
    # A device whose power registers no commissioning run has measured (``verified`` false):
    # Manual only after an engineer confirms it, never Auto or the grid operator's control.
    CONFIRM_UNVERIFIED = "confirm_unverified"
    REFUSED_UNVERIFIED = "refused_unverified"


#: What each reason says, in English: /health, the logs and the audit trail read these; the
#: screen translates the same templates with Qt's translations (words live in one place per
#: language, and a new language touches no dataclass here).
ENGLISH: dict[Reason, str] = {
    Reason.OK: "Setpoint accepted",
    Reason.DONE: "Done",
    Reason.ZERO: "Zero setpoint (standby)",
    Reason.CLAMP_MAX_DISCHARGE: "Clamped to the maximum discharge power {limit:.1f} kW",
    Reason.CLAMP_MAX_CHARGE: "Clamped to the maximum charge power {limit:.1f} kW",
    Reason.CLAMP_SOC_FLOOR: "Discharge derated to {limit:.1f} kW: SoC near its floor",
    Reason.CLAMP_SOC_CEILING: "Charge derated to {limit:.1f} kW: SoC near its ceiling",
    Reason.CLAMP_TEMPERATURE: "Power derated to {limit:.1f} kW for battery temperature",
    Reason.CLAMP_COLD: "Charge derated to {limit:.1f} kW: battery cold",
    Reason.CLAMP_RAMP: "Ramp limited to {limit:.1f} kW/s",
    Reason.REFUSED_NOT_FINITE: "Non-numeric setpoint refused",
    Reason.INTERLOCK_COMMS: "No communication with the device",
    Reason.INTERLOCK_STALE: "Data {age:.1f} s old (limit {limit:.1f} s)",
    Reason.INTERLOCK_TRIP: "Protection trip: {detail}",
    Reason.INTERLOCK_MEASUREMENT: "Measurement not valid: {detail}",
    Reason.INTERLOCK_INTRUSION: "Intrusion score {score:.2f} above the lockout threshold {limit:.2f}",
    Reason.INTERLOCK_ESTOP: "Emergency stop latched: an engineer must reset it",
    Reason.INTERLOCK_MAINTENANCE: "Maintenance lockout active",
    Reason.INTERLOCK_NO_OPERATOR: "No user with control rights is logged in",
    Reason.REFUSED_MODE: "Mode {mode} does not take manual setpoints",
    Reason.REFUSED_ROLE: "Role {role} may not {action}",
    Reason.REFUSED_LIMITS: "Invalid limits: {detail}",
    Reason.WRITE_FAILED: "Write failed or did not read back: {detail}",
    Reason.LEASE_EXPIRED: "Manual setpoint lease expired: back to standby",
    Reason.REFUSED: "Refused: {detail}",
    Reason.INTERLOCK_BATTERY: "Battery {bms}: {quantity} {why}",
    Reason.CLAMP_BATTERY: "Limited to {limit:.1f} kW by the battery's BMS",
    Reason.CLAMP_SITE: "The site delivers {limit:.1f} kW ({by})",
    Reason.CONFIRM_UNVERIFIED: (
        "Unverified power registers ({registers}): Manual needs an engineer's confirmation"
    ),
    Reason.REFUSED_UNVERIFIED: (
        "Unverified power registers ({registers}): {mode} control refused until a commissioning "
        "run has measured the sign and scale of the power"
    ),
}

#: Why a battery trips, in English, by cause code (the ``cause`` parameter of a trip).
TRIP_CAUSES: dict[str, str] = {
    "hot": "battery {temp_c:.1f} °C >= {limit_c:.1f} °C",
    "cold": "battery {temp_c:.1f} °C <= {limit_c:.1f} °C (cold)",
    "pack_voltage": "pack {voltage_v:.1f} V outside {min_v:.0f}..{max_v:.0f} V",
    "pack_current": "pack current {current_a:.1f} A > {limit_a:.0f} A",
    "device_fault": "device fault: {fault}",
}

Params = tuple[tuple[str, Any], ...]


def params_of(**values: object) -> Params:
    """A reason's parameters as an immutable, hashable value."""
    return tuple(sorted(values.items()))


def fill(template: str, values: dict[str, Any]) -> str:
    """A template with its values, or the template itself when a value is missing."""
    try:
        return template.format(**values)
    except (KeyError, ValueError, IndexError):
        return template


def describe(
    reason: Reason,
    params: Params = (),
    *,
    templates: Mapping[Reason, str] | None = None,
    causes: Mapping[str, str] | None = None,
) -> str:
    """A reason in words (English unless other templates are given): a trip's cause first."""
    values = dict(params)
    cause = values.get("cause")
    if isinstance(cause, str):
        values["detail"] = fill((causes or TRIP_CAUSES).get(cause, cause), values)
    return fill((templates or ENGLISH).get(reason, reason.value), values)


class SafetyLimits(BaseModel):
    """The site's limits; the guard also applies the device profile's own.

    Numbers are numbers: strings, booleans, NaN and infinities are refused, and
    the set must be consistent (floor below ceiling, warning below trip ...).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    soc_floor_pct: Annotated[float, Field(ge=0, le=50)] = 5.0
    soc_ceiling_pct: Annotated[float, Field(ge=50, le=100)] = 95.0
    soc_derate_band_pct: Annotated[float, Field(ge=0, le=30)] = 5.0
    max_charge_kw: Annotated[float, Field(ge=0)] = 100.0
    max_discharge_kw: Annotated[float, Field(ge=0)] = 100.0
    max_ramp_kw_per_s: Annotated[float, Field(gt=0)] = 20.0
    temp_warning_c: Annotated[float, Field(ge=-40, le=100)] = 40.0
    temp_trip_c: Annotated[float, Field(ge=-40, le=100)] = 45.0
    temp_derate_band_c: Annotated[float, Field(ge=0, le=30)] = 5.0
    temp_charge_min_c: Annotated[float, Field(ge=-40, le=40)] = Field(
        default=0.0, description="Charging is derated to 0 at this battery temperature (plating)."
    )
    temp_cold_derate_band_c: Annotated[float, Field(ge=0, le=30)] = 5.0
    temp_cold_trip_c: Annotated[float, Field(ge=-40, le=40)] = -20.0
    pack_voltage_min_v: Annotated[float, Field(gt=0)] = 600.0
    pack_voltage_max_v: Annotated[float, Field(gt=0)] = 900.0
    pack_current_max_a: Annotated[float, Field(gt=0)] = 250.0
    max_sample_age_s: Annotated[float, Field(gt=0)] = 5.0
    frozen_after_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=30.0,
        description="Every guarded value unchanged this long while power is commanded: frozen.",
    )
    intrusion_lockout_score: Annotated[float, Field(gt=0, le=1)] = 0.8
    capacity_kwh: Annotated[float, Field(gt=0)] = 200.0
    efficiency: Annotated[float, Field(gt=0, le=1)] = 0.96

    @model_validator(mode="after")
    def _ordered(self) -> SafetyLimits:
        if self.soc_floor_pct + 2 * self.soc_derate_band_pct >= self.soc_ceiling_pct:
            raise ValueError(
                f"soc_floor_pct {self.soc_floor_pct} and soc_ceiling_pct {self.soc_ceiling_pct} "
                f"overlap with their derating bands ({self.soc_derate_band_pct} % each)"
            )
        if self.temp_warning_c >= self.temp_trip_c:
            raise ValueError(
                f"temp_warning_c {self.temp_warning_c} must be below temp_trip_c {self.temp_trip_c}"
            )
        if self.temp_cold_trip_c >= self.temp_charge_min_c:
            raise ValueError(
                f"temp_cold_trip_c {self.temp_cold_trip_c} must be below "
                f"temp_charge_min_c {self.temp_charge_min_c}"
            )
        if self.temp_charge_min_c + self.temp_cold_derate_band_c >= self.temp_warning_c:
            raise ValueError(
                f"the cold derating band ({self.temp_charge_min_c} + {self.temp_cold_derate_band_c} °C) "
                f"must end below temp_warning_c {self.temp_warning_c}"
            )
        if self.pack_voltage_min_v >= self.pack_voltage_max_v:
            raise ValueError(
                f"pack_voltage_min_v {self.pack_voltage_min_v} must be below "
                f"pack_voltage_max_v {self.pack_voltage_max_v}"
            )
        return self


@dataclass(frozen=True)
class Telemetry:
    """What the guard needs to know of the battery now.

    ``unknown`` lists the guarded quantities that are missing, a sentinel,
    implausible, frozen or refused, each with why: unknown is unsafe.
    """

    ts: float | None = None
    soc_pct: float | None = None
    active_power_kw: float | None = None
    battery_temp_c: float | None = None
    pack_voltage_v: float | None = None
    pack_current_a: float | None = None
    device_fault: str | None = None
    comms_up: bool = False
    unknown: tuple[tuple[str, str], ...] = ()
    # On a plant, what the inverter's BMS allows now (kW, positive) and the fullest rack's
    # SoC for the ceiling (soc_pct is then the emptiest rack's, for the floor).
    battery_charge_kw: float | None = None
    battery_discharge_kw: float | None = None
    soc_max_pct: float | None = None


@dataclass(frozen=True)
class Interlock:
    """Why a non-zero setpoint is forbidden now: a code and its values, and the device it is on
    (set where several devices are shown together)."""

    reason: Reason
    params: Params = ()
    device: str | None = None

    @classmethod
    def of(cls, reason: Reason, **values: object) -> Interlock:
        return cls(reason, params_of(**values))

    @property
    def message_en(self) -> str:
        text = describe(self.reason, self.params)
        return f"{self.device}: {text}" if self.device else text


@dataclass(frozen=True)
class Verdict:
    """The guard's answer to a setpoint: the value it allows and why."""

    requested_kw: float
    value_kw: float
    reason: Reason
    params: Params = ()
    interlocks: tuple[Interlock, ...] = ()
    device: str | None = None

    @property
    def message_en(self) -> str:
        text = describe(self.reason, self.params)
        return f"{self.device}: {text}" if self.device else text

    @property
    def allowed(self) -> bool:
        return not self.interlocks and self.reason is not Reason.REFUSED_NOT_FINITE

    @property
    def clamped(self) -> bool:
        return self.reason.value.startswith("clamp_")


@dataclass(frozen=True)
class Window:
    """The setpoints allowed now, after limits and derating (charge is negative)."""

    min_kw: float
    max_kw: float
    charge_reason: Reason
    discharge_reason: Reason


@dataclass(frozen=True)
class Preview:
    """What would happen with a setpoint: its clamped value and time to the SoC limit."""

    verdict: Verdict
    seconds_to_soc_limit: float | None


def _taper(distance: float, band: float) -> float:
    """1 outside the band, falling linearly to 0 at its edge."""
    if band <= 0:
        return 1.0 if distance > 0 else 0.0
    return min(1.0, max(0.0, distance / band))


@dataclass
class SafetyGuard:
    """Evaluates limits, derating and interlocks for one battery."""

    limits: SafetyLimits = field(default_factory=SafetyLimits)
    device_min_kw: float = -math.inf
    device_max_kw: float = math.inf

    def window(self, t: Telemetry) -> Window:
        lim = self.limits
        charge = min(lim.max_charge_kw, -self.device_min_kw)
        discharge = min(lim.max_discharge_kw, self.device_max_kw)
        charge_reason, discharge_reason = Reason.CLAMP_MAX_CHARGE, Reason.CLAMP_MAX_DISCHARGE
        if t.battery_charge_kw is not None and t.battery_charge_kw < charge:
            charge, charge_reason = max(0.0, t.battery_charge_kw), Reason.CLAMP_BATTERY
        if t.battery_discharge_kw is not None and t.battery_discharge_kw < discharge:
            discharge, discharge_reason = max(0.0, t.battery_discharge_kw), Reason.CLAMP_BATTERY
        if t.soc_pct is None:
            charge = discharge = 0.0
        else:
            fullest = t.soc_pct if t.soc_max_pct is None else t.soc_max_pct
            soc_c = charge * _taper(lim.soc_ceiling_pct - fullest, lim.soc_derate_band_pct)
            soc_d = discharge * _taper(t.soc_pct - lim.soc_floor_pct, lim.soc_derate_band_pct)
            if soc_c < charge:
                charge, charge_reason = soc_c, Reason.CLAMP_SOC_CEILING
            if soc_d < discharge:
                discharge, discharge_reason = soc_d, Reason.CLAMP_SOC_FLOOR
        if t.battery_temp_c is not None:
            factor = _taper(lim.temp_trip_c - t.battery_temp_c, lim.temp_derate_band_c)
            if charge * factor < charge:
                charge, charge_reason = charge * factor, Reason.CLAMP_TEMPERATURE
            if discharge * factor < discharge:
                discharge, discharge_reason = discharge * factor, Reason.CLAMP_TEMPERATURE
            cold = _taper(t.battery_temp_c - lim.temp_charge_min_c, lim.temp_cold_derate_band_c)
            if charge * cold < charge:
                charge, charge_reason = charge * cold, Reason.CLAMP_COLD
        return Window(-max(0.0, charge), max(0.0, discharge), charge_reason, discharge_reason)

    def interlocks(
        self,
        t: Telemetry,
        now: float,
        *,
        estop: bool = False,
        maintenance: bool = False,
        operator_present: bool = True,
        intrusion_score: float | None = None,
    ) -> list[Interlock]:
        """Every condition that forbids a non-zero setpoint now."""
        lim = self.limits
        found: list[Interlock] = []
        if estop:
            found.append(Interlock.of(Reason.INTERLOCK_ESTOP))
        if not t.comms_up or t.ts is None:
            found.append(Interlock.of(Reason.INTERLOCK_COMMS))
        elif now - t.ts > lim.max_sample_age_s:
            found.append(
                Interlock.of(Reason.INTERLOCK_STALE, age=now - t.ts, limit=lim.max_sample_age_s)
            )
        trip = self.trip_params(t)
        if trip is not None:
            found.append(Interlock(Reason.INTERLOCK_TRIP, trip))
        if t.unknown:
            detail = "; ".join(f"{quantity} {why}" for quantity, why in t.unknown)
            found.append(Interlock.of(Reason.INTERLOCK_MEASUREMENT, detail=detail))
        if intrusion_score is not None and intrusion_score >= lim.intrusion_lockout_score:
            found.append(
                Interlock.of(
                    Reason.INTERLOCK_INTRUSION,
                    score=intrusion_score,
                    limit=lim.intrusion_lockout_score,
                )
            )
        if maintenance:
            found.append(Interlock.of(Reason.INTERLOCK_MAINTENANCE))
        if not operator_present:
            found.append(Interlock.of(Reason.INTERLOCK_NO_OPERATOR))
        return found

    def trip_cause(self, t: Telemetry) -> str | None:
        """Why the battery trips now, in English (the audit's language), or None."""
        trip = self.trip_params(t)
        return None if trip is None else describe(Reason.INTERLOCK_TRIP, trip).split(": ", 1)[1]

    def trip_params(self, t: Telemetry) -> Params | None:
        """Why the battery trips now, as a cause code and its values, or None."""
        lim = self.limits
        if t.battery_temp_c is not None and t.battery_temp_c >= lim.temp_trip_c:
            return params_of(cause="hot", temp_c=t.battery_temp_c, limit_c=lim.temp_trip_c)
        if t.battery_temp_c is not None and t.battery_temp_c <= lim.temp_cold_trip_c:
            return params_of(cause="cold", temp_c=t.battery_temp_c, limit_c=lim.temp_cold_trip_c)
        if t.pack_voltage_v is not None and not (
            lim.pack_voltage_min_v <= t.pack_voltage_v <= lim.pack_voltage_max_v
        ):
            return params_of(
                cause="pack_voltage",
                voltage_v=t.pack_voltage_v,
                min_v=lim.pack_voltage_min_v,
                max_v=lim.pack_voltage_max_v,
            )
        if t.pack_current_a is not None and abs(t.pack_current_a) > lim.pack_current_max_a:
            return params_of(
                cause="pack_current", current_a=t.pack_current_a, limit_a=lim.pack_current_max_a
            )
        if t.device_fault:
            return params_of(cause="device_fault", fault=t.device_fault)
        return None

    def evaluate(
        self,
        requested_kw: float,
        t: Telemetry,
        interlocks: list[Interlock],
        *,
        previous_kw: float | None = None,
        dt_s: float | None = None,
    ) -> Verdict:
        """Clamp a setpoint to the window and the ramp; zero it under any interlock."""
        if not math.isfinite(requested_kw):
            return Verdict(requested_kw, 0.0, Reason.REFUSED_NOT_FINITE, (), tuple(interlocks))
        if interlocks:
            first = interlocks[0]
            return Verdict(requested_kw, 0.0, first.reason, first.params, tuple(interlocks))
        value, reason, limit = requested_kw, Reason.OK, 0.0
        win = self.window(t)
        if value > win.max_kw:
            value, reason, limit = win.max_kw, win.discharge_reason, win.max_kw
        elif value < win.min_kw:
            value, reason, limit = win.min_kw, win.charge_reason, -win.min_kw
        if previous_kw is not None and dt_s is not None:
            step = self.limits.max_ramp_kw_per_s * max(0.0, dt_s)
            if abs(value - previous_kw) > step:
                value = previous_kw + math.copysign(step, value - previous_kw)
                reason, limit = Reason.CLAMP_RAMP, self.limits.max_ramp_kw_per_s
            # The window wins over the ramp: a limit that tightens (derating) takes
            # effect at once, because moving toward zero is the safe direction.
            if value > win.max_kw:
                value, reason, limit = win.max_kw, win.discharge_reason, win.max_kw
            elif value < win.min_kw:
                value, reason, limit = win.min_kw, win.charge_reason, -win.min_kw
        if value == 0.0 and reason is Reason.OK:
            reason = Reason.ZERO
        return Verdict(requested_kw, value, reason, params_of(limit=limit))

    def seconds_to_soc_limit(self, power_kw: float, soc_pct: float | None) -> float | None:
        """Time until SoC reaches its floor (discharging) or ceiling (charging) at this power."""
        if soc_pct is None or power_kw == 0:
            return None
        lim = self.limits
        if power_kw > 0:
            energy_kwh = max(0.0, soc_pct - lim.soc_floor_pct) / 100 * lim.capacity_kwh
            return 3600.0 * energy_kwh * lim.efficiency / power_kw
        energy_kwh = max(0.0, lim.soc_ceiling_pct - soc_pct) / 100 * lim.capacity_kwh
        return 3600.0 * energy_kwh / (-power_kw * lim.efficiency)
