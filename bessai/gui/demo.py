"""A demo site for screenshots and benchmarks: the embedded simulator and two demo accounts.

Not part of the operator's app: ``make screenshots`` and ``bench/gui.py`` use it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Role
from bessai.drivers.simulator.physics import BatteryModel

# What the demo battery did before the app started: (seconds, setpoint kW), in order.
DEMO_SCHEDULE = [(600, 60.0), (300, 0.0), (600, -50.0), (300, 30.0)]

if TYPE_CHECKING:
    from bessai.core.config.settings import SiteFile


async def demo_gateway(
    data_dir: Path,
    *,
    ids_baseline_s: float = 600.0,
    devices: tuple[str, ...] = ("bess-sim",),
    site: SiteFile | None = None,
) -> Gateway:
    """A started gateway with demo accounts (screenshots, benchmarks): on the embedded
    simulator (one simulated battery per name), or on a site file's devices and plant."""
    from argon2 import PasswordHasher

    from bessai.core.config.settings import DeviceConfig
    from bessai.core.stores.auth import AuthService

    auth = AuthService(
        data_dir / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    await auth.add_user("demo-admin", Role.ADMIN, "hunter2-demo")
    admin = await auth.login("demo-admin", "hunter2-demo")
    await auth.add_user("demo-engineer", Role.ENGINEER, "hunter2-demo", by=admin)
    await auth.add_user("demo-operator", Role.OPERATOR, "hunter2-demo", by=admin)
    configs = [
        DeviceConfig(name=name, profile="sim_bess", simulated=True, poll_interval_s=0.5)
        for name in devices
    ]
    gateway = Gateway(
        site.site_id or "cl-demo-01" if site is not None else "cl-demo-01",
        site.devices if site is not None else configs,
        data_dir=data_dir,
        auth=auth,
        ids_baseline_s=ids_baseline_s,
        limits=site.limits if site is not None else None,
        plant=site.plant if site is not None else None,
    )
    await gateway.start()
    return gateway


def _run_schedule(soc_pct: float, seed: int) -> BatteryModel:
    model = BatteryModel(seed=seed, soc_pct=soc_pct)
    model.watchdog_timeout_s = 0.0  # nobody writes a heartbeat offline
    return model


async def prefill_history(gateway: Gateway, device: str, seed: int = 7) -> None:
    """Run the simulator's physics through ``DEMO_SCHEDULE`` in simulated time (seconds of
    it per millisecond) and write each second into local history, ending now at the live
    simulator's SoC: the charts then open on half an hour of operation."""
    live_soc = gateway.simulators[device].model.soc_pct
    dry = _run_schedule(live_soc, seed)
    for seconds, setpoint_kw in DEMO_SCHEDULE:
        dry.write_setpoint(setpoint_kw)
        for _ in range(seconds):
            dry.step(1.0)
    model = _run_schedule(2 * live_soc - dry.soc_pct, seed)
    total_s = sum(seconds for seconds, _ in DEMO_SCHEDULE)
    ts = time.time() - total_s
    for seconds, setpoint_kw in DEMO_SCHEDULE:
        model.write_setpoint(setpoint_kw)
        for _ in range(seconds):
            model.step(1.0)
            m = model.measure()
            gateway.history.add(
                device,
                ts,
                "good",
                {
                    "soc_pct": m.soc_pct,
                    "active_power_kw": m.active_power_kw,
                    "setpoint_power_kw": setpoint_kw,
                    "battery_temp_c": m.battery_temp_c,
                    "pack_voltage_v": m.pack_voltage_v,
                    "pack_current_a": m.pack_current_a,
                    "grid_power_kw": m.grid_power_kw,
                    "pv_power_kw": m.pv_power_kw,
                },
            )
            ts += 1.0
    await gateway.history.flush()
