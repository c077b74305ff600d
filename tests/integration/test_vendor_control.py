"""Every shipped profile commands its battery in its vendor's dialect, against the simulator over TCP.

The simulator honours each profile's control section as the device does:
enter writes, direction and magnitude or a signed or percent register, the
refresh timeout after which it falls back, and the leave writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from pymodbus.constants import ExcCodes

from bessai.core.alarms.manager import AlarmState
from bessai.core.config.settings import DeviceConfig
from bessai.core.control.events import ControlMode
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.command import PowerCommand
from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.profile import RegisterType, Table
from bessai.drivers.profile import Role as Quantity
from bessai.drivers.profile_loader import load_profile, registry_ids
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import until

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
CONTROLLED = [p for p in registry_ids() if load_profile(p).effective_control is not None]
WITH_TIMEOUT = [p for p in CONTROLLED if (c := load_profile(p).control) and c.timeout_s]
# Commanded on its own: a battery that reports its SoC. A PCS without one (sim_pcs) is
# commanded with its BMS, in the plant tests.
ON_ITS_OWN = [p for p in CONTROLLED if load_profile(p).by_role(Quantity.SOC_PCT) is not None]
MEASURING = {Quantity.GRID_POWER_KW, Quantity.CCL_A, Quantity.MAX_CHARGE_POWER_KW}


def test_every_shipped_profile_can_be_commanded_or_is_a_meter_or_bms() -> None:
    for profile_id in sorted(set(registry_ids()) - set(CONTROLLED)):
        roles = set(load_profile(profile_id).roles_of({}))
        assert roles & {q.value for q in MEASURING}, profile_id
        assert Quantity.SETPOINT_POWER_KW.value not in roles, profile_id
    assert set(ON_ITS_OWN) >= {"sim_bess", "sma_sunny_island", "victron_gx_system"}


@pytest.fixture
async def operator(tmp_path: Path) -> AsyncIterator[tuple[AuthService, Session]]:
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    # An engineer: several vendors' power registers are unverified (Manual on her confirmation).
    await auth.add_user("olga", Role.ENGINEER, "314159", by=await auth.login("ana", "271828"))
    yield auth, await auth.login("olga", "314159")
    auth.close()


@pytest.mark.parametrize("profile_id", ON_ITS_OWN)
async def test_plus_and_minus_3_kw_are_followed_and_standby_hands_the_battery_back(
    profile_id: str, tmp_path: Path, operator: tuple[AuthService, Session]
) -> None:
    auth, olga = operator
    profile = load_profile(profile_id)
    sim = BessSimulator(profile, seed=4)
    port = await sim.start_tcp("127.0.0.1", 0)
    cfg = DeviceConfig(
        name="bess", profile=profile_id, host="127.0.0.1", port=port, poll_interval_s=0.2
    )
    gw = Gateway("matrix", [cfg], data_dir=tmp_path, control_interval_s=0.1, auth=auth)
    assert Quantity.ACTIVE_POWER_KW.value in profile.roles_of({})  # a register's or a sum's
    await gw.start()
    try:
        ctl = gw.controller()
        await until(lambda: ctl.telemetry.comms_up, 10.0, "first sample")
        assert (await ctl.set_mode(olga, ControlMode.MANUAL, confirm_unverified=True)).ok
        for target in (3.0, -3.0):
            result = await ctl.command_setpoint(olga, target)
            assert result.ok, (result.reason, result.message_en)

            def measured(want: float = target) -> bool:
                sample = gw.statuses()[0].last_sample
                value = None if sample is None else sample.roles.get("active_power_kw")
                return value is not None and abs(value - want) < 0.3

            await until(measured, 10.0, f"{profile_id} at {target:+} kW as read back by a poll")
            assert sim.model.power_kw == pytest.approx(target, abs=0.2)
        assert (await ctl.set_mode(olga, ControlMode.STANDBY)).ok
        await until(lambda: abs(sim.model.power_kw) < 0.05, 10.0, "zero power in Standby")
        control = profile.control
        if control is not None and control.leave:
            await until(lambda: not ctl.command.entered, 5.0, "leave sequence")  # type: ignore[union-attr]
            power_registers = set(control.register_names()) - {
                w.name for w in (*control.enter, *control.leave)
            }
            last_zero = max(
                i for i, (name, v) in enumerate(sim.writes) if name in power_registers and v == 0.0
            )
            after = [name for name, _ in sim.writes[last_zero:]]
            assert {w.name for w in control.leave} <= set(after), after
            if any(
                w.name == e.name and w.value != e.value
                for w in control.leave
                for e in control.enter
            ):
                assert not sim.in_remote_control()
    finally:
        await gw.stop()
        await sim.stop()


@pytest.mark.parametrize("profile_id", WITH_TIMEOUT)
async def test_the_device_falls_back_when_the_setpoint_is_not_refreshed(profile_id: str) -> None:
    now = [1000.0]
    profile = load_profile(profile_id)
    control = profile.control
    assert control is not None
    assert control.timeout_s is not None
    sim = BessSimulator(profile, seed=6, clock=lambda: now[0], step_hz=0)
    port = await sim.start_tcp("127.0.0.1", 0)
    device = ModbusDevice("bess", profile, TcpEndpoint("127.0.0.1", port))
    command = PowerCommand(device, control, clock=lambda: now[0])
    try:
        assert await command.apply(3.0) == pytest.approx(3.0, abs=0.01)
        assert sim.model.setpoint_kw == pytest.approx(3.0, abs=0.01)
        now[0] += control.timeout_s * 0.9
        sim.step(0.1)
        assert sim.model.setpoint_kw == pytest.approx(3.0, abs=0.01)  # not yet
        assert command.refresh_due(now[0])  # the gateway would have rewritten it by now
        now[0] += control.timeout_s * 0.2
        sim.step(0.1)
        assert sim.fell_back
        assert sim.model.setpoint_kw == 0.0
        await command.apply(3.0)  # a refresh brings it back
        assert not sim.fell_back
        assert sim.model.setpoint_kw == pytest.approx(3.0, abs=0.01)
    finally:
        await device.close()
        await sim.stop()


@pytest.mark.parametrize("profile_id", registry_ids())
async def test_sentinels_read_as_missing_values(profile_id: str) -> None:
    profile = load_profile(profile_id)
    sim = BessSimulator(profile, step_hz=0, seed=2)
    declared = [r for r in profile.registers if r.not_available and not r.table.is_bit]
    if not declared:
        # A meter of floats only: not-a-number is its "not available", read as missing.
        declared = [r for r in profile.registers if r.role is not None]
        assert declared, profile_id
        assert all(r.type is RegisterType.F32 for r in declared), profile_id
    for reg in declared:
        if reg.not_available:
            sim.overrides[reg.name] = sim.sentinel_words_of(reg)
        else:
            sim.overrides[reg.name] = [0x7FC0, 0x0000]
    sim.refresh_image()
    port = await sim.start_tcp("127.0.0.1", 0)
    device = ModbusDevice("dev", profile, TcpEndpoint("127.0.0.1", port))
    try:
        result = await device.poll()
    finally:
        await device.close()
        await sim.stop()
    assert {r.name: result.values[r.name] for r in declared} == {r.name: None for r in declared}


async def test_turning_round_goes_through_idle_before_the_new_magnitude() -> None:
    """On a shared magnitude register (Sungrow) the new power never runs the old way."""
    profile = load_profile("sungrow_sh_rt")
    control = profile.control
    assert control is not None
    assert control.direction is not None
    assert control.charge_power == control.discharge_power
    sim = BessSimulator(profile, step_hz=0, seed=2)
    port = await sim.start_tcp("127.0.0.1", 0)
    device = ModbusDevice("dev", profile, TcpEndpoint("127.0.0.1", port))
    command = PowerCommand(device, control)
    try:
        await command.apply(3.0)
        assert sim.commanded_kw() == pytest.approx(3.0)
        at = len(sim.writes)
        commanded = []
        sim_apply = sim._apply_write

        def watch(*args: object) -> object:
            out = sim_apply(*args)  # type: ignore[arg-type]
            commanded.append(sim.commanded_kw())
            return out

        sim._apply_write = watch  # type: ignore[method-assign]
        assert await command.apply(-2.0) == pytest.approx(-2.0)
        names = [(n, v) for n, v in sim.writes[at:]]
        assert names == [
            (control.direction.name, float(control.direction.idle)),
            (control.charge_power, 2.0),
            (control.direction.name, float(control.direction.charge)),
        ]
        assert commanded == [0.0, 0.0, pytest.approx(-2.0)]  # never +2 kW on the way
        assert await command.apply(0.0) == 0.0
        assert sim.commanded_kw() == 0.0
    finally:
        await device.close()
        await sim.stop()


async def test_a_window_moves_its_edge_on_the_side_of_the_change_first() -> None:
    """SunSpec 124 (Fronius): from +3 kW to -2 kW the power passes 0, never above +3 or
    below -2, and rising again moves the discharge edge first."""
    profile = load_profile("fronius_gen24_plus")
    control = profile.control
    assert control is not None
    sim = BessSimulator(profile, step_hz=0, seed=2)
    port = await sim.start_tcp("127.0.0.1", 0)
    device = ModbusDevice("dev", profile, TcpEndpoint("127.0.0.1", port))
    command = PowerCommand(device, control)
    commanded: list[float] = []
    sim_apply = sim._apply_write

    def watch(*args: object) -> object:
        out = sim_apply(*args)  # type: ignore[arg-type]
        commanded.append(round(sim.commanded_kw(), 6))
        return out

    sim._apply_write = watch  # type: ignore[method-assign]
    try:
        assert await command.apply(3.0) == pytest.approx(3.0)
        commanded.clear()
        assert await command.apply(-2.0) == pytest.approx(-2.0)
        assert commanded == [0.0, -2.0]
        commanded.clear()
        assert await command.apply(1.0) == pytest.approx(1.0)
        assert commanded == [0.0, 1.0]
        commanded.clear()
        assert await command.apply(0.5) == pytest.approx(0.5)
        assert commanded == [0.5, 0.5]  # the lower edge first: never above 1 nor below 0.5
        assert await command.apply(0.0) == 0.0
        assert sim.commanded_kw() == 0.0
    finally:
        await device.close()
        await sim.stop()


async def test_a_refused_enter_write_leaves_zero_power_and_says_so(
    tmp_path: Path, operator: tuple[AuthService, Session]
) -> None:
    """SMA: the unit refuses 40151 = 802 (remote control). The setpoint is not written, the
    mode drops to Standby, zero goes out, the alarm says why, and nothing resumes."""
    auth, olga = operator
    profile = load_profile("sma_sunny_island")
    sim = BessSimulator(profile, seed=4)
    real = sim._apply_write

    def refusing(table: Table, address: int, values: list[int]) -> ExcCodes | None:
        if address == profile.by_name("external_control").address:
            return ExcCodes.DEVICE_FAILURE
        return real(table, address, values)

    sim._apply_write = refusing  # type: ignore[method-assign]
    port = await sim.start_tcp("127.0.0.1", 0)
    cfg = DeviceConfig(name="bess", profile="sma_sunny_island", host="127.0.0.1", port=port)
    gw = Gateway("refused", [cfg], data_dir=tmp_path, control_interval_s=0.1, auth=auth)
    await gw.start()
    try:
        ctl = gw.controller()
        await until(lambda: ctl.telemetry.comms_up, 10.0, "first sample")
        assert (await ctl.set_mode(olga, ControlMode.MANUAL, confirm_unverified=True)).ok
        await ctl.command_setpoint(olga, 3.0)
        await until(lambda: ctl.mode is ControlMode.STANDBY, 5.0, "Standby after the refusal")
        # Raised, then cleared by the zero write that followed; it waits for an acknowledgement.
        assert gw.alarms.get("write_failed", "bess").state in (
            AlarmState.ACTIVE_UNACK,
            AlarmState.CLEARED_UNACK,
        )
        assert sim.model.setpoint_kw == 0.0
        assert not sim.in_remote_control()
        await asyncio.sleep(1.0)  # nothing resumes by itself
        assert ctl.mode is ControlMode.STANDBY
        assert sim.model.setpoint_kw == 0.0
        assert ("setpoint_write", "failed") in [(r.action, r.outcome) for r in gw.audit.records()]
    finally:
        await gw.stop()
        await sim.stop()
