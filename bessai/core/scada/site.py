"""What the outstation needs of the site: readings with their time stamps, and two commands.

A ``Protocol``, so that the outstation does not import the gateway (which
builds it); ``bessai.core.site.scada_link`` implements it today over the
gateway's controllers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bessai.core.alarms.manager import AlarmDefinition


@dataclass(frozen=True)
class Reading:
    """One value as the site knows it: None where unknown; ``ts`` is the sample's own time
    stamp (seconds since the epoch, None if never measured); ``stale`` if it is too old
    (or its device's link is down) to be taken as current."""

    value: float | bool | None
    ts: float | None
    stale: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of a command: accepted by the guard or not, and why (English)."""

    ok: bool
    reason: str
    applied: float | None = None


class ScadaSite(Protocol):
    """The site as the grid operator's link sees it."""

    def readings(self) -> dict[str, Reading]:
        """Every source the point list may name (``SOURCES``), read now."""
        ...

    async def remote_control(self, on: bool, by: str) -> Outcome:
        """ON: the site follows the grid operator's setpoints; OFF: standby."""
        ...

    async def site_setpoint_kw(self, value: float, by: str) -> Outcome:
        """The site's active-power setpoint (+ = discharge), through the guard."""
        ...

    async def site_reactive_kvar(self, value: float, by: str) -> Outcome:
        """The site's reactive-power setpoint (kvar), through the guard, where the plant can."""
        ...

    def on_change(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` (on the event loop) when a sample or the control state is new; returns
        the unsubscribe. The outstation also reads on its own period."""
        ...

    def hold_authority(self, holder: str | None) -> None:
        """Refuse the local operator's mode and setpoint commands while ``holder`` has
        authority (None: the local operator has it again). The E-stop always works."""
        ...

    def record(self, user: str, action: str, outcome: str, **detail: Any) -> None:
        """An audit row."""
        ...

    def alarm(self, definition: AlarmDefinition, active: bool, detail: str = "") -> None:
        """Raise or clear a site alarm."""
        ...


#: The sources a point list may name, with what they are (the README's table).
SOURCES: dict[str, str] = {
    "active_power_kw": "site active power kW (+ = discharge)",
    "soc_pct": "site state of charge %",
    "allowed_discharge_kw": "discharge allowed now kW",
    "allowed_charge_kw": "charge allowed now kW (>= 0)",
    "setpoint_kw": "active-power setpoint in force kW",
    "reactive_power_kvar": "reactive power kvar (where measured)",
    "grid_frequency_hz": "grid frequency Hz (where a device reports it)",
    "remote_authority": "1 = the grid operator holds authority",
    "protection_trip": "a protection trip is active",
    "estop_latched": "an E-stop is latched",
    "comms_lost": "a device's communication is lost",
    "intrusion_lockout": "the intrusion lockout is active",
}

#: The commands a point list may name.
COMMANDS: dict[str, str] = {
    "remote_control": "ON: follow the grid operator's setpoints (remote); OFF: standby",
    "active_power_setpoint_kw": "site active-power setpoint kW (+ = discharge)",
    "reactive_power_setpoint_kvar": "site reactive-power setpoint kvar (where the plant can)",
}
