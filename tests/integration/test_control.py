"""Control of the simulator through the one door: modes, lease, interlocks, E-stop, read-back, audit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode, SetpointApplied
from bessai.core.guard.safety import Reason, SafetyLimits
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.simulator.server import BessSimulator, Fault
from tests.helpers import sim_device, until

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@dataclass
class Rig:
    sim: BessSimulator
    gw: Gateway
    ctl: Controller
    operator: Session
    engineer: Session
    viewer: Session
    applied: list[SetpointApplied]

    def setpoint_writes(self) -> list[float]:
        return [
            float(v)
            for name, v in self.sim.writes
            if name == "setpoint_power_kw" and isinstance(v, float)
        ]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = BessSimulator(seed=5)
    port = await sim.start_tcp("127.0.0.1", 0)
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    for name, role in (("olga", Role.OPERATOR), ("enzo", Role.ENGINEER), ("vera", Role.VIEWER)):
        await auth.add_user(name, role, "314159", by=admin)
    limits = SafetyLimits(
        max_charge_kw=60, max_discharge_kw=80, max_ramp_kw_per_s=100, max_sample_age_s=1.0
    )
    cfg = sim_device(port)
    gw = Gateway(
        "test",
        [cfg],
        data_dir=tmp_path,
        limits=limits,
        control_interval_s=0.1,
        heartbeat_interval_s=0.5,
        auth=auth,
    )
    applied: list[SetpointApplied] = []
    gw.bus.subscribe(SetpointApplied, applied.append)
    await gw.start()
    ctl = gw.controller()
    await until(lambda: ctl.telemetry.comms_up)
    rig = Rig(
        sim,
        gw,
        ctl,
        await auth.login("olga", "314159"),
        await auth.login("enzo", "314159"),
        await auth.login("vera", "314159"),
        applied,
    )
    try:
        yield rig
    finally:
        await gw.stop()
        await sim.stop()


async def test_operator_setpoint_reaches_the_simulator_clamped_and_audited(rig: Rig) -> None:
    assert (await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)).ok
    result = await rig.ctl.command_setpoint(rig.operator, 120.0)
    assert result.ok
    assert result.reason is Reason.CLAMP_MAX_DISCHARGE
    assert result.verdict is not None
    assert result.verdict.value_kw == 80.0
    await until(lambda: rig.sim.model.setpoint_kw == pytest.approx(80.0))
    await until(lambda: rig.sim.model.power_kw > 20.0)
    assert all(abs(v) <= 80.0 for v in rig.setpoint_writes())
    actions = [(r.user, r.action, r.outcome) for r in rig.gw.audit.records()]
    assert ("olga", "mode", "ok") in actions
    assert ("olga", "setpoint", "clamped") in actions
    state = rig.ctl.state()
    remaining = state.lease_remaining_s(time.time())
    assert remaining is not None
    assert 8 * 3600 - 5 < remaining <= 8 * 3600


async def test_viewer_and_nobody_are_refused_with_reasons(rig: Rig) -> None:
    viewer = await rig.ctl.set_mode(rig.viewer, ControlMode.MANUAL)
    assert (viewer.ok, viewer.reason) == (False, Reason.REFUSED_ROLE)
    assert "viewer" in viewer.message_en
    nobody = await rig.ctl.set_mode(None, ControlMode.MANUAL)
    assert (nobody.ok, nobody.reason) == (False, Reason.INTERLOCK_NO_OPERATOR)
    standby = await rig.ctl.command_setpoint(rig.operator, 10.0)
    assert (standby.ok, standby.reason) == (False, Reason.REFUSED_MODE)
    assert rig.ctl.mode is ControlMode.STANDBY
    assert [r.outcome for r in rig.gw.audit.records() if r.action in ("mode", "setpoint")] == [
        "refused"
    ] * 3


async def test_estop_latches_and_only_an_engineer_resets_it(rig: Rig) -> None:
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    await rig.ctl.command_setpoint(rig.operator, 50.0)
    await until(lambda: rig.sim.model.setpoint_kw > 0)
    await rig.ctl.estop(rig.viewer, "screen")  # anyone may stop
    assert rig.sim.model.setpoint_kw == 0.0
    assert rig.sim.model.run_mode == 0
    assert rig.ctl.mode is ControlMode.STANDBY
    again = await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    assert (again.ok, again.reason) == (False, Reason.INTERLOCK_ESTOP)
    refused = await rig.ctl.reset_estop(rig.operator)
    assert (refused.ok, refused.reason) == (False, Reason.REFUSED_ROLE)
    assert (await rig.ctl.reset_estop(rig.engineer)).ok
    assert rig.ctl.mode is ControlMode.STANDBY  # nothing resumes by itself
    assert (await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)).ok
    assert rig.sim.model.run_mode == 1
    alarm = rig.gw.alarms.get("estop", "bess")
    assert alarm.first_out


async def test_lease_expiry_returns_to_standby(rig: Rig) -> None:
    rig.ctl.lease_s = 0.5
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    await rig.ctl.command_setpoint(rig.operator, 30.0)
    await until(lambda: rig.sim.model.setpoint_kw == pytest.approx(30.0))
    await until(lambda: rig.ctl.mode is ControlMode.STANDBY, 2.0)
    await until(lambda: rig.sim.model.setpoint_kw == 0.0)
    assert any(r.detail.get("reason") == "lease_expired" for r in rig.gw.audit.records())


async def test_trip_forces_standby_and_zero_and_nothing_resumes(rig: Rig) -> None:
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    await rig.ctl.command_setpoint(rig.operator, 40.0)
    await until(lambda: rig.sim.model.setpoint_kw == pytest.approx(40.0))
    rig.sim.model.temp_c = 46.0  # above the 45 °C trip
    await until(lambda: rig.ctl.mode is ControlMode.STANDBY)
    await until(lambda: rig.sim.model.setpoint_kw == 0.0)
    assert rig.gw.alarms.get("safety_trip", "bess").active
    refused = await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    assert (refused.ok, refused.reason) == (False, Reason.INTERLOCK_TRIP)
    assert "46" in refused.message_en
    rig.sim.model.temp_c = 30.0
    await until(lambda: not rig.ctl.current_interlocks(time.time()))
    await asyncio.sleep(0.5)
    assert rig.ctl.mode is ControlMode.STANDBY
    assert rig.setpoint_writes()[-1] == 0.0


async def test_comms_loss_then_return_never_resumes_power_by_itself(rig: Rig) -> None:
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    await rig.ctl.command_setpoint(rig.operator, 40.0)
    await until(lambda: rig.sim.model.setpoint_kw == pytest.approx(40.0))
    rig.sim.inject(Fault.NO_ANSWER)
    await until(lambda: rig.ctl.mode is ControlMode.STANDBY, 3.0)
    # A timed-out setpoint or heartbeat write may get there first; the comms alarm follows.
    await until(lambda: rig.gw.alarms.get("comms_lost", "bess").active, 3.0)
    writes_during = len(rig.setpoint_writes())
    rig.sim.inject(Fault.NO_ANSWER, False)
    await until(lambda: rig.ctl.telemetry.comms_up, 4.0)
    await asyncio.sleep(0.5)
    after = rig.setpoint_writes()[writes_during:]
    assert after
    assert all(v == 0.0 for v in after)
    assert rig.ctl.mode is ControlMode.STANDBY


async def test_stale_data_is_an_interlock(rig: Rig) -> None:
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    rig.gw.pollers["bess"].stopping = True  # polling stops, the last sample ages
    await until(
        lambda: any(
            i.reason is Reason.INTERLOCK_STALE for i in rig.ctl.current_interlocks(time.time())
        ),
        3.0,
    )
    await until(lambda: rig.ctl.mode is ControlMode.STANDBY, 1.0)
    refused = await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    assert (refused.ok, refused.reason) == (False, Reason.INTERLOCK_STALE)
    assert "s old" in refused.message_en


async def test_maintenance_lockout_and_intrusion_hook(rig: Rig) -> None:
    assert (await rig.ctl.set_maintenance(rig.operator, True)).reason is Reason.REFUSED_ROLE
    assert (await rig.ctl.set_maintenance(rig.engineer, True)).ok
    refused = await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    assert refused.reason is Reason.INTERLOCK_MAINTENANCE
    await rig.ctl.set_maintenance(rig.engineer, False)
    rig.ctl.intrusion_score = lambda: 0.95
    refused = await rig.ctl.set_mode(rig.operator, ControlMode.AUTO)
    assert refused.reason is Reason.INTERLOCK_INTRUSION
    assert "0.95" in refused.message_en


async def test_read_back_mismatch_raises_an_alarm_and_returns_to_standby(rig: Rig) -> None:
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    original = rig.sim._apply_write

    def lying_device(table: Any, address: int, values: list[int]) -> Any:
        result = original(table, address, values)
        if address == 0:
            rig.sim.inject(Fault.FROZEN)
            rig.sim.image[table][1] = 0x1234  # the register now holds something else
        return result

    rig.sim._apply_write = lying_device  # type: ignore[method-assign]
    result = await rig.ctl.command_setpoint(rig.operator, 25.0)
    assert result.ok  # accepted by the guard; the write itself fails
    await until(lambda: rig.gw.alarms.get("write_failed", "bess").active)
    assert rig.ctl.mode is ControlMode.STANDBY
    assert any(
        r.action == "setpoint_write" and r.outcome == "failed" for r in rig.gw.audit.records()
    )


async def test_preview_answers_what_would_happen(rig: Rig) -> None:
    rig.sim.model.soc_pct = 50.0
    await asyncio.sleep(0.3)
    preview = rig.ctl.preview(100.0)
    assert preview.verdict.value_kw == 80.0
    assert preview.verdict.reason is Reason.CLAMP_MAX_DISCHARGE
    # 45 % of 200 kWh above the 5 % floor at 80 kW, 96 % efficiency: ~1.08 h.
    assert preview.seconds_to_soc_limit == pytest.approx(3600 * 90 * 0.96 / 80, rel=0.02)


async def test_limits_change_needs_an_engineer_and_valid_values(rig: Rig) -> None:
    assert (
        await rig.ctl.set_limits(rig.operator, max_discharge_kw=10)
    ).reason is Reason.REFUSED_ROLE
    bad = await rig.ctl.set_limits(rig.engineer, temp_warning_c=60)
    assert bad.reason is Reason.REFUSED_LIMITS
    assert "temp_warning_c 60.0 must be below temp_trip_c 45.0" in bad.message_en
    assert (await rig.ctl.set_limits(rig.engineer, max_discharge_kw=10)).ok
    assert rig.ctl.preview(50).verdict.value_kw == 10.0
    limit_rows = [r for r in rig.gw.audit.records() if r.action == "limits"]
    assert [r.outcome for r in limit_rows] == ["refused", "refused", "ok"]
    assert limit_rows[-1].detail == {
        "old": {"max_discharge_kw": 80.0},
        "new": {"max_discharge_kw": 10},
        "device": "bess",  # every record names its device
    }


async def test_auto_mode_follows_the_dispatcher_through_the_guard(rig: Rig) -> None:
    class Always:
        def propose(self, inputs: Any) -> Any:
            from bessai.core.dispatch import Proposal

            return Proposal(500.0, "test", "always full discharge")

    rig.ctl.dispatcher = Always()
    assert (await rig.ctl.set_mode(rig.operator, ControlMode.AUTO)).ok
    await until(lambda: rig.sim.model.setpoint_kw == pytest.approx(80.0))
    assert max(rig.setpoint_writes()) == 80.0
    assert rig.ctl.state().proposal is not None


async def test_heartbeat_is_written_and_the_watchdog_stays_happy(rig: Rig) -> None:
    first = rig.sim.model.heartbeat
    await asyncio.sleep(1.2)
    assert rig.sim.model.heartbeat >= first + 2
    assert rig.sim.model.state.name == "RUNNING"


async def test_engineer_register_write_is_audited_and_control_registers_refused(rig: Rig) -> None:
    ok = await rig.ctl.write_register(rig.engineer, "ramp_rate_kw_per_s", 25.0)
    assert ok.ok
    assert rig.sim.model.params.ramp_kw_per_s == 25.0
    refused = await rig.ctl.write_register(rig.engineer, "setpoint_power_kw", 50.0)
    assert not refused.ok
    assert (
        await rig.ctl.write_register(rig.operator, "ramp_rate_kw_per_s", 5.0)
    ).reason is Reason.REFUSED_ROLE
    rows = [(r.user, r.outcome) for r in rig.gw.audit.records() if r.action == "register_write"]
    assert rows == [("enzo", "ok"), ("enzo", "refused"), ("olga", "refused")]


async def test_a_paused_heartbeat_still_lets_zero_out_on_a_trip_or_a_missing_value(
    rig: Rig,
) -> None:
    """The commissioning watchdog test pauses the heartbeat and the setpoint refresh; a trip
    or a value gone missing meanwhile still writes zero at once, and nothing resumes."""
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    await rig.ctl.command_setpoint(rig.operator, 30.0)
    await until(lambda: rig.sim.model.setpoint_kw == pytest.approx(30.0))
    rig.ctl.heartbeat_paused = True
    beats = rig.sim.model.heartbeat
    await asyncio.sleep(1.2)
    assert rig.sim.model.heartbeat == beats  # no heartbeat while paused
    rig.sim.model.temp_c = 46.0  # above the 45 °C trip
    await until(lambda: rig.sim.model.setpoint_kw == 0.0)
    assert rig.ctl.mode is ControlMode.STANDBY
    rig.sim.model.temp_c = 30.0
    await until(lambda: not rig.ctl.current_interlocks(time.time()))
    # Again, with the temperature read as its "not available" sentinel.
    rig.ctl.heartbeat_paused = False
    await rig.ctl.set_mode(rig.operator, ControlMode.MANUAL)
    await rig.ctl.command_setpoint(rig.operator, 20.0)
    await until(lambda: rig.sim.model.setpoint_kw == pytest.approx(20.0))
    rig.ctl.heartbeat_paused = True
    rig.sim.inject(Fault.NOT_AVAILABLE)
    await until(lambda: rig.sim.model.setpoint_kw == 0.0)
    assert rig.ctl.mode is ControlMode.STANDBY
    rig.sim.inject(Fault.NOT_AVAILABLE, active=False)
    await asyncio.sleep(0.5)
    assert rig.ctl.mode is ControlMode.STANDBY
    assert rig.setpoint_writes()[-1] == 0.0
