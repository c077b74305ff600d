"""The droop: dead band, sign, limits, ramp, and zero power on a missing or stale frequency."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bessai.core.config.settings import DispatchSettings
from bessai.core.dispatch.frequency import FrequencyResponse
from bessai.core.dispatch.inputs import DispatchInputs


def inputs(frequency_hz: float | None, now: float = 100.0, age_s: float = 0.1) -> DispatchInputs:
    return DispatchInputs(
        now=now,
        hour_local=12.0,
        soc_pct=50.0,
        pv_kw=0.0,
        load_kw=0.0,
        price_usd_mwh=50.0,
        rated_power_kw=100.0,
        ages_s={"grid_frequency_hz": age_s},
        grid_frequency_hz=frequency_hz,
    )


def test_the_droop_is_zero_in_the_dead_band_and_proportional_beyond_it() -> None:
    droop = FrequencyResponse(deadband_hz=0.1, droop_pct=4.0)
    assert droop.droop_kw(50.0, 100.0) == 0.0
    assert droop.droop_kw(49.95, 100.0) == 0.0
    assert droop.droop_kw(50.1, 100.0) == 0.0
    # 0.2 Hz beyond the band = 0.4 % of 50 Hz; a 4 % droop gives 10 % of the rating.
    assert droop.droop_kw(49.7, 100.0) == pytest.approx(10.0)  # low frequency: discharge
    assert droop.droop_kw(50.3, 100.0) == pytest.approx(-10.0)  # high frequency: charge
    assert droop.droop_kw(49.5, 100.0) == pytest.approx(2 * droop.droop_kw(49.7, 100.0))
    assert droop.droop_kw(45.0, 100.0) == pytest.approx(100.0)  # at most the rating
    limited = FrequencyResponse(max_response_kw=15.0)
    assert limited.droop_kw(48.0, 100.0) == pytest.approx(15.0)
    assert limited.droop_kw(52.0, 100.0) == pytest.approx(-15.0)


def test_the_response_ramps_and_says_why() -> None:
    droop = FrequencyResponse(deadband_hz=0.0, droop_pct=4.0, ramp_kw_per_s=10.0)
    first = droop.propose(inputs(50.0, now=0.0))
    assert first.setpoint_kw == 0.0
    step = droop.propose(inputs(49.2, now=1.0))  # wants +40 kW
    assert step.raw_output == pytest.approx(40.0)
    assert step.setpoint_kw == pytest.approx(10.0)  # 10 kW/s for 1 s
    later = droop.propose(inputs(49.2, now=3.5))
    assert later.setpoint_kw == pytest.approx(35.0)
    assert "49.200 Hz" in later.explanation
    assert "ramped" in later.explanation
    assert later.source == "frequency"
    assert later.inputs["grid_frequency_hz"] == pytest.approx(49.2)


def test_a_missing_or_stale_frequency_gives_zero_power_with_the_reason() -> None:
    droop = FrequencyResponse()
    held = droop.propose(inputs(49.0, now=0.0))
    assert held.setpoint_kw > 0
    missing = droop.propose(inputs(None, now=0.5))
    assert missing.setpoint_kw == 0.0
    assert missing.fallback is not None
    assert missing.fallback.code == "missing_frequency"
    stale = droop.propose(inputs(49.0, now=1.0, age_s=5.0))
    assert stale.setpoint_kw == 0.0
    assert stale.fallback is not None
    assert "5.0 s old" in stale.fallback.detail


def test_bad_frequency_settings_are_refused_with_their_field() -> None:
    settings = DispatchSettings.model_validate(
        {"mode": "frequency", "frequency": {"droop_pct": 5.0, "deadband_hz": 0.05}}
    )
    assert settings.frequency.droop_pct == 5.0
    with pytest.raises(ValidationError) as bad:
        DispatchSettings.model_validate({"mode": "frequency", "frequency": {"droop_pct": 0}})
    assert "frequency.droop_pct" in str(bad.value).replace("\n", ".").replace(" ", "")
    with pytest.raises(ValidationError):
        DispatchSettings.model_validate({"frequency": {"nominal_hz": 60.0, "gain": 2}})
