"""The rule-based dispatcher: time-of-use and peak shaving by SoC and hour.

It is the safe fallback of any learned dispatcher: simple enough to check by
hand. Hours are the site's local time (Chile by default): charge through the
solar hours when energy is cheap, discharge in the evening peak, otherwise
hold. Power is positive when discharging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Proposal:
    """A proposed setpoint and why."""

    setpoint_kw: float
    source: str
    explanation: str
    inputs: dict[str, float | None] = field(default_factory=dict)


@dataclass
class RuleDispatcher:
    rated_power_kw: float = 100.0
    charge_hours: tuple[int, int] = (10, 16)
    peak_hours: tuple[int, int] = (18, 23)
    charge_fraction: float = 0.5
    discharge_fraction: float = 0.6
    charge_until_soc_pct: float = 90.0
    discharge_until_soc_pct: float = 20.0
    timezone: str = "America/Santiago"

    def propose(self, soc_pct: float | None, now: float) -> Proposal:
        hour = datetime.fromtimestamp(now, ZoneInfo(self.timezone)).hour
        inputs: dict[str, float | None] = {"soc_pct": soc_pct, "hour": float(hour)}
        if soc_pct is None:
            return Proposal(0.0, "rules", "no SoC reading: hold", inputs)
        start, end = self.charge_hours
        if start <= hour < end and soc_pct < self.charge_until_soc_pct:
            kw = -self.charge_fraction * self.rated_power_kw
            return Proposal(
                kw,
                "rules",
                f"solar hours {start}-{end} h and SoC {soc_pct:.0f} % < {self.charge_until_soc_pct:.0f} %: charge",
                inputs,
            )
        start, end = self.peak_hours
        if start <= hour < end and soc_pct > self.discharge_until_soc_pct:
            kw = self.discharge_fraction * self.rated_power_kw
            return Proposal(
                kw,
                "rules",
                f"evening peak {start}-{end} h and SoC {soc_pct:.0f} % > {self.discharge_until_soc_pct:.0f} %: discharge",
                inputs,
            )
        return Proposal(0.0, "rules", f"hour {hour} outside charge and peak windows: hold", inputs)
