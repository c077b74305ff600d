"""Devices the built-in simulator plays: a BESS simulator served on 127.0.0.1 per device.

For a site file's ``simulated = true`` devices and the out-of-the-box demo. Its
sun follows the site's clock, so that the dispatcher sees PV by day.
"""

from __future__ import annotations

from bessai.core.config.settings import DeviceConfig
from bessai.drivers.device import TcpEndpoint
from bessai.drivers.profile import Profile
from bessai.drivers.simulator.physics import BatteryParams
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
