"""Measurement validity: is each quantity the guard relies on present, plausible and alive?

A value the guard needs that is missing (the device's "not available"
sentinel), refused (an exception answered for its register), outside its
physical range, moving faster than physics allows, or frozen while power is
commanded is *unknown*, and the guard treats unknown as unsafe. The checks
run per sample; an implausible jump holds for ``hold_s`` so that one odd
reading is seen, alarmed and drops the mode, not flicker past.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bessai.core.guard.safety import SafetyLimits
from bessai.core.runtime.events import Sample
from bessai.drivers.profile import Profile, Role

GUARDED_ROLES: tuple[Role, ...] = (
    Role.SOC_PCT,
    Role.BATTERY_TEMP_C,
    Role.PACK_VOLTAGE_V,
    Role.PACK_CURRENT_A,
    Role.ACTIVE_POWER_KW,
    Role.ALARM_WORD,
)

BATTERY_TEMP_RANGE_C = (-40.0, 100.0)
SOC_RANGE_PCT = (0.0, 100.0)


@dataclass(frozen=True)
class Unknown:
    """One guarded quantity the guard cannot trust now, and why."""

    quantity: str
    why: str


@dataclass
class MeasurementValidator:
    """Checks one device's guarded quantities sample by sample (stateful: rates, freezing)."""

    profile: Profile
    limits: SafetyLimits
    device_max_kw: float = 0.0
    hold_s: float = 10.0
    _registers: dict[str, str] = field(default_factory=dict)
    _previous: Sample | None = None
    _held: dict[str, tuple[str, float]] = field(default_factory=dict)
    _unchanged_since: float | None = None
    _frozen_why: str | None = None

    def __post_init__(self) -> None:
        for role in GUARDED_ROLES:
            reg = self.profile.by_role(role)
            if reg is not None:
                self._registers[role.value] = reg.name

    @property
    def guarded(self) -> tuple[str, ...]:
        """The guarded quantities this device's profile maps."""
        return tuple(self._registers)

    def _rated_kw(self) -> float:
        return max(self.limits.max_charge_kw, self.limits.max_discharge_kw, self.device_max_kw)

    def _ranges(self) -> dict[str, tuple[float, float]]:
        lim = self.limits
        rated = self._rated_kw()
        return {
            "soc_pct": SOC_RANGE_PCT,
            "battery_temp_c": BATTERY_TEMP_RANGE_C,
            "pack_voltage_v": (0.5 * lim.pack_voltage_min_v, 1.5 * lim.pack_voltage_max_v),
            "pack_current_a": (-4 * lim.pack_current_max_a, 4 * lim.pack_current_max_a),
            "active_power_kw": (-2 * rated - 1.0, 2 * rated + 1.0),
        }

    def check(self, sample: Sample, commanded_kw: float | None) -> tuple[Unknown, ...]:
        """The guarded quantities of this sample that cannot be trusted."""
        found: dict[str, str] = {}
        ranges = self._ranges()
        for role, name in self._registers.items():
            value = sample.roles.get(role)
            if name in sample.refused:
                found[role] = "refused by the device"
            elif value is None:
                found[role] = "not available"
            elif role in ranges:
                low, high = ranges[role]
                if not low <= value <= high:
                    found[role] = f"implausible ({value:g} outside {low:g}..{high:g})"
        jump = self._soc_jump(sample)
        if jump is not None:
            self._held["soc_pct"] = (jump, sample.ts + self.hold_s)
        for role, (why, until) in list(self._held.items()):
            if sample.ts >= until:
                del self._held[role]
            else:
                found.setdefault(role, why)
        frozen = self._frozen(sample, commanded_kw)
        if frozen is not None:
            for role in self._registers:
                if role != "alarm_word":
                    found.setdefault(role, frozen)
        self._previous = sample
        return tuple(Unknown(role, why) for role, why in found.items())

    def _soc_jump(self, sample: Sample) -> str | None:
        """A SoC step larger than the measured power can explain (with generous margins)."""
        prev = self._previous
        if prev is None or "soc_pct" not in self._registers:
            return None
        soc, soc0 = sample.roles.get("soc_pct"), prev.roles.get("soc_pct")
        dt = sample.ts - prev.ts
        low, high = SOC_RANGE_PCT
        if soc is None or soc0 is None or dt <= 0:
            return None
        if not (low <= soc <= high and low <= soc0 <= high):
            return None  # already flagged as implausible by its range
        powers = [
            abs(p)
            for p in (sample.roles.get("active_power_kw"), prev.roles.get("active_power_kw"))
            if p is not None
        ]
        # Without a power reading the device's rating bounds the rate.
        power_kw = max(powers) if powers else self._rated_kw()
        power_kw += 0.05 * self._rated_kw()
        allowed = 2.0 * power_kw * dt / 3600.0 / self.limits.capacity_kwh * 100.0 + 1.0
        if abs(soc - soc0) > allowed:
            return f"implausible (moved {soc - soc0:+.2f} % in {dt:.1f} s at {power_kw:.1f} kW)"
        return None

    def _frozen(self, sample: Sample, commanded_kw: float | None) -> str | None:
        """Every guarded value bit-identical for ``frozen_after_s`` while power is commanded.

        Once seen, frozen holds until a value moves again, even at zero power.
        """
        prev = self._previous
        analog = [r for r in self._registers if r != "alarm_word"]
        same = (
            prev is not None
            and bool(analog)
            and all(sample.roles.get(r) == prev.roles.get(r) for r in analog)
        )
        if not same:
            self._unchanged_since, self._frozen_why = None, None
            return None
        if self._frozen_why is not None:
            return self._frozen_why
        if not commanded_kw:
            self._unchanged_since = None
            return None
        assert prev is not None
        if self._unchanged_since is None:
            self._unchanged_since = prev.ts
        frozen_s = sample.ts - self._unchanged_since
        if frozen_s >= self.limits.frozen_after_s:
            self._frozen_why = (
                f"frozen ({frozen_s:.0f} s unchanged at {commanded_kw:+.1f} kW commanded)"
            )
        return self._frozen_why
