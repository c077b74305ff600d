"""The physics of a plant: PCS that drive battery racks, each rack's BMS, and the meter at the POI.

Each device is a ``BatteryModel`` so that the simulator's Modbus face serves
it unchanged; ``PlantPhysics`` couples them once per step. A PCS follows its
setpoint (ramp, run mode, watchdog) as far as its DC side allows: no power
while every rack's contactor is open. The BMS of each rack carries the
battery: its SoC and temperature follow the current the PCS draws; it
computes its charge and discharge current limits from SoC, temperature and
cell voltages, opens its contactor on an alarm, and trips on a current held
beyond its limit (the PCS does not obey the BMS by itself: that is the
gateway's job). The POI meter reads site load − PV − Σ PCS power plus the
losses between the PCS and the POI, per phase, and the grid frequency.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import IntFlag

from bessai.drivers.simulator.physics import (
    AlarmBit,
    BatteryModel,
    BatteryParams,
    DeviceState,
    Measurements,
    open_circuit_voltage_per_cell,
)


class BmsAlarm(IntFlag):
    """The rack BMS's alarm word: any bit opens the contactor (latched until a reset)."""

    OVER_TEMPERATURE = 1 << 0
    CELL_OVER_VOLTAGE = 1 << 1
    CELL_UNDER_VOLTAGE = 1 << 2
    OVER_CURRENT = 1 << 3
    UNDER_TEMPERATURE = 1 << 4
    INSULATION = 1 << 5


class BmsWarning(IntFlag):
    """The rack BMS's warning word: the limits derate, the contactor stays closed."""

    HIGH_TEMPERATURE = 1 << 0
    CELL_VOLTAGE_HIGH = 1 << 1
    CELL_VOLTAGE_LOW = 1 << 2
    SOC_HIGH = 1 << 3
    SOC_LOW = 1 << 4
    LOW_TEMPERATURE = 1 << 5


DC_NOT_READY = 1 << 7  # the PCS's alarm bit: no rack connected to its DC bus


def _ramp(value: float, zero_at: float, full_at: float) -> float:
    """1 at or beyond ``full_at``, 0 at or beyond ``zero_at``, linear between."""
    if zero_at == full_at:
        return 1.0 if value < zero_at else 0.0
    return min(1.0, max(0.0, (value - zero_at) / (full_at - zero_at)))


@dataclass
class RackParams(BatteryParams):
    """A rack of 240 LFP cells in series (200 kWh) and its BMS's limits."""

    ccl_max_a: float = 160.0
    dcl_max_a: float = 160.0
    charge_taper_soc_pct: float = 90.0  # CCL tapers from here to 0 at soc_ceiling_pct
    discharge_taper_soc_pct: float = 10.0  # DCL tapers from here to 0 at soc_floor_pct
    temp_derate_c: float = 45.0  # both limits taper from here to 0 at over_temperature_c
    charge_cold_full_c: float = 10.0  # CCL is 0 at 0 °C and full from here
    under_temperature_c: float = -20.0
    cell_voltage_high_v: float = 3.55  # CCL tapers from here to 0 at cell_voltage_trip_high_v
    cell_voltage_trip_high_v: float = 3.65
    cell_voltage_low_v: float = 2.90  # DCL tapers from here to 0 at cell_voltage_trip_low_v
    cell_voltage_trip_low_v: float = 2.50
    cell_spread_v: float = 0.005
    hot_spot_c: float = 2.0  # the hottest cell above the rack's mean, the coldest 1.5 K below
    over_current_margin_a: float = 2.0
    over_current_trip_s: float = 3.0
    soh_pct: float = 97.0


@dataclass
class RackModel(BatteryModel):
    """One battery rack and its BMS: SoC, heat and cells driven by the PCS's power."""

    params: BatteryParams = field(default_factory=RackParams)
    imposed_kw: float = 0.0  # DC power the PCS draws from this rack (+ discharge)
    contactor_forced_open: bool = False
    cell_offset_v: float = 0.0  # one cell drifted from the others (an imbalance)
    insulation_fault: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.params, RackParams):
            self.params = RackParams(**dataclasses.asdict(self.params))
        super().__post_init__()
        self.params.ramp_kw_per_s = 1e9  # the rack takes what the PCS draws, at once
        self.watchdog_timeout_s = 0.0
        self.bms_alarm = BmsAlarm(0)
        self._over_current_s = 0.0

    @property
    def rack(self) -> RackParams:
        """The rack's parameters (always RackParams: see __post_init__)."""
        p = self.params
        assert isinstance(p, RackParams)
        return p

    @property
    def contactor_closed(self) -> bool:
        return not self.bms_alarm and not self.contactor_forced_open

    def _target_kw(self) -> float:
        return self.imposed_kw if self.contactor_closed else 0.0

    def cell_voltages_v(self) -> tuple[float, float]:
        """Highest and lowest cell voltage under the present current."""
        cells = self.params.cells_in_series
        r_cell = self.params.internal_resistance_ohm / cells
        v = open_circuit_voltage_per_cell(self.soc_pct) - self.current_a * r_cell
        spread = self.rack.cell_spread_v
        high = v + spread + max(0.0, self.cell_offset_v)
        low = v - spread + min(0.0, self.cell_offset_v)
        return high, low

    def cell_temps_c(self) -> tuple[float, float]:
        return self.temp_c + self.rack.hot_spot_c, self.temp_c - 1.5

    def current_limits_a(self) -> tuple[float, float]:
        """The charge and discharge current the BMS allows now (CCL, DCL), in amperes."""
        if not self.contactor_closed:
            return 0.0, 0.0
        r = self.rack
        t_max, t_min = self.cell_temps_c()
        v_max, v_min = self.cell_voltages_v()
        hot = _ramp(t_max, r.over_temperature_c, r.temp_derate_c)
        charge = r.ccl_max_a * min(
            hot,
            _ramp(self.soc_pct, r.soc_ceiling_pct, r.charge_taper_soc_pct),
            _ramp(t_min, 0.0, r.charge_cold_full_c),
            _ramp(v_max, r.cell_voltage_trip_high_v, r.cell_voltage_high_v),
        )
        discharge = r.dcl_max_a * min(
            hot,
            _ramp(self.soc_pct, r.soc_floor_pct, r.discharge_taper_soc_pct),
            _ramp(t_min, r.under_temperature_c, r.under_temperature_c + 10.0),
            _ramp(v_min, r.cell_voltage_trip_low_v, r.cell_voltage_low_v),
        )
        return charge, discharge

    def charge_limit_kw(self) -> float:
        return self.current_limits_a()[0] * self.terminal_voltage_v() / 1000.0

    def discharge_limit_kw(self) -> float:
        return self.current_limits_a()[1] * self.terminal_voltage_v() / 1000.0

    def terminal_voltage_v(self) -> float:
        return self.pack_ocv_v - self.current_a * self.params.internal_resistance_ohm

    def step(self, dt_s: float) -> None:
        if dt_s <= 0:
            self.power_kw = self._target_kw()  # what the PCS draws now (a contactor opened)
            return
        self._track_over_current(dt_s)
        super().step(dt_s)

    def _track_over_current(self, dt_s: float) -> None:
        ccl, dcl = self.current_limits_a()
        current = 1000.0 * self._target_kw() / self.pack_ocv_v
        limit = dcl if current > 0 else ccl
        if abs(current) > 1.1 * limit + self.rack.over_current_margin_a:
            self._over_current_s += dt_s
        else:
            self._over_current_s = 0.0
        if self._over_current_s >= self.rack.over_current_trip_s:
            self.bms_alarm |= BmsAlarm.OVER_CURRENT

    def _update_alarms(self) -> None:
        r = self.rack
        t_max, t_min = self.cell_temps_c()
        v_max, v_min = self.cell_voltages_v()
        for bit, tripped in (
            (BmsAlarm.OVER_TEMPERATURE, t_max >= r.over_temperature_c),
            (BmsAlarm.UNDER_TEMPERATURE, t_min <= r.under_temperature_c),
            (BmsAlarm.CELL_OVER_VOLTAGE, v_max >= r.cell_voltage_trip_high_v),
            (BmsAlarm.CELL_UNDER_VOLTAGE, v_min <= r.cell_voltage_trip_low_v),
            (BmsAlarm.INSULATION, self.insulation_fault),
        ):
            if tripped:
                self.bms_alarm |= bit
        if self.bms_alarm:
            self.state = DeviceState.FAULT
        self._alarm = AlarmBit(0)

    def warnings(self) -> BmsWarning:
        r = self.rack
        t_max, t_min = self.cell_temps_c()
        v_max, v_min = self.cell_voltages_v()
        word = BmsWarning(0)
        for bit, on in (
            (BmsWarning.HIGH_TEMPERATURE, t_max >= r.temp_derate_c),
            (BmsWarning.LOW_TEMPERATURE, t_min <= r.charge_cold_full_c),
            (BmsWarning.CELL_VOLTAGE_HIGH, v_max >= r.cell_voltage_high_v),
            (BmsWarning.CELL_VOLTAGE_LOW, v_min <= r.cell_voltage_low_v),
            (BmsWarning.SOC_HIGH, self.soc_pct >= r.charge_taper_soc_pct),
            (BmsWarning.SOC_LOW, self.soc_pct <= r.discharge_taper_soc_pct),
        ):
            if on:
                word |= bit
        return word

    def reset_fault(self) -> None:
        """A reset clears the latched alarms whose cause is gone; the contactor closes again."""
        self.bms_alarm = BmsAlarm(0)
        self._over_current_s = 0.0
        self._update_alarms()
        if not self.bms_alarm:
            self.state = DeviceState.RUNNING

    def measure(self) -> Measurements:
        base = super().measure()
        p = self.params
        ccl, dcl = self.current_limits_a()
        v_max, v_min = self.cell_voltages_v()
        t_max, t_min = self.cell_temps_c()
        return dataclasses.replace(
            base,
            soh_pct=self.rack.soh_pct,
            active_power_kw=self._noisy(self.power_kw, p.noise_kw),
            pack_current_a=self._noisy(self.current_a, 0.02),
            cell_voltage_max_v=v_max,
            cell_voltage_min_v=v_min,
            pv_power_kw=0.0,
            load_power_kw=0.0,
            grid_power_kw=0.0,
            extras={
                **base.extras,
                "ccl_a": ccl,
                "dcl_a": dcl,
                "cell_temp_max_c": self._noisy(t_max, p.noise_c),
                "cell_temp_min_c": self._noisy(t_min, p.noise_c),
                "contactor_closed": 1.0 if self.contactor_closed else 0.0,
                "bms_alarm_word": float(int(self.bms_alarm)),
                "bms_warning_word": float(int(self.warnings())),
            },
        )


@dataclass
class PcsModel(BatteryModel):
    """A power conversion system: setpoint, ramp, run mode and watchdog over a DC bus of racks.

    Its own battery state is not used: what its DC side allows (a closed rack
    that is neither empty nor full) and the DC voltage come from its racks.
    """

    dc_voltage_v: float = 0.0
    dc_can_charge: bool = True
    dc_can_discharge: bool = True
    reactive_kvar: float = 0.0
    efficiency: float = 0.98

    @property
    def apparent_kva(self) -> float:
        return 1.1 * self.params.rated_power_kw

    def charge_limit_kw(self) -> float:
        return self.params.rated_power_kw if self.dc_can_charge else 0.0

    def discharge_limit_kw(self) -> float:
        return self.params.rated_power_kw if self.dc_can_discharge else 0.0

    def write_reactive_setpoint(self, kvar: float) -> None:
        self.reactive_setpoint_kvar = max(-self.apparent_kva, min(self.apparent_kva, kvar))

    def dc_power_kw(self) -> float:
        """What the PCS draws from its racks for its AC power (+ discharge), losses included."""
        ac = self.power_kw
        return ac / self.efficiency if ac > 0 else ac * self.efficiency

    def step(self, dt_s: float) -> None:
        super().step(dt_s)
        running = self.state is DeviceState.RUNNING and bool(self.run_mode)
        room = math.sqrt(max(0.0, self.apparent_kva**2 - self.power_kw**2))
        target = max(-room, min(room, self.reactive_setpoint_kvar)) if running else 0.0
        self.reactive_kvar = target

    def _update_alarms(self) -> None:
        if self.temp_c >= self.params.over_temperature_c:
            self._alarm |= AlarmBit.OVER_TEMPERATURE
            self.state = DeviceState.FAULT
            self.setpoint_kw = 0.0

    @property
    def alarm_word(self) -> int:
        ready = self.dc_can_charge or self.dc_can_discharge
        return int(self._alarm) | (0 if ready else DC_NOT_READY)

    def measure(self) -> Measurements:
        base = super().measure()
        p = self.params
        volts = self.dc_voltage_v
        current = 1000.0 * self.dc_power_kw() / volts if volts > 0 else 0.0
        return dataclasses.replace(
            base,
            reactive_power_kvar=self._noisy(self.reactive_kvar, p.noise_kw),
            pack_voltage_v=self._noisy(volts, p.noise_v) if volts > 0 else 0.0,
            pack_current_a=current,
            extras={
                **base.extras,
                "setpoint_reactive_power_kvar": self.reactive_setpoint_kvar,
                "cabinet_temp_c": self._noisy(self.temp_c, p.noise_c),
                "apparent_power_rating_kva": self.apparent_kva,
            },
        )


@dataclass
class MeterModel(BatteryModel):
    """The meter at the point of interconnection, fed by the plant each step."""

    load_kw: float = 60.0
    pv_kw: float | None = None  # None: the clear-sky profile on the simulated clock
    battery_kw: float = 0.0  # Σ of the PCS (and hybrid inverters) at their AC terminals
    battery_kvar: float = 0.0
    no_load_loss_kw: float = 0.4  # the transformer's, whatever flows
    loss_fraction: float = 0.01  # of the power through it
    nominal_voltage_v: float = 230.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.watchdog_timeout_s = 0.0

    def site_pv_kw(self) -> float:
        return self.solar_kw() if self.pv_kw is None else self.pv_kw

    def grid_kw(self) -> float:
        """Import at the POI (+ import): load − PV − batteries, plus the losses on the way."""
        through = abs(self.battery_kw) + self.site_pv_kw()
        losses = self.no_load_loss_kw + self.loss_fraction * through
        return self.load_kw - self.site_pv_kw() - self.battery_kw + losses

    def step(self, dt_s: float) -> None:
        if dt_s > 0:
            self.time_s += dt_s

    def measure(self) -> Measurements:
        base = super().measure()
        p = self.params
        grid = self._noisy(self.grid_kw(), p.noise_kw)
        kvar = self._noisy(0.3 * self.load_kw - self.battery_kvar, p.noise_kw)
        skew = 0.02 * self.load_kw / 3.0  # the load is not quite balanced; the sum is exact
        volts = self.nominal_voltage_v - 0.02 * grid
        return dataclasses.replace(
            base,
            active_power_kw=0.0,
            reactive_power_kvar=0.0,
            pv_power_kw=self.site_pv_kw(),
            load_power_kw=self.load_kw,
            grid_power_kw=grid,
            device_state=int(DeviceState.RUNNING),
            alarm_word=0,
            extras={
                **base.extras,
                "grid_power_l1_kw": grid / 3 + skew,
                "grid_power_l2_kw": grid / 3,
                "grid_power_l3_kw": grid / 3 - skew,
                "grid_reactive_power_kvar": kvar,
                "grid_reactive_power_l1_kvar": kvar / 3,
                "grid_reactive_power_l2_kvar": kvar / 3,
                "grid_reactive_power_l3_kvar": kvar / 3,
                "grid_voltage_l1_v": self._noisy(volts - 0.4, p.noise_v),
                "grid_voltage_l2_v": self._noisy(volts, p.noise_v),
                "grid_voltage_l3_v": self._noisy(volts + 0.4, p.noise_v),
            },
        )


@dataclass
class PlantPhysics:
    """The coupling: which PCS drives which racks, and the meter that sees them all."""

    pcs: dict[str, PcsModel] = field(default_factory=dict)
    racks_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    racks: dict[str, RackModel] = field(default_factory=dict)
    hybrids: dict[str, BatteryModel] = field(default_factory=dict)  # inverters with their own
    meters: dict[str, MeterModel] = field(default_factory=dict)

    def closed_racks(self, pcs: str) -> list[RackModel]:
        return [self.racks[r] for r in self.racks_of.get(pcs, ()) if self.racks[r].contactor_closed]

    def before_pcs_step(self) -> None:
        """Tell each PCS what its DC side allows now, and its DC voltage."""
        for name, pcs in self.pcs.items():
            closed = self.closed_racks(name)
            pcs.dc_can_charge = any(r.soc_pct < 100.0 - 1e-6 for r in closed)
            pcs.dc_can_discharge = any(r.soc_pct > 1e-6 for r in closed)
            pcs.dc_voltage_v = (
                sum(r.terminal_voltage_v() for r in closed) / len(closed) if closed else 0.0
            )
            if not closed:
                pcs.power_kw = 0.0  # no DC bus: nothing to convert, at once

    def before_rack_step(self) -> None:
        """Share each PCS's DC power among its closed racks (parallel racks, equal share)."""
        for name, pcs in self.pcs.items():
            closed = self.closed_racks(name)
            share = pcs.dc_power_kw() / len(closed) if closed else 0.0
            for rack_name in self.racks_of.get(name, ()):
                rack = self.racks[rack_name]
                rack.imposed_kw = share if rack in closed else 0.0

    def before_meter_step(self) -> None:
        """The meters see the sum of every inverter's AC power."""
        battery_kw = sum(p.power_kw for p in self.pcs.values())
        battery_kw += sum(h.power_kw for h in self.hybrids.values())
        battery_kvar = sum(p.reactive_kvar for p in self.pcs.values())
        for meter in self.meters.values():
            meter.battery_kw = battery_kw
            meter.battery_kvar = battery_kvar

    def set_grid_frequency(self, hz: float) -> None:
        for model in (*self.pcs.values(), *self.hybrids.values(), *self.meters.values()):
            model.grid_frequency_hz = hz
