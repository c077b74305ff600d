"""What an inverter's controller learns from its batteries across the link (on a plant).

The plant (``core/plant/``) composes it from the inverter's BMS; the
controller only reads it through ``Controller.battery``, a narrow port, so
that control knows nothing of how a plant is wired.
"""

from __future__ import annotations

from dataclasses import dataclass

from bessai.core.guard.safety import Interlock

#: Why a BMS not polled yet holds its inverter at zero: an interlock, not yet an alarm.
FIRST_POLL = "waiting for the first poll"


@dataclass(frozen=True)
class BatteryInputs:
    """The batteries behind one inverter now: the emptiest and fullest rack's SoC, the hottest
    temperature, the pack's voltage and current, what the BMS allows (kW, positive) and the
    interlock when a BMS is lost, stale, unknown, open or alarmed."""

    soc_min_pct: float | None
    soc_max_pct: float | None
    temp_c: float | None
    pack_voltage_v: float | None
    pack_current_a: float | None
    charge_kw: float
    discharge_kw: float
    interlock: Interlock | None = None
