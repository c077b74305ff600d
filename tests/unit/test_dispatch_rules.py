"""The rule-based dispatcher: peak shaving, charge in the solar hours, discharge in the evening peak."""

from __future__ import annotations

import pytest

from bessai.core.dispatch import DispatchInputs, Fallback, RuleDispatcher


def inputs(
    hour: float, soc: float | None, load_kw: float | None = 40.0, pv_kw: float | None = 0.0
) -> DispatchInputs:
    return DispatchInputs(0.0, hour, soc, pv_kw, load_kw, 50.0, 100.0)


@pytest.mark.parametrize(
    ("hour", "soc", "kw"),
    [
        (12.5, 50, -50.0),
        (12.5, 95, 0.0),
        (19.5, 50, 60.0),
        (19.5, 15, 0.0),
        (3.5, 50, 0.0),
        (12.5, None, 0.0),
    ],
)
def test_time_of_use_by_hour_and_soc(hour: float, soc: float | None, kw: float) -> None:
    proposal = RuleDispatcher().propose(inputs(hour, soc))
    assert proposal.setpoint_kw == kw
    assert proposal.source == "rules"
    assert proposal.explanation
    assert proposal.fallback is None
    assert proposal.inputs["soc_pct"] == soc


def test_peak_shaving_discharges_the_import_above_the_limit_while_there_is_charge() -> None:
    rules = RuleDispatcher(peak_import_kw=50.0)
    shaved = rules.propose(inputs(3.5, 60, load_kw=90.0, pv_kw=10.0))
    assert shaved.setpoint_kw == pytest.approx(30.0)
    assert "shave" in shaved.explanation
    assert rules.propose(inputs(3.5, 60, load_kw=300.0)).setpoint_kw == 100.0
    assert rules.propose(inputs(3.5, 15, load_kw=90.0)).setpoint_kw == 0.0
    assert rules.propose(inputs(3.5, 60, load_kw=45.0)).setpoint_kw == 0.0


def test_a_fallback_says_why_in_the_explanation() -> None:
    why = Fallback("output_not_finite", "model output nan")
    proposal = RuleDispatcher().propose(inputs(19.5, 50), why)
    assert proposal.fallback == why
    assert "fallback: model output nan" in proposal.explanation
    assert proposal.setpoint_kw == 60.0
