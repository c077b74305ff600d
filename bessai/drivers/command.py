"""Battery power commands in each vendor's dialect, from the profile's control section.

The core speaks one language: a signed setpoint in kW, positive when the
battery discharges. A device may want that as a signed register, as a
direction register plus unsigned power per direction, or as a percentage of
its rating, and may need writes to enter and leave remote control and a
refresh before it forgets the setpoint. ``PowerCommand`` does those writes,
each read back, in an order that never applies the new power in the old
direction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bessai.drivers.device import ModbusDevice, WriteRejected
from bessai.drivers.profile import Control, ControlMethod, Register, control_range_kw

log = logging.getLogger(__name__)


class PowerCommand:
    """Commands one device's battery power through its profile's control section."""

    def __init__(
        self, device: ModbusDevice, control: Control, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.device = device
        self.control = control
        self.clock = clock
        profile = device.profile
        self.setpoint: Register | None = None
        self.charge: Register | None = None
        self.discharge: Register | None = None
        if control.method in (ControlMethod.DIRECTION_MAGNITUDE, ControlMethod.WINDOW):
            self.charge = profile.by_name(control.charge_power or "")
            self.discharge = profile.by_name(control.discharge_power or "")
        else:
            self.setpoint = profile.by_name(control.setpoint or "")
        self.entered = False
        self.direction: int | None = None  # the direction value last written
        self.held_kw: float | None = None  # the window's point last written
        self.written_at: float | None = None

    @property
    def min_kw(self) -> float:
        """Most charging power the device takes (negative)."""
        return control_range_kw(self.device.profile, self.control)[0]

    @property
    def max_kw(self) -> float:
        return control_range_kw(self.device.profile, self.control)[1]

    @property
    def step_kw(self) -> float:
        """The smallest change of power the device's registers can carry."""
        if self.charge is not None and self.discharge is not None:
            return abs(
                self._to_kw(max(self._resolution(self.charge), self._resolution(self.discharge)))
            )
        assert self.setpoint is not None
        return abs(self._to_kw(self._resolution(self.setpoint)))

    def _resolution(self, register: Register) -> float:
        """One raw step of a register: its scale, times its live scale factor as last read."""
        exponent = (
            self.device.exponents.get(register.scale_factor) if register.scale_factor else None
        )
        return abs(register.scale) * (10.0**exponent if exponent is not None else 1.0)

    async def _rated_kw(self) -> float:
        """The 100 % of a percent or window control: read live when the profile names the
        register that holds it (SunSpec's WChaMax with its scale factor), else the nominal."""
        name = self.control.rated_power
        if name is None:
            assert self.control.rated_power_kw is not None
            return self.control.rated_power_kw
        rated = await self.device.read_value(name)
        if rated is None or rated <= 0:
            raise WriteRejected(
                f"{self.device.name}: the rating {name} reads {rated}: "
                "a setpoint in percent of it cannot be written"
            )
        return rated

    def _to_kw(self, value: float) -> float:
        if self.control.method in (ControlMethod.PERCENT, ControlMethod.WINDOW):
            assert self.control.rated_power_kw is not None
            return value * self.control.rated_power_kw / 100.0
        return value

    def refresh_due(self, now: float) -> bool:
        """True when an unchanged setpoint must be written again before the device forgets it."""
        refresh = self.control.refresh_s
        return (
            refresh is not None
            and self.written_at is not None
            and self.entered
            and now - self.written_at >= refresh
        )

    async def enter(self) -> None:
        for write in self.control.enter:
            await self.device.write(write.name, write.value)
        self.entered = True

    async def leave(self) -> None:
        """The writes that hand the battery back to the device's own control."""
        self.entered = False
        for write in self.control.leave:
            await self.device.write(write.name, write.value)
        self.direction = None
        self.held_kw = None

    async def apply(self, value_kw: float) -> float:
        """Write the setpoint (entering remote control first if needed); returns the power
        the device holds as read back, in kW."""
        if value_kw != 0.0 and not self.entered:
            await self.enter()
        method = self.control.method
        if method is ControlMethod.SIGNED:
            assert self.setpoint is not None
            held = await self.device.write(self.setpoint.name, value_kw)
        elif method is ControlMethod.PERCENT:
            assert self.setpoint is not None
            rated = await self._rated_kw()
            back = await self.device.write(self.setpoint.name, value_kw / rated * 100.0)
            held = None if not isinstance(back, float) else back * rated / 100.0
        elif method is ControlMethod.WINDOW:
            held = await self._window(value_kw)
        else:
            held = await self._direction_and_magnitude(value_kw)
        self.written_at = self.clock()
        return held if isinstance(held, float) else value_kw

    async def _direction_and_magnitude(self, value_kw: float) -> float:
        direction = self.control.direction
        assert direction is not None
        assert self.charge is not None
        assert self.discharge is not None
        if value_kw == 0.0:
            # Zero first: both magnitudes, then the direction to idle.
            for reg in {
                self.charge.name: self.charge,
                self.discharge.name: self.discharge,
            }.values():
                await self.device.write(reg.name, 0.0)
            await self.device.write(direction.name, direction.idle)
            self.direction = direction.idle
            return 0.0
        wanted = direction.discharge if value_kw > 0 else direction.charge
        magnitude = self.discharge if value_kw > 0 else self.charge
        if self.direction not in (None, direction.idle, wanted):
            # Turning round: idle first, so that the new magnitude never runs the old way.
            await self.device.write(direction.name, direction.idle)
            self.direction = direction.idle
        back = await self.device.write(magnitude.name, abs(value_kw))
        if self.direction != wanted or self.refresh_due(self.clock()):
            await self.device.write(direction.name, wanted)
            self.direction = wanted
        held = abs(back) if isinstance(back, float) else abs(value_kw)
        return held if value_kw > 0 else -held

    async def _window(self, value_kw: float) -> float:
        """Collapse the charge/discharge window onto the setpoint, moving the edge on the
        side of the change first, so that the power passes only through values between
        the old setpoint and the new one (and through zero when it turns round)."""
        assert self.charge is not None
        assert self.discharge is not None
        rated = await self._rated_kw()
        pct = value_kw / rated * 100.0
        upper = (self.discharge.name, pct)  # the highest power allowed: + discharge
        lower = (self.charge.name, -pct)  # minus the lowest: a charge limit
        rising = self.held_kw is None or value_kw >= self.held_kw
        backs: dict[str, float] = {}
        for name, value in (upper, lower) if rising else (lower, upper):
            back = await self.device.write(name, value)
            backs[name] = back if isinstance(back, float) else value
        low_kw = -backs[self.charge.name] * rated / 100.0
        high_kw = backs[self.discharge.name] * rated / 100.0
        self.held_kw = min(max(0.0, low_kw), high_kw)
        return self.held_kw
