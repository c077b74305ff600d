"""Devices the built-in simulator plays: a BESS simulator served on 127.0.0.1 per device.

For a site file's ``simulated = true`` devices and the out-of-the-box demo. Its
sun follows the site's clock, so that the dispatcher sees PV by day.
"""

from __future__ import annotations

from bessai.core.config.settings import DeviceConfig
from bessai.core.guard.safety import SafetyLimits
from bessai.drivers.device import TcpEndpoint
from bessai.drivers.profile import Profile
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.physics import BatteryParams
from bessai.drivers.simulator.plant import PlantDevice, PlantSimulator
from bessai.drivers.simulator.server import BessSimulator


async def start_simulated(
    cfg: DeviceConfig, profile: Profile, *, seed: int, local_hour: float
) -> tuple[BessSimulator, TcpEndpoint]:
    """A started simulator for the device and the endpoint to poll it at."""
    sim = BessSimulator(
        profile, seed=seed, unit_id=cfg.unit_id, params=BatteryParams(start_hour=local_hour)
    )
    port = await sim.start_tcp("127.0.0.1", cfg.port or 0)
    return sim, TcpEndpoint("127.0.0.1", port)


#: The two-PCS plant: each PCS drives the rack of its BMS; the meter at the POI.
TWO_PCS_PLANT = {"pcs1": "bms1", "pcs2": "bms2"}
#: Its inverters' limits: 100 kW each way, the racks' 600..900 V pack and 58 °C trip.
TWO_PCS_LIMITS = SafetyLimits(
    soc_floor_pct=10,
    soc_ceiling_pct=90,
    max_charge_kw=100,
    max_discharge_kw=100,
    max_ramp_kw_per_s=50,
    temp_trip_c=58,
    pack_voltage_min_v=600,
    pack_voltage_max_v=900,
)


async def start_simulated_plant(
    *,
    seed: int,
    load_kw: float,
    pv_kw: float,
    poll_interval_s: float = 0.2,
    timeout_s: float | None = None,
    step_hz: float = 10.0,
) -> tuple[PlantSimulator, list[DeviceConfig]]:
    """Two PCS each with its BMS, and the POI meter, on the coupled plant simulator over
    loopback (free ports); and the site's devices that reach them (the tests' and benches'
    plant, the shipped example's wiring)."""
    pcs, bms, meter = (load_profile(p) for p in ("sim_pcs", "sim_bms", "sim_meter"))
    plant = [
        PlantDevice(n, pcs, "inverter", "127.0.0.1", 0, batteries=(b,))
        for n, b in TWO_PCS_PLANT.items()
    ]
    plant += [PlantDevice(b, bms, "bms", "127.0.0.1", 0) for b in TWO_PCS_PLANT.values()]
    plant.append(PlantDevice("poi", meter, "meter", "127.0.0.1", 0))
    sim = PlantSimulator(plant, seed=seed, step_hz=step_hz, load_kw=load_kw, pv_kw=pv_kw)
    ports = await sim.start()
    devices = [
        DeviceConfig(
            name=d.name,
            role=d.role,
            profile=d.profile.id,
            host="127.0.0.1",
            port=ports[d.name],
            poll_interval_s=poll_interval_s,
            battery=TWO_PCS_PLANT.get(d.name),
            timeout_s=timeout_s,
        )
        for d in plant
    ]
    return sim, devices
