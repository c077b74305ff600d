"""Property: on a plant (two PCS, each with its BMS, and the POI meter), faults on any device
never let a PCS leave what it and its battery allow, nor the site leave the POI's limits.

A hypothesis state machine drives the real parts — the coupled plant simulator
(every device a Modbus server on 127.0.0.1), a poller per device, a Controller
per PCS guarded by its BMS across the link (``PlantWiring``), the site
controller and the site's command API — on one fake clock (wall and monotonic),
through site and device setpoints, modes and E-stops, and faults on any device:
a link lost, a device no longer polled (its data goes stale), a sentinel, a
BMS's current limits dropping, its cells hot, its contactor open, its alarm, a
PCS's own alarm, the POI meter lost. What the gateway is checked against is
the plant's own truth: the BMS's sample as the gateway read it, the simulator's
load, PV and losses at the POI, and each poll's outcome.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from pathlib import Path
from tempfile import TemporaryDirectory
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import bessai.core.plant.site_control as site_control_module
import bessai.core.polling.scheduler as scheduler_module
from bessai.core.alarms.manager import AlarmManager
from bessai.core.config.plant import SiteSettings, plant_topology
from bessai.core.config.settings import DeviceConfig
from bessai.core.control.books import Books
from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode, SetpointApplied
from bessai.core.guard.safety import Reason, SafetyGuard
from bessai.core.plant.commands import SITE_TARGET, SiteCommands
from bessai.core.plant.protection import CellLimits
from bessai.core.polling.scheduler import DevicePoller
from bessai.core.runtime.bus import EventBus
from bessai.core.site.plant_wiring import PlantWiring
from bessai.core.site.simulated import TWO_PCS_LIMITS, TWO_PCS_PLANT
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import AuthService, Role
from bessai.drivers.device import Backoff, ModbusDevice, TcpEndpoint
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.plant import PlantDevice, PlantFault, PlantSimulator
from bessai.drivers.simulator.server import Fault

pytestmark = pytest.mark.timeout(300)

LIMITS = TWO_PCS_LIMITS
PCS = tuple(TWO_PCS_PLANT)
BMS = tuple(TWO_PCS_PLANT.values())
POI = "poi"
DEVICES = (*PCS, *BMS, POI)
EXPORT_LIMIT_KW, IMPORT_LIMIT_KW = 50.0, 100.0
CELLS = CellLimits()
METER_HOLD_S = 10.0
POI_TOLERANCE_KW = 2.5  # the issue's ±2 kW, and the losses' change with the new setpoint
WRITE_TOLERANCE_KW = 0.1
#: What a BMS must say for its window to be known (the sim_bms profile maps them all).
BMS_NEEDS = (
    "soc_pct",
    "contactor_closed",
    "bms_alarm_word",
    "cell_voltage_max_v",
    "cell_voltage_min_v",
    "cell_temp_max_c",
    "cell_temp_min_c",
    "ccl_a",
    "dcl_a",
    "pack_voltage_v",
    "max_charge_power_kw",
    "max_discharge_power_kw",
)
#: Mean rack temperatures (°C): normal, derating (hottest cell 52 °C), tripped (hottest 60 °C).
RACK_TEMPS_C = (25.0, 50.0, 58.0)
PCS_TRIP_BITS = 1 << 0  # sim_pcs's alarm word: over_temperature


class Clock:
    """The plant's one clock: wall and monotonic alike (a fake clock never steps)."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def bms_window_kw(roles: Mapping[str, float | None]) -> tuple[float, float]:
    """What a BMS's sample allows (charge, discharge; kW, both >= 0): zero on any doubt,
    else its power limits and CCL/DCL times the pack voltage, nothing at its hottest cells."""
    values = {r: roles.get(r) for r in BMS_NEEDS}
    if any(v is None or not math.isfinite(v) for v in values.values()):
        return 0.0, 0.0
    v: dict[str, float] = {k: float(x) for k, x in values.items() if x is not None}
    if not v["contactor_closed"] or v["bms_alarm_word"]:
        return 0.0, 0.0
    if v["cell_temp_max_c"] >= min(CELLS.temp_max_c, LIMITS.temp_trip_c):
        return 0.0, 0.0
    charge = min(v["max_charge_power_kw"], max(0.0, v["ccl_a"]) * v["pack_voltage_v"] / 1000)
    discharge = min(v["max_discharge_power_kw"], max(0.0, v["dcl_a"]) * v["pack_voltage_v"] / 1000)
    return charge, discharge


class PlantMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = TemporaryDirectory()
        self.clock = Clock()
        fake_time = SimpleNamespace(
            time=self.clock, monotonic=self.clock, perf_counter=time.perf_counter
        )
        # The poller's sample ages and the site's ramp and meter hold run on the same clock.
        self.patches = [
            mock.patch.object(scheduler_module, "time", fake_time),
            mock.patch.object(site_control_module, "time", fake_time),
        ]
        for patch in self.patches:
            patch.start()
        self.started = False

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize(load_kw=st.floats(10.0, 80.0), pv_kw=st.floats(0.0, 60.0))
    def build(self, load_kw: float, pv_kw: float) -> None:
        """The plant with a site whose idle batteries keep the POI within its limits."""
        self.run(self._build(load_kw, pv_kw))
        self.started = True

    async def _build(self, load_kw: float, pv_kw: float) -> None:
        profiles = {p: load_profile(p) for p in ("sim_pcs", "sim_bms", "sim_meter")}
        plant = [
            PlantDevice(n, profiles["sim_pcs"], "inverter", "127.0.0.1", 0, batteries=(b,))
            for n, b in TWO_PCS_PLANT.items()
        ]
        plant += [PlantDevice(b, profiles["sim_bms"], "bms", "127.0.0.1", 0) for b in BMS]
        plant.append(PlantDevice(POI, profiles["sim_meter"], "meter", "127.0.0.1", 0))
        self.plant = PlantSimulator(
            plant, seed=7, step_hz=0, clock=self.clock, load_kw=load_kw, pv_kw=pv_kw
        )
        for sim in self.plant.sims.values():
            sim.model.noise_gain = 0.0
        ports = await self.plant.start()
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
        configs = [
            DeviceConfig(
                name=d.name,
                role=d.role,
                profile=d.profile.id,
                host="127.0.0.1",
                port=ports[d.name],
                battery=TWO_PCS_PLANT.get(d.name),
            )
            for d in plant
        ]
        self.devices = {
            # No reconnection backoff: it runs on the real clock, and a poll's outcome must
            # not depend on how fast the machine is.
            d.name: ModbusDevice(
                d.name,
                d.profile,
                TcpEndpoint("127.0.0.1", ports[d.name]),
                timeout_s=0.15,
                backoff=Backoff(0.0, 0.0),
            )
            for d in plant
        }
        self.pollers = {
            n: DevicePoller(d, 1.0, self.bus, wall_clock=self.clock)
            for n, d in self.devices.items()
        }
        self.controllers = {
            n: Controller(
                self.devices[n],
                self.bus,
                self.audit,
                self.alarms,
                guard=SafetyGuard(LIMITS),
                clock=self.clock,
                monotonic=self.clock,
                heartbeat_interval_s=1.0,
                books=self.books,
            )
            for n in PCS
        }
        topology = plant_topology(
            configs,
            SiteSettings(
                poi_meter=POI,
                export_limit_kw=EXPORT_LIMIT_KW,
                import_limit_kw=IMPORT_LIMIT_KW,
                ramp_kw_per_s=100.0,
            ),
        )
        self.wiring = PlantWiring(
            topology,
            self.controllers,
            self.pollers,
            {d.name: d.profile for d in plant},
            {n: LIMITS for n in PCS},
            self.alarms,
            interval_s=0.5,
        )
        self.site = self.wiring.site
        self.site.clock = self.clock
        self.site.meter_hold_s = METER_HOLD_S
        for controller in self.controllers.values():
            self.wiring.protect(controller)
        self._unwire = self.wiring.attach(self.bus)
        self.commands = SiteCommands(self.controllers, self.books, self.site)
        self.bus.subscribe(SetpointApplied, self._on_applied)
        self.violations: list[str] = []
        self.last_ok: dict[str, float | None] = dict.fromkeys(DEVICES)
        self.answered: dict[str, bool] = dict.fromkeys(DEVICES, False)
        self.seen: dict[str, Mapping[str, float | None]] = {}
        self.stuck: set[str] = set()  # polled no more (a hung poll): its data goes stale
        self.hot_racks: set[str] = set()
        self.hot_pcs: set[str] = set()
        self.meter_trusted_at: float | None = None
        for name in DEVICES:
            await self._poll(name)
        await self._cycle()

    # -- what the plant and the gateway do -------------------------------------------

    async def _poll(self, name: str) -> None:
        sample = await self.pollers[name].poll_once()
        self.answered[name] = sample is not None
        if sample is not None:
            self.last_ok[name] = self.clock.now
            self.seen[name] = dict(sample.roles)

    def age_s(self, name: str) -> float:
        last = self.last_ok[name]
        return math.inf if last is None else self.clock.now - last

    def bms_doubt(self, bms: str) -> str | None:
        """Why the gateway must not trust this BMS now, from what it could read of it."""
        if not self.answered[bms]:
            return "link down"
        if self.age_s(bms) > CELLS.max_age_s:
            return "stale"
        roles = self.seen.get(bms, {})
        for role in BMS_NEEDS:
            value = roles.get(role)
            if value is None or not math.isfinite(value):
                return f"{role} not available"
        if not roles.get("contactor_closed"):
            return "contactor open"
        if roles.get("bms_alarm_word"):
            return "BMS alarm"
        return None

    def meter_trusted(self) -> bool:
        grid = self.seen.get(POI, {}).get("grid_power_kw")
        fresh = self.answered[POI] and self.age_s(POI) <= self.site.meter_max_age_s
        return fresh and grid is not None and math.isfinite(grid)

    def readings_current(self) -> bool:
        """Whether what the gateway last read of the meter and of each PCS is the plant now.

        The site controller takes the site's own net (load - PV) as the meter's reading plus
        the PCS's powers read now; a meter reading older than a PCS's change gives a wrong
        net (by that change). Known gap, left to the site controller: checked only here."""
        meter = self.plant.physics.meters[POI]
        grid = self.seen.get(POI, {}).get("grid_power_kw")
        if grid is None or abs(grid - meter.grid_kw()) > 0.5:
            return False
        for pcs in PCS:
            seen = self.seen.get(pcs, {}).get("active_power_kw")
            if seen is None or abs(seen - self.plant.physics.pcs[pcs].power_kw) > 0.5:
                return False
        return True

    async def _cycle(self) -> None:
        self.site.step()
        for controller in self.controllers.values():
            await controller.tick()
        if self.meter_trusted():
            self.meter_trusted_at = self.clock.now

    def _on_applied(self, event: SetpointApplied) -> None:
        """Every write, checked against what its BMS allowed in the sample the gateway had."""
        name, kw = event.device, event.value_kw
        bms = TWO_PCS_PLANT[name]
        status = self.pollers[bms].status
        roles = status.last_sample.roles if status.last_sample is not None else {}
        charge, discharge = bms_window_kw(roles)
        if not status.up or self.age_s(bms) > CELLS.max_age_s:
            charge = discharge = 0.0
        low = -min(LIMITS.max_charge_kw, charge) - WRITE_TOLERANCE_KW
        high = min(LIMITS.max_discharge_kw, discharge) + WRITE_TOLERANCE_KW
        if not low <= kw <= high:
            self.violations.append(
                f"{name} written {kw:.2f} kW outside {low:.2f}..{high:.2f} ({bms}: {dict(roles)})"
            )

    def _impose_causes(self) -> None:
        """The causes last while their flags are set (cooling is not what this tests)."""
        for bms in self.hot_racks:
            self.plant.physics.racks[bms].temp_c = RACK_TEMPS_C[-1]
        for pcs in self.hot_pcs:
            self.plant.physics.pcs[pcs].temp_c = LIMITS.temp_trip_c + 5.0
        self.plant.step(0.0)

    async def _after_fault(self, name: str) -> None:
        self._impose_causes()
        if name not in self.stuck:
            await self._poll(name)
        await self._cycle()

    # -- rules --------------------------------------------------------------------------

    @rule(aim=st.sampled_from([SITE_TARGET, *PCS]), mode=st.sampled_from(list(ControlMode)))
    def set_mode(self, aim: str, mode: ControlMode) -> None:
        self.run(self.commands.set_mode(self.operator, mode, aim))
        self.run(self._cycle())

    @rule(aim=st.sampled_from([SITE_TARGET, *PCS]), kw=st.floats(-250, 250))
    def command(self, aim: str, kw: float) -> None:
        self.run(self.commands.command_setpoint(self.operator, kw, aim))
        self.run(self._cycle())

    @rule(kw=st.floats(-250, 250))
    def site_manual(self, kw: float) -> None:
        """The operator's usual pair: the site in Manual, then its setpoint."""
        self.run(self.commands.set_mode(self.operator, ControlMode.MANUAL, SITE_TARGET))
        self.run(self.commands.command_setpoint(self.operator, kw, SITE_TARGET))
        self.run(self._cycle())

    @rule(name=st.sampled_from(DEVICES), down=st.booleans())
    def link(self, name: str, down: bool) -> None:
        self.plant.inject(name, Fault.NO_ANSWER, down)
        self.run(self._after_fault(name))

    @rule(name=st.sampled_from(DEVICES), stuck=st.booleans())
    def polled(self, name: str, stuck: bool) -> None:
        (self.stuck.add if stuck else self.stuck.discard)(name)
        self.run(self._after_fault(name))

    @rule(name=st.sampled_from([*BMS, POI]), on=st.booleans())
    def sentinel(self, name: str, on: bool) -> None:
        self.plant.inject(name, Fault.NOT_AVAILABLE, on)
        self.run(self._after_fault(name))

    @rule(
        bms=st.sampled_from(BMS),
        ccl_a=st.sampled_from([0.0, 20.0, 160.0]),
        dcl_a=st.sampled_from([0.0, 20.0, 160.0]),
    )
    def current_limits(self, bms: str, ccl_a: float, dcl_a: float) -> None:
        self.plant.set_current_limits(bms, ccl_max_a=ccl_a, dcl_max_a=dcl_a)
        self.run(self._after_fault(bms))

    @rule(bms=st.sampled_from(BMS), temp_c=st.sampled_from(RACK_TEMPS_C))
    def rack_temperature(self, bms: str, temp_c: float) -> None:
        rack = self.plant.physics.racks[bms]
        rack.temp_c = temp_c
        if temp_c == RACK_TEMPS_C[-1]:
            self.hot_racks.add(bms)
        else:
            self.hot_racks.discard(bms)
            rack.reset_fault()  # the BMS's alarm latched; cooled, it is reset at the rack
        self.run(self._after_fault(bms))

    @rule(
        bms=st.sampled_from(BMS),
        fault=st.sampled_from([PlantFault.CONTACTOR_OPEN, PlantFault.INSULATION]),
        on=st.booleans(),
    )
    def rack_fault(self, bms: str, fault: PlantFault, on: bool) -> None:
        self.plant.inject(bms, fault, on)
        if not on:
            self.plant.physics.racks[bms].reset_fault()
        self.run(self._after_fault(bms))

    @rule(pcs=st.sampled_from(PCS), hot=st.booleans())
    def pcs_alarm(self, pcs: str, hot: bool) -> None:
        model = self.plant.physics.pcs[pcs]
        if hot:
            self.hot_pcs.add(pcs)
        else:
            self.hot_pcs.discard(pcs)
            model.temp_c = 25.0
            model.reset_fault()
        self.run(self._after_fault(pcs))

    @rule()
    def press_estop(self) -> None:
        self.run(self.commands.estop(None, "test"))
        self.run(self._cycle())

    @rule(aim=st.sampled_from([SITE_TARGET, *PCS]))
    def reset_estop(self, aim: str) -> None:
        self.run(self.commands.reset_estop(self.engineer, aim))
        self.run(self._cycle())

    @rule(dt=st.floats(0.2, 6.0), cycles=st.integers(1, 6))
    def time_passes(self, dt: float, cycles: int) -> None:
        for _ in range(cycles):
            self.clock.now += dt / cycles
            self.plant.step(dt / cycles)
            self._impose_causes()
            for name in DEVICES:
                if name not in self.stuck:
                    self.run(self._poll(name))
            self.run(self._cycle())

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def nothing_written_beyond_the_pcs_and_bms_windows(self) -> None:
        if not self.started:
            return
        assert not self.violations, self.violations[0]

    @invariant()
    def a_pcs_whose_bms_is_in_doubt_is_interlocked_at_zero_and_says_so(self) -> None:
        if not self.started:
            return
        for pcs, bms in TWO_PCS_PLANT.items():
            controller = self.controllers[pcs]
            why = self.bms_doubt(bms)
            named = [
                i
                for i in controller.current_interlocks(self.clock.now)
                if i.reason is Reason.INTERLOCK_BATTERY and dict(i.params).get("bms") == bms
            ]
            if why is None:
                assert not named, f"{pcs} interlocked by {bms}, which is trusted: {named}"
                continue
            assert named, f"{bms} {why}, yet {pcs} is not interlocked by it"
            assert controller.applied_kw in (0.0, None), f"{pcs} at {controller.applied_kw} kW"
            if self.answered[pcs]:
                setpoint = self.plant.physics.pcs[pcs].setpoint_kw
                assert setpoint == 0.0, f"{pcs}'s own setpoint at {setpoint} kW ({bms} {why})"
            alarm = self.alarms.get("battery_interlock", pcs)
            assert alarm.active, f"{pcs}'s battery interlock alarm not active ({bms} {why})"
            assert bms in alarm.detail, alarm.detail
            if why == "link down":
                assert self.alarms.get("comms_lost", bms).active, f"{bms}'s link alarm"

    def pcs_trip(self, pcs: str) -> bool | None:
        """Whether the PCS's own sample says trip (its DC voltage or its alarm word), None
        when the gateway cannot know (its link down)."""
        if not self.answered[pcs]:
            return None
        roles = self.seen.get(pcs, {})
        volts, word = roles.get("pack_voltage_v"), roles.get("alarm_word")
        outside = volts is None or not (
            LIMITS.pack_voltage_min_v + 1 <= volts <= LIMITS.pack_voltage_max_v - 1
        )
        return outside or bool(int(word or 0) & PCS_TRIP_BITS)

    @invariant()
    def a_trip_lasts_as_long_as_its_cause_on_its_own_device(self) -> None:
        if not self.started:
            return
        for pcs, bms in TWO_PCS_PLANT.items():
            fresh = self.answered[bms] and self.age_s(bms) <= CELLS.max_age_s
            hottest = self.seen.get(bms, {}).get("cell_temp_max_c")
            hot = fresh and hottest is not None and hottest >= LIMITS.temp_trip_c
            own = self.pcs_trip(pcs)
            trip = self.alarms.get("safety_trip", pcs)
            if hot or own:
                assert trip.active, f"{pcs}'s trip not active ({bms} at {hottest} °C, own {own})"
                assert self.controllers[pcs].applied_kw in (0.0, None)
            cool = fresh and hottest is not None and hottest < LIMITS.temp_trip_c - 1.0
            if cool and own is False and self.age_s(pcs) <= LIMITS.max_sample_age_s:
                assert not trip.active, f"{pcs} tripped, {bms} at {hottest} °C: {trip.detail}"
            word = int(self.seen.get(pcs, {}).get("alarm_word") or 0)
            if self.answered[pcs] and word & PCS_TRIP_BITS:
                assert self.alarms.get("device_alarm", pcs).active, f"{pcs}'s own alarm"
        for name in DEVICES:
            if not self.answered[name]:
                assert self.alarms.get("comms_lost", name).active, f"{name}'s link alarm"

    @invariant()
    def the_poi_stays_within_its_limits_while_the_meter_is_trusted(self) -> None:
        if not self.started:
            return
        split = self.site.last if self.site.active else None
        if split is None:
            return
        meter = self.plant.physics.meters[POI]
        pv, load = meter.site_pv_kw(), meter.load_kw
        battery_now = sum(p.power_kw for p in self.plant.physics.pcs.values())

        def grid_kw(battery_kw: float) -> float:  # + import, as the meter reads it
            losses = meter.no_load_loss_kw + meter.loss_fraction * (abs(battery_now) + pv)
            return load - pv - battery_kw + losses

        if self.meter_trusted() and self.readings_current():
            assert -grid_kw(split.target_kw) <= EXPORT_LIMIT_KW + POI_TOLERANCE_KW, split
            assert grid_kw(split.target_kw) <= IMPORT_LIMIT_KW + POI_TOLERANCE_KW, split
        elif self.meter_trusted_at is not None:
            lost_s = self.clock.now - self.meter_trusted_at
            if lost_s > METER_HOLD_S + 1.0:
                assert split.target_kw <= 0.0, f"{split.target_kw} kW {lost_s:.1f} s unmetered"
                for name in split.shares_kw:
                    applied = self.controllers[name].applied_kw or 0.0
                    ramp_s = abs(applied) / LIMITS.max_ramp_kw_per_s
                    if lost_s > METER_HOLD_S + 1.0 + ramp_s:
                        assert applied <= WRITE_TOLERANCE_KW, f"{name} discharging unmetered"

    @invariant()
    def the_site_never_exceeds_the_sum_of_windows(self) -> None:
        if not self.started:
            return
        total = sum(c.applied_kw or 0.0 for c in self.controllers.values())
        charge = discharge = 0.0
        for bms in BMS:
            c, d = bms_window_kw(self.seen.get(bms, {}))
            if self.bms_doubt(bms) is not None:
                c = d = 0.0
            charge += min(LIMITS.max_charge_kw, c)
            discharge += min(LIMITS.max_discharge_kw, d)
        tolerance = 2 * WRITE_TOLERANCE_KW
        assert -charge - tolerance <= total <= discharge + tolerance, (total, charge, discharge)
        if self.site.active and self.site.last is not None:
            assert self.site.last.delivered_kw <= discharge + tolerance
            assert self.site.last.delivered_kw >= -charge - tolerance

    def teardown(self) -> None:
        if self.started:

            async def close() -> None:
                await self.books.stop(2.0)
                for unwire in self._unwire:
                    unwire()
                for controller in self.controllers.values():
                    controller.close()
                for device in self.devices.values():
                    await device.close()
                await self.plant.stop()

            self.run(close())
            self.audit.close()
            self.auth.close()
        for patch in self.patches:
            patch.stop()
        self.loop.close()
        self.tmp.cleanup()


PlantMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_faults_on_any_device_keep_every_plant_invariant = PlantMachine.TestCase
