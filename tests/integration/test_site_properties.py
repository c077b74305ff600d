"""Property: on a site of two batteries, each device's safety is its own, whatever the other does.

A hypothesis state machine drives two Controllers (``a`` and ``b``, each on its
own simulator served on 127.0.0.1, one fake clock) through the site's command
API: site and per-device commands, over-temperature and lost links on either
device, E-stops, time. Invariants per device: nothing non-zero is written to a
device while it is interlocked or beyond its limits; and an interlocked
device's trip alarm stays active while its cause lasts, however many healthy
cycles the other device runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bessai.core.alarms.manager import AlarmManager
from bessai.core.config.plant import SiteSettings, plant_topology
from bessai.core.config.settings import DeviceConfig
from bessai.core.control.books import Books
from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode, SetpointApplied
from bessai.core.guard.safety import SafetyGuard, SafetyLimits
from bessai.core.plant.commands import SITE_TARGET, SiteCommands
from bessai.core.plant.site_control import SiteController
from bessai.core.polling.scheduler import DevicePoller
from bessai.core.runtime.bus import EventBus
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import AuthService, Role
from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.server import BessSimulator, Fault

pytestmark = pytest.mark.timeout(300)

LIMITS = SafetyLimits(
    max_charge_kw=60, max_discharge_kw=80, max_ramp_kw_per_s=40, max_sample_age_s=5, temp_trip_c=45
)
NAMES = ("a", "b")
EPS = 1e-6


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


class SiteMachine(RuleBasedStateMachine):
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
        data = Path(self.tmp.name)
        self.bus = EventBus()
        self.audit = AuditTrail(data / "audit.db")
        self.alarms = AlarmManager(self.bus, None, clock=self.clock)
        self.books = Books(self.audit, self.alarms, clock=self.clock)
        self.auth = AuthService(
            data / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
        )
        await self.auth.add_user("ana", Role.ADMIN, "271828")
        admin = await self.auth.login("ana", "271828")
        await self.auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
        await self.auth.add_user("enzo", Role.ENGINEER, "314159", by=admin)
        self.operator = await self.auth.login("olga", "314159")
        self.engineer = await self.auth.login("enzo", "314159")
        self.sims: dict[str, BessSimulator] = {}
        self.devices: dict[str, ModbusDevice] = {}
        self.pollers: dict[str, DevicePoller] = {}
        self.controllers: dict[str, Controller] = {}
        self.last_poll: dict[str, float | None] = {}
        self.fresh: dict[str, bool] = {}
        self.hot: dict[str, bool] = {}
        self.down: dict[str, bool] = {}
        for name in NAMES:
            sim = BessSimulator(profile, step_hz=0)
            sim.model.noise_gain = 0.0
            port = await sim.start_tcp("127.0.0.1", 0)
            device = ModbusDevice(name, profile, TcpEndpoint("127.0.0.1", port), timeout_s=0.5)
            self.sims[name], self.devices[name] = sim, device
            self.pollers[name] = DevicePoller(device, 1.0, self.bus, wall_clock=self.clock)
            self.controllers[name] = Controller(
                device,
                self.bus,
                self.audit,
                self.alarms,
                guard=SafetyGuard(LIMITS),
                clock=self.clock,
                monotonic=self.clock,
                heartbeat_interval_s=1e9,
                books=self.books,
            )
            self.last_poll[name] = None
            self.fresh[name] = False
            self.hot[name] = self.down[name] = False
        configs = [DeviceConfig(name=n, profile="sim_bess", simulated=True) for n in NAMES]
        self.site = SiteController(
            plant_topology(configs, SiteSettings()),
            self.controllers,
            lambda n: self.pollers[n].status if n in self.pollers else None,
            self.alarms,
            lambda n: LIMITS.capacity_kwh,
            clock=self.clock,
        )
        self.commands = SiteCommands(self.controllers, self.books, self.site)
        self.applied: dict[str, list[SetpointApplied]] = {n: [] for n in NAMES}
        self.bus.subscribe(SetpointApplied, lambda e: self.applied[e.device].append(e))
        self.checked = dict.fromkeys(NAMES, 0)
        for name in NAMES:
            await self._poll(name)

    async def _poll(self, name: str) -> None:
        sample = await self.pollers[name].poll_once()
        # Fresh: the last poll answered (a reconnect's first poll may not).
        self.fresh[name] = sample is not None
        if sample is not None:
            self.last_poll[name] = self.clock.now

    async def _cycle(self) -> None:
        self.site.step()
        for controller in self.controllers.values():
            await controller.tick()

    def interlocked(self, name: str) -> bool:
        last = self.last_poll[name]
        stale = last is None or self.clock.now - last > LIMITS.max_sample_age_s
        return stale or self.hot[name] or self.controllers[name].estop_latched

    @rule(aim=st.sampled_from([SITE_TARGET, *NAMES]), mode=st.sampled_from(list(ControlMode)))
    def set_mode(self, aim: str, mode: ControlMode) -> None:
        self.run(self.commands.set_mode(self.operator, mode, aim))

    @rule(aim=st.sampled_from([SITE_TARGET, *NAMES]), kw=st.floats(-200, 200))
    def command(self, aim: str, kw: float) -> None:
        self.run(self.commands.command_setpoint(self.operator, kw, aim))
        self.run(self._cycle())

    @rule(name=st.sampled_from(NAMES), hot=st.booleans())
    def temperature(self, name: str, hot: bool) -> None:
        model = self.sims[name].model
        model.temp_c = LIMITS.temp_trip_c + 12.0 if hot else 25.0
        if not hot:
            model.reset_fault()
        self.sims[name].refresh_image()
        self.hot[name] = hot
        self.run(self._poll(name))
        self.run(self._cycle())

    @rule(name=st.sampled_from(NAMES), down=st.booleans())
    def link(self, name: str, down: bool) -> None:
        self.sims[name].inject(Fault.NO_ANSWER, down)
        self.down[name] = down
        self.run(self._poll(name))
        self.run(self._cycle())

    @rule()
    def press_estop(self) -> None:
        self.run(self.commands.estop(None, "test"))

    @rule(aim=st.sampled_from([SITE_TARGET, *NAMES]))
    def reset_estop(self, aim: str) -> None:
        self.run(self.commands.reset_estop(self.engineer, aim))

    @rule(dt=st.floats(0.1, 4.0), cycles=st.integers(1, 4))
    def time_passes(self, dt: float, cycles: int) -> None:
        for _ in range(cycles):
            self.clock.now += dt / cycles
            for name in NAMES:
                self.sims[name].step(dt / cycles)
                if self.hot[name]:  # the cause lasts: the cooling is not what this tests
                    self.sims[name].model.temp_c = LIMITS.temp_trip_c + 12.0
                    self.sims[name].refresh_image()
                if not self.down[name]:
                    self.run(self._poll(name))
            self.run(self._cycle())

    @invariant()
    def each_device_is_safe_on_its_own(self) -> None:
        for name in NAMES:
            events = self.applied[name][self.checked[name] :]
            for event in events:
                assert (
                    -LIMITS.max_charge_kw - EPS <= event.value_kw <= LIMITS.max_discharge_kw + EPS
                )
            self.checked[name] = len(self.applied[name])
            if self.interlocked(name) and events:
                assert events[-1].value_kw == 0.0, f"{name} left at {events[-1].value_kw} kW"

    @invariant()
    def a_trip_alarm_lasts_as_long_as_its_cause(self) -> None:
        for name in NAMES:
            fresh = not self.down[name] and self.fresh[name]
            if self.hot[name] and fresh:
                self.run(self.controllers[name].tick())
                alarm = self.alarms.get("safety_trip", name)
                assert alarm.active, f"{name}'s trip not active while it is hot"
                other = next(n for n in NAMES if n != name)
                other_fresh = not self.down[other] and self.fresh[other]
                if not self.hot[other] and other_fresh:
                    # The healthy one, read just now: its own instance is clear (a lost link
                    # keeps the last known trip, which is right and not this property).
                    self.run(self.controllers[other].tick())
                    assert not self.alarms.get("safety_trip", other).active

    def teardown(self) -> None:
        async def close() -> None:
            await self.books.stop(2.0)
            for name in NAMES:
                self.controllers[name].close()
                await self.devices[name].close()
                await self.sims[name].stop()

        self.run(close())
        self.audit.close()
        self.auth.close()
        self.loop.close()
        self.tmp.cleanup()


SiteMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_each_device_keeps_its_own_alarms_and_safety = SiteMachine.TestCase
