"""Benchmark: the plant controlled as one site, on the coupled plant simulator over loopback.

Two PCS, each driving the rack of its BMS, and the POI meter (the shipped
``config/plant.example.toml`` wiring on free ports); the gateway polls every
device every 0.2 s and runs its control cycle every 0.2 s. Measured:

- **BMS limit → PCS**: from a step down of bms1's discharge current limit
  (DCL 160 A → 40 A) while the site discharges, to pcs1's measured power at or
  below the new limit (DCL × pack voltage, +2 %);
- **site step → POI**: from a site setpoint step (0 → 80 kW) to the sum of the
  two PCS' measured power within 2 % of it.

Baseline, in the same run: a Manual step of the same size on one simulated
battery (``sim_bess``) to its measured power within 2 %. The ratio is what the
plant adds (the BMS's own poll, the split, two devices). Target: both within
2.5 s (the issue's BMS link-loss bound), median of 5.

    python bench/plant.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2 import PasswordHasher

from bessai.core.config.plant import SiteSettings, plant_topology
from bessai.core.config.settings import DeviceConfig
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import SafetyLimits
from bessai.core.site.gateway import Gateway
from bessai.core.site.simulated import start_simulated_plant
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.simulator.server import BessSimulator

RUNS = 5
STEP_KW = 80.0
LIMITS = SafetyLimits(
    soc_floor_pct=10,
    soc_ceiling_pct=90,
    max_ramp_kw_per_s=200,
    temp_trip_c=58,
    pack_voltage_min_v=600,
    pack_voltage_max_v=900,
)


async def _login(data: Path) -> tuple[AuthService, Session]:
    auth = AuthService(
        data / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    await auth.add_user("ana", Role.ADMIN, "271828")
    return auth, await auth.login("ana", "271828")


async def until(condition: object, timeout_s: float = 20.0) -> float:
    started = time.perf_counter()
    while not condition():  # type: ignore[operator]
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError("not reached")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def baseline(data: Path) -> list[float]:
    """One simulated battery: a Manual step to its measured power within 2 %."""
    sim = BessSimulator()
    port = await sim.start_tcp("127.0.0.1", 0)
    auth, admin = await _login(data)
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=0.2
    )
    gw = Gateway("bench-one", [cfg], data_dir=data, auth=auth, limits=LIMITS,
                 control_interval_s=0.2, ids_enabled=False)  # fmt: skip
    await gw.start()
    ctl = gw.controller()
    times = []
    try:
        await until(lambda: ctl.telemetry.comms_up)
        await ctl.set_mode(admin, ControlMode.MANUAL)
        for _ in range(RUNS):
            await ctl.command_setpoint(admin, 0.0)
            await until(lambda: abs(ctl.telemetry.active_power_kw or 0.0) < 1.0)
            started = time.perf_counter()
            await ctl.command_setpoint(admin, STEP_KW)
            await until(
                lambda: abs((ctl.telemetry.active_power_kw or 0) - STEP_KW) <= 0.02 * STEP_KW
            )
            times.append(time.perf_counter() - started)
    finally:
        await gw.stop()
        await sim.stop()
    return times


async def plant(data: Path) -> tuple[list[float], list[float]]:
    sim, devices = await start_simulated_plant(seed=2, load_kw=40.0, pv_kw=0.0)
    auth, admin = await _login(data)
    gw = Gateway("bench-plant", devices, data_dir=data, auth=auth, limits=LIMITS,
                 control_interval_s=0.2, ids_enabled=False,
                 plant=plant_topology(devices, SiteSettings(poi_meter="poi")))  # fmt: skip
    await gw.start()
    c1, c2 = gw.controllers["pcs1"], gw.controllers["pcs2"]

    def total() -> float:
        return (c1.telemetry.active_power_kw or 0.0) + (c2.telemetry.active_power_kw or 0.0)

    steps, limits = [], []
    try:
        await until(lambda: all(p.status.up for p in gw.pollers.values()))
        await until(lambda: not c1.current_interlocks(time.time()))
        await gw.commands.set_mode(admin, ControlMode.MANUAL, "site")
        for _ in range(RUNS):
            sim.set_current_limits("bms1", dcl_max_a=160.0)
            await gw.commands.command_setpoint(admin, 0.0, "site")
            await until(lambda: abs(total()) < 1.0)
            started = time.perf_counter()
            await gw.commands.command_setpoint(admin, STEP_KW, "site")
            await until(lambda: abs(total() - STEP_KW) <= 0.02 * STEP_KW)
            steps.append(time.perf_counter() - started)
            volts = c1.telemetry.pack_voltage_v or 780.0
            new_kw = 40.0 * volts / 1000
            await gw.commands.command_setpoint(admin, 2 * STEP_KW, "site")
            await until(lambda kw=new_kw: (c1.telemetry.active_power_kw or 0.0) > kw * 1.3)
            started = time.perf_counter()
            sim.set_current_limits("bms1", dcl_max_a=40.0)
            await until(lambda kw=new_kw: (c1.telemetry.active_power_kw or 0.0) <= kw * 1.02)
            limits.append(time.perf_counter() - started)
    finally:
        await gw.stop()
        await sim.stop()
    return steps, limits


async def main() -> int:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        base = await baseline(Path(a))
        steps, limits = await plant(Path(b))
    med_base = statistics.median(base)
    med_step, med_limit = statistics.median(steps), statistics.median(limits)
    print(f"baseline: one battery, Manual 0 -> {STEP_KW:.0f} kW to within 2 %: "
          f"median {med_base:.2f} s (max {max(base):.2f} s)")  # fmt: skip
    print(f"plant: site 0 -> {STEP_KW:.0f} kW to the PCS sum within 2 %: median {med_step:.2f} s "
          f"(max {max(steps):.2f} s), {med_step / med_base:.2f}x the baseline")  # fmt: skip
    print(f"plant: bms1 DCL 160 -> 40 A to pcs1 at the new limit: median {med_limit:.2f} s "
          f"(max {max(limits):.2f} s), {med_limit / med_base:.2f}x the baseline")  # fmt: skip
    ok = med_step <= 2.5 and med_limit <= 2.5
    print("target (both within 2.5 s):", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
