"""Primary frequency response: power from the grid's frequency by a droop with a dead band.

Storage that offers frequency control to the grid (NTSyCS: *control primario
de frecuencia*) discharges when the frequency falls and charges when it
rises, in proportion to the deviation beyond a dead band:

    ΔP = -(Δf_beyond_band / f_nominal) / droop × P_rated

limited to ±``max_response_kw`` and to ``ramp_kw_per_s``. The proposal is a
setpoint like any other: the safety guard clamps it to the limits, the SoC
and temperature derating and its own ramp, and any interlock zeroes it. A
frequency that is missing or older than ``max_age_s`` gives zero power, with
the reason, never the last response held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bessai.core.dispatch.inputs import DispatchInputs, Fallback, Proposal


@dataclass
class FrequencyResponse:
    """The droop dispatcher (Auto mode with ``[dispatch] mode = "frequency"``)."""

    nominal_hz: float = 50.0
    deadband_hz: float = 0.1
    droop_pct: float = 4.0
    max_response_kw: float | None = None  # None: the rated power
    ramp_kw_per_s: float = 20.0
    max_age_s: float = 2.0
    rated_kw: float | None = None  # what the droop is a percentage of; None: the inputs' rating
    _last: tuple[float, float] | None = field(default=None, repr=False)  # (time, kW)

    def droop_kw(self, frequency_hz: float, rated_kw: float) -> float:
        """The steady-state response to a frequency (before ramp), + discharge."""
        deviation = round(frequency_hz - self.nominal_hz, 9)  # no 1e-14 Hz beyond the band
        beyond = math.copysign(max(0.0, abs(deviation) - self.deadband_hz), deviation)
        kw = -(beyond / self.nominal_hz) / (self.droop_pct / 100.0) * rated_kw
        limit = self.max_response_kw if self.max_response_kw is not None else rated_kw
        return max(-limit, min(limit, kw))

    def propose(self, inputs: DispatchInputs) -> Proposal:
        frequency = inputs.grid_frequency_hz
        age = inputs.ages_s.get("grid_frequency_hz")
        shown = {**inputs.shown(), "grid_frequency_hz": frequency}
        if frequency is None or not math.isfinite(frequency):
            return self._zero(inputs, shown, "missing_frequency", "no grid frequency reading")
        if age is not None and age > self.max_age_s:
            return self._zero(inputs, shown, "stale_frequency", f"grid frequency {age:.1f} s old")
        target = self.droop_kw(frequency, self.rated_kw or inputs.rated_power_kw)
        kw = self._ramped(inputs.now, target)
        why = (
            f"{frequency:.3f} Hz: droop {self.droop_pct:g} %, dead band ±{self.deadband_hz:g} Hz "
            f"→ {target:+.1f} kW"
        )
        if kw != target:
            why += f", ramped to {kw:+.1f} kW"
        return Proposal(kw, "frequency", why, shown, dict(inputs.ages_s), raw_output=target)

    def _ramped(self, now: float, target: float) -> float:
        if self._last is None:
            kw = (
                target
                if abs(target) <= self.ramp_kw_per_s
                else math.copysign(self.ramp_kw_per_s, target)
            )
        else:
            then, previous = self._last
            step = self.ramp_kw_per_s * max(0.0, now - then)
            kw = previous + max(-step, min(step, target - previous))
        self._last = (now, kw)
        return kw

    def _zero(
        self, inputs: DispatchInputs, shown: dict[str, float | None], code: str, detail: str
    ) -> Proposal:
        self._last = (inputs.now, 0.0)
        return Proposal(
            0.0,
            "frequency",
            f"{detail}: zero power",
            shown,
            dict(inputs.ages_s),
            fallback=Fallback(code, detail),
        )
