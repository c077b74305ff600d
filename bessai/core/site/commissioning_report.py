"""What a commissioning run reports: each test's findings as codes with values, its pass
criteria each beside the figure measured, the raw series behind its plots, and the run's
whole report in the form its JSON takes.

Findings and criteria are codes, as reasons are: ``FINDINGS`` and ``CRITERIA`` word them in
English (the JSON's ``detail``, the CLI, the audit); the report's PDF words the same codes in
its own language (gui/report.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bessai import __version__
from bessai.core.guard.safety import fill

#: What a test found, in English, by code.
FINDINGS: dict[str, str] = {
    "no_answer": "no answer from the device",
    "identity_read": "{read}",
    "no_identity_text": "the profile maps no identity text",
    "no_sample": "no sample within the timeout",
    "out_of_range": "{role} {value} outside {low:g}..{high:g}",
    "refused_registers": "refused: {registers}",
    "all_in_range": "every guarded value in range",
    "no_control": "the profile has no control section: nothing to command",
    "manual_refused": "manual mode refused: {why}",
    "step_refused": "{kw:+g} kW refused: {why}",
    "step_not_reached": "{kw:+g} kW not reached within {wait_s:g} s (measured {measured})",
    "step_sign_inverted": "{kw:+g} kW measured as {measured}: sign inverted",
    "step_read_back": "{kw:+g} kW read back as {read_back}",
    "step_ok": "±{step:g} kW read back and reached, slowest in {slowest_s:.2f} s",
    "no_watchdog": "the profile declares no watchdog or setpoint timeout",
    "could_not_start": "could not start at {kw:g} kW",
    "still_running": "still running {waited_s:g} s after the heartbeat stopped",
    "fell_to_standby": (
        "fell to standby {fall_s:.1f} s after the heartbeat stopped (timeout {timeout_s:g} s)"
    ),
    "no_trip_value": "no battery temperature or pack voltage to trip on",
    "limit_refused": "tightened limit refused: {why}",
    "no_trip": "no trip seen after the limit was tightened",
    "trip_seen": (
        "trip on {quantity} {value:g} {unit} seen, zero written in {trip_s:.2f} s, the device at "
        "zero {at_zero_s} s after the change; limits restored"
    ),
    "not_restored": "trip seen, but the limits could not be restored",
    "link_did_not_drop": "the link did not drop within {wait_s:g} s",
    "link_back": (
        "loss seen {seen_s:.1f} s after the last sample; back after {back_s:.1f} s, still in "
        "Standby"
    ),
    "link_not_back": "loss seen {seen_s:.1f} s after the last sample; did not come back",
    "test_broke": "{error}",
}

#: The quantities an interlock test trips on, in English.
QUANTITIES = {"battery_temperature": "battery temperature", "pack_voltage": "pack voltage"}

#: Each pass criterion, in English, by code (its limit's values filled in).
CRITERIA: dict[str, str] = {
    "answers": "the device answers with a sample",
    "in_range": "{role} within {low:g}..{high:g}",
    "poll_quality": "no register refused, quality not bad",
    "reached": "{kw:+g} kW reached within ±{tolerance_kw:g} kW in {limit_s:g} s",
    "sign": "{kw:+g} kW measured with the setpoint's sign",
    "read_back": "{kw:+g} kW read back within ±{tolerance_kw:g} kW",
    "fall": "standby within {limit_s:g} s of the heartbeat stopping (timeout {timeout_s:g} s)",
    "zero_written": "zero written within {limit_s:g} s of the tightened limit",
    "device_at_zero": "the device's power at zero within {limit_s:g} s of the trip",
    "restored": "limits restored after the test",
    "loss_seen": "the link's loss seen within {limit_s:g} s",
    "standby_after": "still in Standby once the link is back",
}


@dataclass(frozen=True)
class Finding:
    """One thing a test found: a code of ``FINDINGS`` and its values."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def english(self) -> str:
        values = dict(self.values)
        if "quantity" in values:
            values["quantity"] = QUANTITIES.get(values["quantity"], values["quantity"])
        return fill(FINDINGS.get(self.code, self.code), values)


@dataclass(frozen=True)
class Criterion:
    """A pass criterion (a code of ``CRITERIA`` and its limit's values) beside the figure
    measured for it, in ``unit``; ``passed`` None: not measured."""

    code: str
    values: dict[str, Any]
    measured: float | str | None
    unit: str
    passed: bool | None


@dataclass
class TestResult:
    """One test: passed, failed, or not run (None), with what it found, its criteria, the
    figures it measured and the raw series behind its plot (columns of equal length)."""

    name: str
    passed: bool | None
    findings: list[Finding]
    figures: dict[str, Any] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)  # marks on the plot, s from start
    started_at: float = 0.0
    duration_s: float = 0.0

    @property
    def detail(self) -> str:
        """The findings in English."""
        return "; ".join(f.english for f in self.findings)


def verdict(
    name: str,
    passed: bool | None,
    *findings: Finding,
    figures: dict[str, Any] | None = None,
    criteria: list[Criterion] | None = None,
) -> TestResult:
    """A test's result saying ``findings``."""
    return TestResult(name, passed, list(findings), figures or {}, criteria or [])


def found(code: str, **values: Any) -> Finding:
    return Finding(code, values)


NO_CONTROL = found("no_control")


@dataclass
class CommissioningReport:
    """Everything a commissioning report shows, in the form its JSON takes."""

    site_id: str
    device: str
    endpoint: str
    identity: dict[str, Any]
    profile: dict[str, Any]
    limits: dict[str, Any]
    user: str
    role: str
    started_at: float
    finished_at: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    audit_head_seq: int = 0
    audit_head_hash: str = ""
    software: str = f"bessai-edge {__version__}"
    id: str = ""
    # The power registers this run measured and the site now trusts (empty unless it passed).
    verified: list[str] = field(default_factory=list)
    verification_error: str = ""

    @property
    def passed(self) -> bool:
        return all(t.passed is not False for t in self.tests) and any(t.passed for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        for test, result in zip(data["tests"], self.tests, strict=True):
            test["detail"] = result.detail
        return data
