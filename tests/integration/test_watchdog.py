"""The device watchdog: a gateway killed with SIGKILL stops its heartbeat, and the simulator drops to standby."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from argon2 import PasswordHasher

from bessai.core.stores.auth import AuthService, Role
from bessai.drivers.simulator.physics import DeviceState
from bessai.drivers.simulator.server import BessSimulator


async def test_sigkilled_gateway_leaves_the_device_to_fall_back_to_standby(tmp_path: Path) -> None:
    auth = AuthService(
        tmp_path / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    await auth.add_user("ana", Role.ADMIN, "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=await auth.login("ana", "271828"))
    auth.close()

    sim = BessSimulator(seed=9)
    sim.model.watchdog_timeout_s = 3.0
    port = await sim.start_tcp("127.0.0.1", 0)
    env = {
        **os.environ,
        "INVERTER_IP": "127.0.0.1",
        "INVERTER_PORT": str(port),
        "DATA_DIR": str(tmp_path),
        "WATCHDOG_TIMEOUT": "1",
        "POLL_INTERVAL_S": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "--headless",
        "--login",
        "olga",
        "--mode",
        "manual",
        "--setpoint-kw",
        "30",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(b"314159\n")
    await proc.stdin.drain()
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode() for _ in range(2)]
        assert lines[0].startswith("mode manual: ok"), lines
        assert lines[1].startswith("setpoint +30.0 kW: ok +30.0 kW"), lines
        deadline = time.monotonic() + 10
        while sim.model.power_kw < 29.0:
            assert time.monotonic() < deadline, "the simulator never followed the setpoint"
            await asyncio.sleep(0.05)
        assert sim.model.state is DeviceState.RUNNING
        beats = sim.model.heartbeat
        await asyncio.sleep(1.5)
        assert sim.model.heartbeat > beats  # the gateway keeps the watchdog fed
        proc.kill()  # SIGKILL: no clean shutdown, no last zero setpoint
        killed_at = time.monotonic()
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        while sim.model.state is not DeviceState.WATCHDOG_STANDBY:
            assert time.monotonic() - killed_at < 6.0, "watchdog did not trip"
            await asyncio.sleep(0.05)
        tripped_after = time.monotonic() - killed_at
        assert (
            tripped_after <= 3.0 + 1.0
        )  # the device's timeout, plus the last beat's age and a step
        assert sim.model.setpoint_kw == 0.0
        deadline = time.monotonic() + 5
        while sim.model.power_kw > 0.0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sim.stop()
