"""A demo site for screenshots and benchmarks: the embedded simulator and two demo accounts.

Not part of the operator's app: ``make screenshots`` and ``bench/gui.py`` use it.
"""

from __future__ import annotations

from pathlib import Path

from bessai.core.auth import Role
from bessai.core.gateway import Gateway


async def demo_gateway(data_dir: Path) -> Gateway:
    """A started gateway on the embedded simulator with demo accounts (screenshots, benchmarks)."""
    from argon2 import PasswordHasher

    from bessai.core.auth import AuthService
    from bessai.core.config import DeviceConfig

    auth = AuthService(
        data_dir / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    await auth.add_user("demo-admin", Role.ADMIN, "hunter2-demo")
    admin = await auth.login("demo-admin", "hunter2-demo")
    await auth.add_user("demo-engineer", Role.ENGINEER, "hunter2-demo", by=admin)
    gateway = Gateway(
        "cl-demo-01",
        [DeviceConfig(name="bess-sim", profile="sim_bess", simulated=True, poll_interval_s=0.5)],
        data_dir=data_dir,
        auth=auth,
    )
    await gateway.start()
    return gateway
