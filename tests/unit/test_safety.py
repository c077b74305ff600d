"""SafetyGuard: limits, derating curves, interlocks and their reasons, in Spanish and English."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bessai.core.guard.safety import (
    ENGLISH,
    Reason,
    SafetyGuard,
    SafetyLimits,
    Telemetry,
    describe,
    params_of,
)

NOW = 1_000_000.0
LIMITS = SafetyLimits(
    soc_floor_pct=5,
    soc_ceiling_pct=95,
    soc_derate_band_pct=5,
    max_charge_kw=80,
    max_discharge_kw=100,
    max_ramp_kw_per_s=20,
    temp_warning_c=40,
    temp_trip_c=45,
    temp_derate_band_c=5,
    capacity_kwh=200,
    efficiency=1.0,
)


def tele(**kw: object) -> Telemetry:
    base: dict[str, object] = {
        "ts": NOW,
        "soc_pct": 50.0,
        "battery_temp_c": 25.0,
        "pack_voltage_v": 780.0,
        "pack_current_a": 0.0,
        "comms_up": True,
    }
    base.update(kw)
    return Telemetry(**base)  # type: ignore[arg-type]


@pytest.fixture
def guard() -> SafetyGuard:
    return SafetyGuard(LIMITS, device_min_kw=-100, device_max_kw=100)


def test_every_reason_is_a_code_with_english_words_and_its_values() -> None:
    """The core words reasons only in English (logs, /health); the screen translates the same
    templates (tests/gui/test_translations.py checks each has its Spanish)."""
    for reason in Reason:
        assert ENGLISH[reason]
    trip = describe(Reason.INTERLOCK_TRIP, params_of(cause="hot", temp_c=72.04, limit_c=45.0))
    assert trip == "Protection trip: battery 72.0 °C >= 45.0 °C"
    assert describe(Reason.CLAMP_RAMP, params_of(limit=20.0)) == "Ramp limited to 20.0 kW/s"
    assert describe(Reason.CLAMP_RAMP) == ENGLISH[Reason.CLAMP_RAMP]  # a value missing: the words


@pytest.mark.parametrize(
    ("soc", "charge_kw", "discharge_kw"),
    [
        (50, 80, 100),
        (92.5, 40, 100),
        (95, 0, 100),
        (99, 0, 100),
        (7.5, 80, 50),
        (5, 80, 0),
        (1, 80, 0),
    ],
)
def test_soc_derating_tapers_to_zero_at_the_limits(
    guard: SafetyGuard, soc: float, charge_kw: float, discharge_kw: float
) -> None:
    window = guard.window(tele(soc_pct=soc))
    assert window.min_kw == pytest.approx(-charge_kw)
    assert window.max_kw == pytest.approx(discharge_kw)


@pytest.mark.parametrize(
    ("temp", "factor"), [(25, 1.0), (40, 1.0), (42.5, 0.5), (44, 0.2), (45, 0.0), (50, 0.0)]
)
def test_temperature_derating_tapers_both_directions(
    guard: SafetyGuard, temp: float, factor: float
) -> None:
    window = guard.window(tele(battery_temp_c=temp))
    assert window.max_kw == pytest.approx(100 * factor)
    assert window.min_kw == pytest.approx(-80 * factor)
    if 0 < factor < 1:
        assert window.discharge_reason is Reason.CLAMP_TEMPERATURE


@pytest.mark.parametrize(
    ("requested", "telemetry", "value", "reason"),
    [
        (50.0, {}, 50.0, Reason.OK),
        (0.0, {}, 0.0, Reason.ZERO),
        (150.0, {}, 100.0, Reason.CLAMP_MAX_DISCHARGE),
        (-150.0, {}, -80.0, Reason.CLAMP_MAX_CHARGE),
        (80.0, {"soc_pct": 6.0}, 20.0, Reason.CLAMP_SOC_FLOOR),
        (-80.0, {"soc_pct": 94.0}, -16.0, Reason.CLAMP_SOC_CEILING),
        (100.0, {"battery_temp_c": 43.0}, 40.0, Reason.CLAMP_TEMPERATURE),
    ],
)
def test_clamps_carry_the_limit_that_applied(
    guard: SafetyGuard, requested: float, telemetry: dict[str, float], value: float, reason: Reason
) -> None:
    verdict = guard.evaluate(requested, tele(**telemetry), [])
    assert verdict.value_kw == pytest.approx(value)
    assert verdict.reason is reason
    assert verdict.allowed
    assert verdict.message_en
    assert dict(verdict.params)["limit"] >= 0  # the value, not a sentence, travels


def test_ramp_limits_the_step_but_never_widens_the_window(guard: SafetyGuard) -> None:
    up = guard.evaluate(100.0, tele(), [], previous_kw=0.0, dt_s=0.5)
    assert (up.value_kw, up.reason) == (10.0, Reason.CLAMP_RAMP)
    assert "20.0 kW/s" in up.message_en
    # Temperature derating tightened the window: the value drops at once, ramp or not.
    hot = guard.evaluate(100.0, tele(battery_temp_c=44.0), [], previous_kw=90.0, dt_s=0.5)
    assert hot.value_kw == pytest.approx(20.0)
    assert hot.reason is Reason.CLAMP_TEMPERATURE


def test_non_finite_setpoint_is_refused(guard: SafetyGuard) -> None:
    for bad in (math.nan, math.inf, -math.inf):
        verdict = guard.evaluate(bad, tele(), [])
        assert not verdict.allowed
        assert verdict.value_kw == 0.0
        assert verdict.reason is Reason.REFUSED_NOT_FINITE


@pytest.mark.parametrize(
    ("kwargs", "telemetry", "reason", "text"),
    [
        ({}, {"comms_up": False}, Reason.INTERLOCK_COMMS, "No communication"),
        ({}, {"ts": NOW - 6.0}, Reason.INTERLOCK_STALE, "6.0 s old"),
        ({}, {"battery_temp_c": 46.0}, Reason.INTERLOCK_TRIP, "46.0 °C"),
        ({}, {"pack_voltage_v": 950.0}, Reason.INTERLOCK_TRIP, "950.0 V"),
        ({}, {"pack_current_a": -300.0}, Reason.INTERLOCK_TRIP, "-300.0 A"),
        ({}, {"device_fault": "over_temperature"}, Reason.INTERLOCK_TRIP, "over_temperature"),
        ({"intrusion_score": 0.9}, {}, Reason.INTERLOCK_INTRUSION, "0.90"),
        ({"estop": True}, {}, Reason.INTERLOCK_ESTOP, "engineer"),
        ({"maintenance": True}, {}, Reason.INTERLOCK_MAINTENANCE, "Maintenance"),
        ({"operator_present": False}, {}, Reason.INTERLOCK_NO_OPERATOR, "logged in"),
    ],
)
def test_each_interlock_zeroes_the_setpoint_with_its_reason(
    guard: SafetyGuard,
    kwargs: dict[str, object],
    telemetry: dict[str, object],
    reason: Reason,
    text: str,
) -> None:
    t = tele(**telemetry)
    interlocks = guard.interlocks(t, NOW, **kwargs)  # type: ignore[arg-type]
    assert [i.reason for i in interlocks] == [reason]
    assert text in interlocks[0].message_en
    verdict = guard.evaluate(50.0, t, interlocks)
    assert verdict.value_kw == 0.0
    assert not verdict.allowed
    assert verdict.reason is reason


def test_no_interlock_on_healthy_fresh_data(guard: SafetyGuard) -> None:
    assert guard.interlocks(tele(ts=NOW - 4.9), NOW, intrusion_score=0.1) == []


def test_time_to_soc_limit(guard: SafetyGuard) -> None:
    # 45 % of 200 kWh above the floor at 90 kW: 1 h.
    assert guard.seconds_to_soc_limit(90.0, 50.0) == pytest.approx(3600.0)
    # 45 % below the ceiling at -45 kW: 2 h.
    assert guard.seconds_to_soc_limit(-45.0, 50.0) == pytest.approx(7200.0)
    assert guard.seconds_to_soc_limit(0.0, 50.0) is None


def test_limits_refuse_overlapping_bands() -> None:
    with pytest.raises(ValueError, match="overlap"):
        SafetyLimits(soc_floor_pct=40, soc_ceiling_pct=60, soc_derate_band_pct=15)
    with pytest.raises(ValueError, match=r"temp_warning_c 50\.0 must be below temp_trip_c 45\.0"):
        SafetyLimits(temp_warning_c=50, temp_trip_c=45)


@given(
    requested=st.floats(allow_nan=True, allow_infinity=True),
    previous=st.floats(-100, 100),
    dt=st.floats(0, 5),
    soc=st.floats(0, 100),
    temp=st.floats(-20, 60),
)
def test_any_verdict_stays_inside_the_window_and_the_ramp(
    requested: float, previous: float, dt: float, soc: float, temp: float
) -> None:
    guard = SafetyGuard(LIMITS, device_min_kw=-100, device_max_kw=100)
    t = tele(soc_pct=soc, battery_temp_c=temp)
    interlocks = guard.interlocks(t, NOW)
    verdict = guard.evaluate(requested, t, interlocks, previous_kw=previous, dt_s=dt)
    window = guard.window(t)
    assert window.min_kw - 1e-9 <= verdict.value_kw <= window.max_kw + 1e-9
    if interlocks or not math.isfinite(requested):
        assert verdict.value_kw == 0.0
    else:
        within_ramp = abs(verdict.value_kw - previous) <= LIMITS.max_ramp_kw_per_s * dt + 1e-9
        toward_zero = abs(verdict.value_kw) <= abs(previous) and verdict.value_kw * previous >= 0
        assert within_ramp or toward_zero
