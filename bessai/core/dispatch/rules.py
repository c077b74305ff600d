"""The rule-based dispatcher: time-of-use and peak shaving by SoC and hour.

It is the safe fallback of the learned dispatcher: simple enough to check by
hand. Hours are the site's local time (Chile by default): shave the site's
import above a limit whenever there is charge to spare, charge through the
solar hours when energy is cheap, discharge in the evening peak, otherwise
hold. Power is positive when discharging.
"""

from __future__ import annotations

from dataclasses import dataclass

from bessai.core.dispatch.inputs import DispatchInputs, Fallback, Proposal


@dataclass
class RuleDispatcher:
    """Fractions are of the rated power the inputs carry."""

    charge_hours: tuple[int, int] = (10, 16)
    peak_hours: tuple[int, int] = (18, 23)
    charge_fraction: float = 0.5
    discharge_fraction: float = 0.6
    charge_until_soc_pct: float = 90.0
    discharge_until_soc_pct: float = 20.0
    peak_import_kw: float | None = None

    def propose(self, inputs: DispatchInputs, fallback: Fallback | None = None) -> Proposal:
        soc = inputs.soc_pct
        hour = int(inputs.hour_local) % 24

        def proposal(kw: float, why: str) -> Proposal:
            if fallback is not None:
                why = f"{why} (fallback: {fallback.detail})"
            return Proposal(
                kw,
                "rules",
                why,
                inputs.shown(),
                dict(inputs.ages_s),
                fallback=fallback,
            )

        if soc is None:
            return proposal(0.0, "no SoC reading: hold")
        if (
            self.peak_import_kw is not None
            and inputs.load_kw is not None
            and soc > self.discharge_until_soc_pct
        ):
            excess = inputs.load_kw - (inputs.pv_kw or 0.0) - self.peak_import_kw
            if excess > 0:
                kw = min(excess, inputs.rated_power_kw)
                return proposal(
                    kw, f"site import above {self.peak_import_kw:.0f} kW: shave {kw:.1f} kW"
                )
        start, end = self.charge_hours
        if start <= hour < end and soc < self.charge_until_soc_pct:
            return proposal(
                -self.charge_fraction * inputs.rated_power_kw,
                f"solar hours {start}-{end} h and SoC {soc:.0f} % < {self.charge_until_soc_pct:.0f} %: charge",
            )
        start, end = self.peak_hours
        if start <= hour < end and soc > self.discharge_until_soc_pct:
            return proposal(
                self.discharge_fraction * inputs.rated_power_kw,
                f"evening peak {start}-{end} h and SoC {soc:.0f} % > {self.discharge_until_soc_pct:.0f} %: discharge",
            )
        return proposal(0.0, f"hour {hour} outside charge and peak windows: hold")
