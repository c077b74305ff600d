"""The simulated battery follows physics and is deterministic for a seed and a clock."""

from __future__ import annotations

import pytest

from bessai.drivers.simulator.physics import AlarmBit, BatteryModel, BatteryParams, DeviceState


def run(model: BatteryModel, seconds: float, dt: float = 0.1) -> None:
    for _ in range(round(seconds / dt)):
        model.step(dt)
        model.write_heartbeat(model.heartbeat + 1)


def test_soc_integrates_power_over_capacity_with_efficiency() -> None:
    p = BatteryParams(
        capacity_kwh=100.0, ramp_kw_per_s=1e9, discharge_efficiency=0.9, charge_efficiency=0.9
    )
    m = BatteryModel(params=p, soc_pct=50.0)
    m.write_setpoint(36.0)
    run(m, 360.0)  # 36 kW for 0.1 h = 3.6 kWh out, 4 kWh drawn from the cells
    assert m.soc_pct == pytest.approx(46.0, abs=0.01)
    m.write_setpoint(-36.0)
    run(m, 360.0)  # 3.6 kWh in, 3.24 kWh stored
    assert m.soc_pct == pytest.approx(49.24, abs=0.01)


def test_power_follows_setpoint_with_ramp_limit() -> None:
    m = BatteryModel(params=BatteryParams(ramp_kw_per_s=10.0))
    m.write_setpoint(50.0)
    run(m, 1.0)
    assert m.power_kw == pytest.approx(10.0)
    run(m, 10.0)
    assert m.power_kw == pytest.approx(50.0)


def test_setpoint_is_capped_at_rated_power() -> None:
    m = BatteryModel(params=BatteryParams(rated_power_kw=100.0, ramp_kw_per_s=1e9))
    m.write_setpoint(250.0)
    run(m, 1.0)
    assert m.power_kw == pytest.approx(100.0)


def test_discharge_stops_at_soc_floor_and_charge_at_ceiling() -> None:
    p = BatteryParams(capacity_kwh=10.0, ramp_kw_per_s=1e9, soc_floor_pct=5.0, soc_ceiling_pct=95.0)
    m = BatteryModel(params=p, soc_pct=6.0)
    m.write_setpoint(50.0)
    run(m, 60.0)
    assert m.soc_pct <= 5.0
    assert m.power_kw == 0.0
    assert m.alarm_word & AlarmBit.SOC_LOW
    m.soc_pct = 94.9
    m.write_setpoint(-50.0)
    run(m, 60.0)
    assert m.soc_pct == pytest.approx(95.0, abs=0.2)
    assert m.power_kw == 0.0


def test_pack_voltage_rises_with_soc_and_sags_under_discharge() -> None:
    low, high = BatteryModel(soc_pct=10.0), BatteryModel(soc_pct=90.0)
    assert high.measure().pack_voltage_v > low.measure().pack_voltage_v
    m = BatteryModel(params=BatteryParams(ramp_kw_per_s=1e9, noise_v=0.0))
    rest = m.measure().pack_voltage_v
    m.write_setpoint(-100.0)  # charging: current negative, voltage above OCV
    run(m, 0.1)
    assert m.measure().pack_voltage_v > rest


def test_temperature_rises_with_current_and_relaxes_to_ambient() -> None:
    m = BatteryModel(params=BatteryParams(ramp_kw_per_s=1e9, noise_c=0.0, capacity_kwh=10_000.0))
    m.write_setpoint(100.0)
    run(m, 1800.0, dt=1.0)
    hot = m.temp_c
    assert hot > m.params.ambient_c + 3.0
    m.write_setpoint(0.0)
    run(m, 3600.0, dt=1.0)
    assert m.params.ambient_c < m.temp_c < hot


def test_watchdog_drops_to_standby_when_heartbeat_stops() -> None:
    m = BatteryModel(params=BatteryParams(watchdog_timeout_s=5.0, ramp_kw_per_s=1e9))
    m.write_setpoint(40.0)
    run(m, 3.0)
    assert m.state is DeviceState.RUNNING
    for _ in range(60):
        m.step(0.1)  # no heartbeat
    assert m.state is DeviceState.WATCHDOG_STANDBY
    assert m.setpoint_kw == 0.0
    assert m.power_kw == 0.0
    assert m.alarm_word & AlarmBit.WATCHDOG_EXPIRED


def test_over_temperature_trips_to_fault_and_zero_power() -> None:
    m = BatteryModel(params=BatteryParams(ramp_kw_per_s=1e9))
    m.write_setpoint(50.0)
    m.extra_heat_w = 400_000.0
    run(m, 120.0, dt=1.0)
    assert m.state is DeviceState.FAULT
    assert m.alarm_word & AlarmBit.OVER_TEMPERATURE
    assert m.power_kw == 0.0


def test_same_seed_and_steps_give_the_same_measurements() -> None:
    a, b, c = BatteryModel(seed=3), BatteryModel(seed=3), BatteryModel(seed=4)
    for m in (a, b, c):
        m.write_setpoint(20.0)
        run(m, 5.0)
    assert a.measure() == b.measure()
    assert a.measure() != c.measure()
