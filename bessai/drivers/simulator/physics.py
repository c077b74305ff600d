"""The simulated battery: state of charge, power, pack voltage, temperature, watchdog.

Deterministic for a given seed and sequence of time steps. Power is positive
when the battery discharges (exports) and negative when it charges, as in the
core's roles.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag


class DeviceState(IntEnum):
    STANDBY = 0
    RUNNING = 1
    FAULT = 2
    WATCHDOG_STANDBY = 3


class AlarmBit(IntFlag):
    OVER_TEMPERATURE = 1 << 0
    OVER_VOLTAGE = 1 << 1
    UNDER_VOLTAGE = 1 << 2
    SOC_HIGH = 1 << 3
    SOC_LOW = 1 << 4
    WATCHDOG_EXPIRED = 1 << 5
    OVER_CURRENT = 1 << 6


@dataclass
class BatteryParams:
    """Nameplate and model constants of the simulated system (a 200 kWh / 100 kW LFP BESS)."""

    capacity_kwh: float = 200.0
    rated_power_kw: float = 100.0
    charge_efficiency: float = 0.96
    discharge_efficiency: float = 0.96
    ramp_kw_per_s: float = 50.0
    soc_floor_pct: float = 2.0
    soc_ceiling_pct: float = 98.0
    cells_in_series: int = 240
    internal_resistance_ohm: float = 0.12
    thermal_capacity_j_per_k: float = 400_000.0
    thermal_resistance_k_per_w: float = 0.01
    ambient_c: float = 25.0
    over_temperature_c: float = 55.0
    watchdog_timeout_s: float = 10.0
    noise_kw: float = 0.05
    noise_c: float = 0.02
    noise_v: float = 0.05
    start_hour: float = 12.0  # local hour of day at simulated time 0 (the solar clock)


# LFP open-circuit voltage per cell against SoC (%), interpolated linearly.
_OCV_SOC = (0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 70.0, 90.0, 95.0, 100.0)
_OCV_V = (2.90, 3.10, 3.20, 3.25, 3.27, 3.29, 3.31, 3.34, 3.38, 3.55)


def open_circuit_voltage_per_cell(soc_pct: float) -> float:
    soc = min(100.0, max(0.0, soc_pct))
    for i in range(1, len(_OCV_SOC)):
        if soc <= _OCV_SOC[i]:
            x0, x1 = _OCV_SOC[i - 1], _OCV_SOC[i]
            y0, y1 = _OCV_V[i - 1], _OCV_V[i]
            return y0 + (y1 - y0) * (soc - x0) / (x1 - x0)
    return _OCV_V[-1]


@dataclass
class Measurements:
    """What the device reports: the physics plus measurement noise."""

    soc_pct: float
    soh_pct: float
    active_power_kw: float
    reactive_power_kvar: float
    pack_voltage_v: float
    pack_current_a: float
    battery_temp_c: float
    ambient_temp_c: float
    grid_frequency_hz: float
    device_state: int
    alarm_word: int
    max_charge_power_kw: float
    max_discharge_power_kw: float
    capacity_kwh: float
    rated_power_kw: float
    energy_charged_kwh: float
    energy_discharged_kwh: float
    cell_voltage_max_v: float
    cell_voltage_min_v: float
    pv_power_kw: float
    load_power_kw: float
    grid_power_kw: float
    setpoint_power_kw: float
    run_mode: int
    watchdog: int
    watchdog_timeout_s: float
    ramp_rate_kw_per_s: float
    extras: dict[str, float] = field(default_factory=dict)


@dataclass
class BatteryModel:
    """First-order physics of a BESS, stepped by the caller's clock."""

    params: BatteryParams = field(default_factory=BatteryParams)
    seed: int = 0
    soc_pct: float = 50.0
    power_kw: float = 0.0
    temp_c: float = 25.0
    setpoint_kw: float = 0.0
    run_mode: int = 1
    state: DeviceState = DeviceState.RUNNING
    heartbeat: int = 0
    energy_charged_kwh: float = 0.0
    energy_discharged_kwh: float = 0.0
    time_s: float = 0.0
    extra_heat_w: float = 0.0
    noise_gain: float = 1.0
    grid_frequency_hz: float = 50.0  # the grid's frequency here: a test or a script steps it
    frequency_noise_hz: float = 0.005
    reactive_setpoint_kvar: float = 0.0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.temp_c = self.params.ambient_c
        self._heartbeat_changed_at = 0.0
        self.watchdog_timeout_s = self.params.watchdog_timeout_s
        self._alarm = AlarmBit(0)

    def write_setpoint(self, kw: float) -> None:
        self.setpoint_kw = max(-self.params.rated_power_kw, min(self.params.rated_power_kw, kw))
        if self.state is DeviceState.WATCHDOG_STANDBY and self.run_mode:
            self.state = DeviceState.RUNNING

    def write_reactive_setpoint(self, kvar: float) -> None:
        """A battery of its own does not model reactive power: the setpoint is only held."""
        self.reactive_setpoint_kvar = kvar

    def write_run_mode(self, mode: int) -> None:
        self.run_mode = 1 if mode else 0
        if self.run_mode and self.state in (DeviceState.STANDBY, DeviceState.WATCHDOG_STANDBY):
            self.state = DeviceState.RUNNING
        if not self.run_mode and self.state is DeviceState.RUNNING:
            self.state = DeviceState.STANDBY

    def write_heartbeat(self, value: int) -> None:
        if value != self.heartbeat:
            self.heartbeat = value
            self._heartbeat_changed_at = self.time_s
            self._alarm &= ~AlarmBit.WATCHDOG_EXPIRED

    def reset_fault(self) -> None:
        if self.state is DeviceState.FAULT and self.temp_c < self.params.over_temperature_c - 5:
            self.state = DeviceState.RUNNING if self.run_mode else DeviceState.STANDBY
            self._alarm = AlarmBit(0)

    @property
    def pack_ocv_v(self) -> float:
        return self.params.cells_in_series * open_circuit_voltage_per_cell(self.soc_pct)

    @property
    def current_a(self) -> float:
        return 1000.0 * self.power_kw / self.pack_ocv_v

    def charge_limit_kw(self) -> float:
        """Largest charging power the battery accepts now (positive number)."""
        return 0.0 if self.soc_pct >= self.params.soc_ceiling_pct else self.params.rated_power_kw

    def discharge_limit_kw(self) -> float:
        return 0.0 if self.soc_pct <= self.params.soc_floor_pct else self.params.rated_power_kw

    def _target_kw(self) -> float:
        if self.state is not DeviceState.RUNNING or not self.run_mode:
            return 0.0
        return max(-self.charge_limit_kw(), min(self.discharge_limit_kw(), self.setpoint_kw))

    def step(self, dt_s: float) -> None:
        """Advance the physics by dt_s seconds."""
        if dt_s <= 0:
            return
        p = self.params
        self.time_s += dt_s
        if (
            self.watchdog_timeout_s > 0
            and self.time_s - self._heartbeat_changed_at > self.watchdog_timeout_s
            and self.state is DeviceState.RUNNING
        ):
            self.state = DeviceState.WATCHDOG_STANDBY
            self.setpoint_kw = 0.0
            self._alarm |= AlarmBit.WATCHDOG_EXPIRED
        target = self._target_kw()
        max_delta = p.ramp_kw_per_s * dt_s
        self.power_kw += max(-max_delta, min(max_delta, target - self.power_kw))
        if self.power_kw > 0:
            energy_out = self.power_kw * dt_s / 3600.0
            self.soc_pct -= 100.0 * energy_out / p.discharge_efficiency / p.capacity_kwh
            self.energy_discharged_kwh += energy_out
        elif self.power_kw < 0:
            energy_in = -self.power_kw * dt_s / 3600.0
            self.soc_pct += 100.0 * energy_in * p.charge_efficiency / p.capacity_kwh
            self.energy_charged_kwh += energy_in
        self.soc_pct = min(100.0, max(0.0, self.soc_pct))
        heat_w = self.current_a**2 * p.internal_resistance_ohm + self.extra_heat_w
        cooling_w = (self.temp_c - p.ambient_c) / p.thermal_resistance_k_per_w
        self.temp_c += (heat_w - cooling_w) * dt_s / p.thermal_capacity_j_per_k
        self._update_alarms()

    def _update_alarms(self) -> None:
        p = self.params
        if self.temp_c >= p.over_temperature_c:
            self._alarm |= AlarmBit.OVER_TEMPERATURE
            self.state = DeviceState.FAULT
            self.setpoint_kw = 0.0
        for bit, active in (
            (AlarmBit.SOC_HIGH, self.soc_pct >= p.soc_ceiling_pct),
            (AlarmBit.SOC_LOW, self.soc_pct <= p.soc_floor_pct),
        ):
            self._alarm = (self._alarm | bit) if active else (self._alarm & ~bit)

    @property
    def alarm_word(self) -> int:
        return int(self._alarm)

    def _noisy(self, value: float, sigma: float) -> float:
        if sigma <= 0 or self.noise_gain <= 0:
            return value
        return value + self._rng.gauss(0.0, sigma * self.noise_gain)

    def solar_kw(self) -> float:
        """A clear-sky PV profile on the simulated clock (peak 80 kW at noon)."""
        hour = (self.time_s / 3600.0 + self.params.start_hour) % 24.0
        return (
            max(0.0, 80.0 * math.sin(math.pi * (hour - 6.5) / 13.0)) if 6.5 < hour < 19.5 else 0.0
        )

    def measure(self) -> Measurements:
        p = self.params
        v_cell = open_circuit_voltage_per_cell(self.soc_pct)
        pack_v = p.cells_in_series * v_cell - self.current_a * p.internal_resistance_ohm
        power = self._noisy(self.power_kw, p.noise_kw)
        pv = self.solar_kw()
        load = 60.0
        return Measurements(
            soc_pct=self.soc_pct,
            soh_pct=98.5,
            active_power_kw=power,
            reactive_power_kvar=self._noisy(0.0, p.noise_kw),
            pack_voltage_v=self._noisy(pack_v, p.noise_v),
            pack_current_a=self.current_a,
            battery_temp_c=self._noisy(self.temp_c, p.noise_c),
            ambient_temp_c=p.ambient_c,
            grid_frequency_hz=self._noisy(self.grid_frequency_hz, self.frequency_noise_hz),
            device_state=int(self.state),
            alarm_word=self.alarm_word,
            max_charge_power_kw=self.charge_limit_kw(),
            max_discharge_power_kw=self.discharge_limit_kw(),
            capacity_kwh=p.capacity_kwh,
            rated_power_kw=p.rated_power_kw,
            energy_charged_kwh=self.energy_charged_kwh,
            energy_discharged_kwh=self.energy_discharged_kwh,
            cell_voltage_max_v=v_cell + 0.004,
            cell_voltage_min_v=v_cell - 0.004,
            pv_power_kw=pv,
            load_power_kw=load,
            grid_power_kw=load - pv - power,
            setpoint_power_kw=self.setpoint_kw,
            run_mode=self.run_mode,
            watchdog=self.heartbeat,
            watchdog_timeout_s=self.watchdog_timeout_s,
            ramp_rate_kw_per_s=p.ramp_kw_per_s,
            extras={
                "runtime_total_s": self.time_s,
                **{
                    f"module_temp_{i + 1}_c": self._noisy(self.temp_c - 0.3 * (i % 4), p.noise_c)
                    for i in range(8)
                },
            },
        )
