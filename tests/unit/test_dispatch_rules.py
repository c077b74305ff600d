"""The rule-based dispatcher: charge in the solar hours, discharge in the evening peak, by SoC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bessai.core.dispatch import RuleDispatcher


def at(hour: int) -> float:
    return datetime(2026, 11, 27, hour, 30, tzinfo=ZoneInfo("America/Santiago")).timestamp()


@pytest.mark.parametrize(
    ("hour", "soc", "kw"),
    [
        (12, 50, -50.0),
        (12, 95, 0.0),
        (19, 50, 60.0),
        (19, 15, 0.0),
        (3, 50, 0.0),
        (None, None, 0.0),
    ],
)
def test_time_of_use_by_hour_and_soc(hour: int | None, soc: float | None, kw: float) -> None:
    proposal = RuleDispatcher(rated_power_kw=100).propose(soc, at(hour if hour is not None else 12))
    assert proposal.setpoint_kw == kw
    assert proposal.source == "rules"
    assert proposal.explanation
