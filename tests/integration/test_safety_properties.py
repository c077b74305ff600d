"""Property: whatever commands, telemetry and faults arrive, nothing unsafe reaches the simulator.

A hypothesis state machine drives a Controller against the simulator served
on 127.0.0.1 (its own event loop per example, a fake clock) and checks every
setpoint the simulator received: inside the limits, inside the ramp (or
moving toward zero), never non-zero while an interlock holds or a guarded
measurement is unknown (missing, a sentinel, implausible, refused), never
non-zero after an interlock until an operator commands again, never charging
at the SoC ceiling nor discharging at the floor; and the zero write of a
forced standby or an E-stop always reaches the device before its audit
record, even while the audit store fails.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bessai.core.alarms.manager import AlarmManager
from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode, SetpointApplied, SetpointRequested
from bessai.core.dispatch import Proposal
from bessai.core.guard.safety import SafetyGuard, SafetyLimits
from bessai.core.polling.scheduler import DevicePoller
from bessai.core.runtime.bus import EventBus
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import AuthService, Role
from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.profile import Role as RegisterRole
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.server import BessSimulator, Fault

# Forty examples of thirty steps against a real server take about a minute here.
pytestmark = pytest.mark.timeout(300)

LIMITS = SafetyLimits(
    max_charge_kw=60, max_discharge_kw=80, max_ramp_kw_per_s=20, max_sample_age_s=5, temp_trip_c=45
)
EPS = 1e-6


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


class FlakyAudit(AuditTrail):
    """An audit trail that can be made to fail (a locked or full store)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.failing = False

    async def append(
        self, user: str, action: str, outcome: str, _ts: float | None = None, **detail: Any
    ) -> Any:
        if self.failing:
            raise sqlite3.OperationalError("database is locked")
        return await super().append(user, action, outcome, _ts, **detail)


MEASUREMENT_FAULTS = [
    "none",
    "temp_sentinel",
    "voltage_sentinel",
    "soc_implausible",
    "temp_implausible",
    "refused",
    "frozen",
]


class ScriptedDispatcher:
    def __init__(self) -> None:
        self.next_kw = 0.0

    def propose(self, inputs: object) -> Proposal:
        return Proposal(self.next_kw, "test", "scripted")


class ControlMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = TemporaryDirectory()
        self.clock = Clock()
        self.run(self._setup())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _setup(self) -> None:
        profile = load_profile("sim_bess")
        self.sim = BessSimulator(profile, step_hz=0)
        self.sim.model.noise_gain = 0.0
        port = await self.sim.start_tcp("127.0.0.1", 0)
        self.bus = EventBus()
        data = Path(self.tmp.name)
        self.audit = FlakyAudit(data / "audit.db")
        self.auth = AuthService(
            data / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
        )
        await self.auth.add_user("ana", Role.ADMIN, "271828")
        admin = await self.auth.login("ana", "271828")
        await self.auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
        await self.auth.add_user("enzo", Role.ENGINEER, "314159", by=admin)
        self.operator = await self.auth.login("olga", "314159")
        self.engineer = await self.auth.login("enzo", "314159")
        self.device = ModbusDevice("bess", profile, TcpEndpoint("127.0.0.1", port), timeout_s=1.0)
        self.poller = DevicePoller(self.device, 1.0, self.bus, wall_clock=self.clock)
        self.dispatcher = ScriptedDispatcher()
        self.alarms = AlarmManager(self.bus, None, clock=self.clock)
        self.ctl = Controller(
            self.device,
            self.bus,
            self.audit,
            self.alarms,
            guard=SafetyGuard(LIMITS),
            dispatcher=self.dispatcher,
            clock=self.clock,
            monotonic=self.clock,
            heartbeat_interval_s=1e9,
            intrusion_score=lambda: self.intrusion,
        )
        self.applied: list[SetpointApplied] = []
        self.bus.subscribe(SetpointApplied, self.applied.append)
        # What the books were handed, with the last setpoint the controller had sent the
        # device by then (a write is announced just before it goes out).
        self.requested: list[float] = []
        self.bus.subscribe(SetpointRequested, lambda e: self.requested.append(e.value_kw))
        self.released: list[tuple[str, str, float | None]] = []
        books = self.ctl.books
        assert books is not None
        record = books.record

        def noting(user: str, action: str, outcome: str, _ts: Any = None, **detail: Any) -> None:
            self.released.append((action, outcome, self.requested[-1] if self.requested else None))
            record(user, action, outcome, _ts, **detail)

        books.record = noting  # type: ignore[method-assign]
        self.checked = 0
        self.estop = self.maintenance = False
        self.intrusion = 0.0
        self.last_poll: float | None = None
        self.last_temp = 25.0
        self.last_soc = 50.0
        self.prev: tuple[float, float] | None = None
        self.fault = "none"
        self.unknown_seen = False
        self.need_command = False
        self.checked_audit = 0
        await self._poll()

    async def _poll(self) -> None:
        sample = await self.poller.poll_once()
        if sample is None:
            return
        self.last_poll = self.clock.now
        m = self.sim.model.measure()
        self.last_temp, self.last_soc = m.battery_temp_c, m.soc_pct
        self.unknown_seen = self.fault not in ("none", "frozen")

    def interlocked(self) -> bool:
        stale = self.last_poll is None or self.clock.now - self.last_poll > LIMITS.max_sample_age_s
        return (
            self.estop
            or self.maintenance
            or stale
            or self.last_temp >= LIMITS.temp_trip_c
            or self.intrusion >= LIMITS.intrusion_lockout_score
        )

    def _operator_command(self, coro: Any) -> None:
        """A new operator command may resume power (only if it is accepted)."""
        waiting, self.need_command = self.need_command, False
        if not self.run(coro).ok:
            self.need_command = waiting

    @rule(mode=st.sampled_from(list(ControlMode)))
    def set_mode(self, mode: ControlMode) -> None:
        self._operator_command(self.ctl.set_mode(self.operator, mode))

    @rule(kw=st.one_of(st.floats(-300, 300), st.sampled_from([math.nan, math.inf, -math.inf, 0.0])))
    def command(self, kw: float) -> None:
        self._operator_command(self.ctl.command_setpoint(self.operator, kw))

    @rule(kw=st.floats(-300, 300))
    def manual_command(self, kw: float) -> None:
        """The common operator action: Manual, then a setpoint."""
        self._operator_command(self.ctl.set_mode(self.operator, ControlMode.MANUAL))
        self._operator_command(self.ctl.command_setpoint(self.operator, kw))

    @rule(fault=st.sampled_from(MEASUREMENT_FAULTS))
    def measurement_fault(self, fault: str) -> None:
        sim = self.sim
        for f in (Fault.EXCEPTION, Fault.FROZEN):
            sim.inject(f, False)
        sim.override(RegisterRole.BATTERY_TEMP_C, None)
        sim.override(RegisterRole.PACK_VOLTAGE_V, None)
        sim.override(RegisterRole.SOC_PCT, None)
        if fault == "temp_sentinel":
            sim.override(
                RegisterRole.BATTERY_TEMP_C, sim.sentinel_words(RegisterRole.BATTERY_TEMP_C)
            )
        elif fault == "voltage_sentinel":
            sim.override(
                RegisterRole.PACK_VOLTAGE_V, sim.sentinel_words(RegisterRole.PACK_VOLTAGE_V)
            )
        elif fault == "soc_implausible":
            sim.override(RegisterRole.SOC_PCT, [0xFFFE])
        elif fault == "temp_implausible":
            sim.override(RegisterRole.BATTERY_TEMP_C, [0x8000])
        elif fault == "refused":
            sim.inject(Fault.EXCEPTION)
        elif fault == "frozen":
            sim.inject(Fault.FROZEN)
        self.fault = fault
        self.run(self._poll())
        self.run(self.ctl.tick())

    @rule(fault=st.sampled_from(MEASUREMENT_FAULTS[1:6]))
    def fault_comes_and_goes(self, fault: str) -> None:
        """A glitch: one poll with a bad value, then good values again."""
        self.measurement_fault(fault)
        self.nothing_unsafe_was_written()
        self.measurement_fault("none")

    @rule(failing=st.booleans())
    def audit_store_fails(self, failing: bool) -> None:
        self.audit.failing = failing
        self.run(self.ctl.tick())

    @rule(kw=st.one_of(st.floats(-500, 500), st.sampled_from([math.nan, math.inf, -math.inf])))
    def dispatcher_proposes(self, kw: float) -> None:
        self.dispatcher.next_kw = kw
        self.run(self.ctl.tick())

    @rule()
    def press_estop(self) -> None:
        self.estop = True
        self.run(self.ctl.estop(None, "test"))

    @precondition(lambda self: self.estop)
    @rule()
    def reset_estop(self) -> None:
        self.estop = False
        self.run(self.ctl.reset_estop(self.engineer))

    @rule(on=st.booleans())
    def maintenance_lockout(self, on: bool) -> None:
        self.maintenance = on
        self.run(self.ctl.set_maintenance(self.engineer, on))

    @rule(score=st.floats(0, 1))
    def intrusion_score(self, score: float) -> None:
        self.intrusion = score
        self.run(self.ctl.tick())

    @rule(soc=st.floats(0, 100), temp=st.floats(0, 60))
    def telemetry(self, soc: float, temp: float) -> None:
        self.sim.model.soc_pct = soc
        self.sim.model.temp_c = temp
        self.sim.refresh_image()
        self.run(self._poll())
        self.run(self.ctl.tick())

    @rule(dt=st.floats(0.05, 8.0), poll=st.booleans())
    def time_passes(self, dt: float, poll: bool) -> None:
        self.clock.now += dt
        self.sim.step(dt)
        if poll:
            self.run(self._poll())
        self.run(self.ctl.tick())

    @invariant()
    def zero_before_the_books(self) -> None:
        """A forced standby or an E-stop reaches the books only after its zero write went out."""
        for action, outcome, last in self.released[self.checked_audit :]:
            if (action, outcome) in (("mode", "forced"), ("estop", "latched")):
                assert last in (None, 0.0), f"{action} {outcome} booked after {last} kW was sent"
        self.checked_audit = len(self.released)

    @invariant()
    def nothing_unsafe_was_written(self) -> None:
        writes = [v for name, v in self.sim.writes if name == "setpoint_power_kw"]
        assert len(writes) == len(self.applied)
        for value, event in zip(writes[self.checked :], self.applied[self.checked :], strict=True):
            assert isinstance(value, float)
            assert value == event.value_kw
            assert -LIMITS.max_charge_kw - EPS <= value <= LIMITS.max_discharge_kw + EPS
            if self.interlocked():
                assert value == 0.0, f"{value} kW written under an interlock"
            if self.unknown_seen:
                assert value == 0.0, f"{value} kW written with a {self.fault} measurement"
            if self.need_command:
                assert value == 0.0, f"{value} kW resumed without a new operator command"
            if self.last_soc >= LIMITS.soc_ceiling_pct:
                assert value >= -EPS
            if self.last_soc <= LIMITS.soc_floor_pct:
                assert value <= EPS
            if self.prev is not None:
                prev_kw, prev_ts = self.prev
                within = (
                    abs(value - prev_kw) <= LIMITS.max_ramp_kw_per_s * (event.ts - prev_ts) + EPS
                )
                toward_zero = abs(value) <= abs(prev_kw) + EPS and value * prev_kw >= 0
                assert within or toward_zero, (prev_kw, value, event.ts - prev_ts)
            self.prev = (value, event.ts)
        self.checked = len(writes)
        if self.ctl.current_interlocks(self.clock.now):
            self.need_command = True

    def teardown(self) -> None:
        async def close() -> None:
            self.audit.failing = False
            assert self.ctl.books is not None
            await self.ctl.books.stop(2.0)
            self.ctl.close()
            await self.device.close()
            await self.sim.stop()

        self.run(close())
        self.audit.close()
        self.auth.close()
        self.loop.close()
        self.tmp.cleanup()


ControlMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_no_unsafe_setpoint_reaches_the_device = ControlMachine.TestCase
