"""The site's state in one sentence, and its severity, for the status strip on every page.

The most severe condition wins: an E-stop, then a lost device, a protection
trip, an intrusion lockout, any other interlock, an intrusion alarm; with none
of these the sentence says what the battery does ("DISCHARGING 30.0 kW").
"""

from __future__ import annotations

from dataclasses import dataclass

from bessai.gui.bridge import (
    Alarm,
    AlarmState,
    ControlMode,
    ControlState,
    DeviceStatus,
    IntrusionSummary,
    Priority,
    Reason,
)
from bessai.gui.formatting import fmt
from bessai.gui.i18n import t

UNACKNOWLEDGED = (AlarmState.ACTIVE_UNACK, AlarmState.CLEARED_UNACK)


@dataclass(frozen=True)
class SiteStatus:
    """What the strip shows: the sentence and its severity ("normal", "warning", "trip")."""

    sentence: str
    severity: str


def priority_severity(priority: Priority) -> str:
    """Critical and high alarms are red (trip colour), medium and low amber."""
    return "trip" if priority <= Priority.HIGH else "warning"


def alarm_badge(alarms: list[Alarm]) -> tuple[int, str]:
    """The count of alarms to deal with and the colour of the highest unacknowledged one."""
    shown = [a for a in alarms if a.active or a.state in UNACKNOWLEDGED]
    unacked = [a.definition.priority for a in shown if a.state in UNACKNOWLEDGED]
    return len(shown), priority_severity(min(unacked)) if unacked else "normal"


def mode_text(state: ControlState | None) -> str:
    if state is None:
        return t("No control")
    return {
        ControlMode.STANDBY: t("Standby"),
        ControlMode.MANUAL: t("Manual"),
        ControlMode.AUTO: t("Auto"),
    }[state.mode]


def _detail(message: str) -> str:
    """The part of an interlock message after its heading ("Protection trip: X" gives X)."""
    return message.split(": ", 1)[1] if ": " in message else message


def site_status(
    state: ControlState | None,
    statuses: list[DeviceStatus],
    intrusion: IntrusionSummary,
    power_kw: float | None,
    deadband_kw: float,
    spanish: bool,
) -> SiteStatus:
    if state is not None and state.estop_latched:
        return SiteStatus(t("EMERGENCY STOP LATCHED"), "trip")
    down = [s.name for s in statuses if not s.up]
    if down:
        return SiteStatus(t("NO COMMUNICATION: {0}").format(", ".join(down)), "trip")
    interlocks = list(state.interlocks) if state is not None else []

    def text(reason: Reason) -> str | None:
        found = next((i for i in interlocks if i.reason is reason), None)
        if found is None:
            return None
        return found.message_es if spanish else found.message_en

    trip = text(Reason.INTERLOCK_TRIP)
    if trip is not None:
        return SiteStatus(t("TRIP: {0}").format(_detail(trip)), "trip")
    score = intrusion.score
    if text(Reason.INTERLOCK_INTRUSION) is not None:
        return SiteStatus(t("INTRUSION LOCKOUT: score {0}").format(fmt(score, 2)), "trip")
    if interlocks:
        first = interlocks[0]
        return SiteStatus(
            t("INTERLOCK: {0}").format(first.message_es if spanish else first.message_en),
            "warning",
        )
    if score is not None and score >= intrusion.alarm_threshold:
        return SiteStatus(t("INTRUSION ALARM: score {0}").format(fmt(score, 2)), "warning")
    if power_kw is None:
        return SiteStatus(t("NO DATA YET"), "normal")
    if abs(power_kw) < deadband_kw:
        return SiteStatus(t("IDLE"), "normal")
    if power_kw > 0:
        return SiteStatus(t("DISCHARGING {0} kW").format(fmt(power_kw)), "normal")
    return SiteStatus(t("CHARGING {0} kW").format(fmt(-power_kw)), "normal")
