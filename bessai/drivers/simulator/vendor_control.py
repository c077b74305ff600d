"""The device side of a profile's control section, as the simulator plays it.

The unit obeys remote setpoints only while every ``enter`` write holds its
value; it reads the power the control registers ask for in the vendor's
dialect (signed, direction and magnitude, percent, or a charge/discharge
window); and it drops the setpoint when no control write came within the
section's timeout, until the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bessai.drivers.profile import Control, ControlMethod

log = logging.getLogger(__name__)


class VendorControl:
    """What the control registers (held in ``values``) command, and when the unit lets go."""

    def __init__(
        self,
        control: Control | None,
        values: dict[str, float | str],
        clock: Callable[[], float],
    ) -> None:
        self.control = control
        self.values = values
        self.clock = clock
        self.registers: set[str] = set(control.register_names()) if control else set()
        self.written_at: float | None = None  # when the unit last heard a control write
        self.fell_back = False
        if control is not None:
            # At power-up the unit runs its own mode: the leave values, the direction idle.
            for write in control.leave:
                values[write.name] = write.value
            if control.direction is not None:
                values[control.direction.name] = float(control.direction.idle)

    def heard(self) -> None:
        """A control register was written: the setpoint is fresh again."""
        self.written_at = self.clock()
        self.fell_back = False

    def in_remote_control(self) -> bool:
        control = self.control
        if control is None:
            return True
        return all(self.values.get(w.name) == w.value for w in control.enter)

    def _value(self, name: str | None) -> float:
        held = self.values.get(name or "", 0.0)
        return held if isinstance(held, float) else 0.0

    def commanded_kw(self) -> float:
        """The signed power (+ discharge) the control registers ask for now."""
        control = self.control
        if control is None or self.fell_back or not self.in_remote_control():
            return 0.0
        value = self._value
        if control.method is ControlMethod.WINDOW:
            rated = control.rated_power_kw or 0.0
            low = -value(control.charge_power) * rated / 100.0
            high = value(control.discharge_power) * rated / 100.0
            return 0.0 if low > high else min(max(0.0, low), high)
        if control.direction is not None:
            direction = value(control.direction.name)
            if direction == control.direction.discharge:
                return value(control.discharge_power)
            if direction == control.direction.charge:
                return -value(control.charge_power)
            return 0.0
        if control.rated_power_kw is not None:
            return value(control.setpoint) * control.rated_power_kw / 100.0
        return value(control.setpoint)

    def timed_out(self) -> bool:
        """True once, when the setpoint was not rewritten within the timeout."""
        control = self.control
        if (
            control is None
            or control.timeout_s is None
            or self.written_at is None
            or self.fell_back
        ):
            return False
        if self.clock() - self.written_at > control.timeout_s:
            self.fell_back = True
            log.info("control not refreshed within %.0f s: falling back", control.timeout_s)
            return True
        return False
