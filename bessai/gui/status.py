"""The site's state in one sentence, and its severity, for the status strip on every page.

The most severe condition on any device wins, and the sentence names that
device: an E-stop, then a lost device, a protection trip, an intrusion
lockout, any other interlock, an intrusion alarm (all read from the site
snapshot's conditions); with none of these it says what the batteries do
together ("DISCHARGING 30.0 kW").
"""

from __future__ import annotations

from dataclasses import dataclass

from bessai.gui.bridge import (
    Alarm,
    AlarmState,
    Condition,
    ControlMode,
    Priority,
    SiteSnapshot,
)
from bessai.gui.formatting import fmt
from bessai.gui.i18n import t
from bessai.gui.reasons import cause_text, reason_text

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


def mode_text(snapshot: SiteSnapshot | None) -> str:
    """The site's mode; "Mixed" when its batteries are in different modes."""
    if snapshot is None or not snapshot.controllable:
        return t("No control")
    mode = snapshot.mode
    if mode is None:
        return t("Mixed")
    return {
        ControlMode.STANDBY: t("Standby"),
        ControlMode.MANUAL: t("Manual"),
        ControlMode.AUTO: t("Auto"),
    }[mode]


def _where(condition: Condition, others: int) -> str:
    """The device a condition is on, and how many other devices have a condition too."""
    where = condition.device or t("site")
    return where if not others else t("{0} (+{1} more)").format(where, others)


def site_status(snapshot: SiteSnapshot | None, deadband_kw: float, spanish: bool) -> SiteStatus:
    """The worst condition on the site, naming its device; else what the batteries do."""
    if snapshot is None:
        return SiteStatus(t("NO DATA YET"), "normal")
    conditions = list(snapshot.conditions)
    if conditions:
        worst = conditions[0]
        # How many other devices have something abnormal too (not this device's other causes).
        others = len({c.device for c in conditions} - {worst.device})
        if worst.code == "estop":
            latched = [c.device for c in conditions if c.code == "estop" and c.device]
            if len(latched) == len(snapshot.controllable):
                # Every battery: the strip's E-stop chip says "latched"; the sentence stays short.
                return SiteStatus(t("EMERGENCY STOP"), "trip")
            return SiteStatus(t("EMERGENCY STOP: {0}").format(", ".join(latched)), "trip")
        if worst.code == "comms_lost":
            down = [c.device or "" for c in conditions if c.code == "comms_lost"]
            return SiteStatus(t("NO COMMUNICATION: {0}").format(", ".join(down)), "trip")
        if worst.code == "trip":
            detail = cause_text(worst.params)
        elif worst.code in ("intrusion_lockout", "intrusion_alarm"):
            detail = t("score {0}").format(fmt(float(dict(worst.params).get("score", 0.0)), 2))
        else:
            detail = reason_text(worst.reason, worst.params) if worst.reason else ""
        if worst.code == "trip":
            return SiteStatus(t("TRIP {0}: {1}").format(_where(worst, others), detail), "trip")
        if worst.code == "intrusion_lockout":
            return SiteStatus(
                t("INTRUSION LOCKOUT {0}: {1}").format(_where(worst, others), detail), "trip"
            )
        if worst.code == "interlock":
            return SiteStatus(
                t("INTERLOCK {0}: {1}").format(_where(worst, others), detail), "warning"
            )
        return SiteStatus(
            t("INTRUSION ALARM {0}: {1}").format(_where(worst, others), detail), "warning"
        )
    power_kw = snapshot.power_kw.value
    if power_kw is None:
        return SiteStatus(t("NO DATA YET"), "normal")
    if abs(power_kw) < deadband_kw:
        return SiteStatus(t("IDLE"), "normal")
    if power_kw > 0:
        return SiteStatus(t("DISCHARGING {0} kW").format(fmt(power_kw)), "normal")
    return SiteStatus(t("CHARGING {0} kW").format(fmt(-power_kw)), "normal")
