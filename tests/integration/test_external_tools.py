"""The simulator is a standard Modbus server: Debian's mbpoll reads it, and RTU works over a socat pty pair."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bessai.drivers.device import ModbusDevice, SerialEndpoint
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.server import BessSimulator


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: .ci/run installs it (apt-get install {tool})")
    return path


async def run(*cmd: str, timeout_s: float = 20) -> str:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode == 0, out.decode()
    return out.decode()


def values(output: str) -> list[int]:
    return [
        int(line.split(":")[1].split()[0]) for line in output.splitlines() if line.startswith("[")
    ]


async def test_mbpoll_reads_and_writes_the_simulator(simulator: tuple[BessSimulator, int]) -> None:
    sim, port = simulator
    mbpoll = need("mbpoll")
    sim.model.soc_pct = 71.25
    sim.refresh_image()
    # Input registers 1..2 (1-based): SoC in 0.01 % and SoH.
    out = await run(
        mbpoll,
        "-m",
        "tcp",
        "-p",
        str(port),
        "-a",
        "1",
        "-t",
        "3",
        "-r",
        "1",
        "-c",
        "2",
        "-1",
        "127.0.0.1",
    )
    assert values(out) == [7125, 9850]
    # Write the heartbeat (holding register 4, 1-based) as another master would.
    await run(
        mbpoll,
        "-m",
        "tcp",
        "-p",
        str(port),
        "-a",
        "1",
        "-t",
        "4",
        "-r",
        "4",
        "-1",
        "127.0.0.1",
        "42",
    )
    assert sim.model.heartbeat == 42


@pytest.fixture
async def pty_pair(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    socat = need("socat")
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    proc = await asyncio.create_subprocess_exec(
        socat,
        "-d",
        f"pty,raw,echo=0,link={a}",
        f"pty,raw,echo=0,link={b}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if a.exists() and b.exists():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("socat did not create the pty pair")
        yield str(a), str(b)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 5)


async def test_rtu_poll_and_write_over_a_socat_pty_pair(pty_pair: tuple[str, str]) -> None:
    server_end, client_end = pty_pair
    sim = BessSimulator(step_hz=0)
    sim.model.soc_pct = 33.3
    sim.refresh_image()
    await sim.start_rtu(server_end, baudrate=19200)
    dev = ModbusDevice(
        "rtu", load_profile("sim_bess"), SerialEndpoint(client_end, baudrate=19200), timeout_s=1.0
    )
    try:
        result = await dev.poll()
        assert result.complete, result.errors
        assert result.values["soc_pct"] == pytest.approx(33.3, abs=0.01)
        assert await dev.write("setpoint_power_kw", 12.0) == pytest.approx(12.0)
        assert sim.model.setpoint_kw == pytest.approx(12.0)
        # RTU frame: unit (1) + fc (1) + address (2) + count (2) + CRC (2).
        assert dev.traffic[0].bytes_sent == 8
    finally:
        await dev.close()
        await sim.stop()


async def test_bessai_simulate_serves_other_tools_and_stops_on_sigterm(tmp_path: Path) -> None:
    mbpoll = need("mbpoll")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "simulate",
        "--port",
        "0",
        "--seed",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("simulator sim_bess on tcp://127.0.0.1:")
        port = line.split(":")[2].split()[0]
        out = await run(
            mbpoll,
            "-m",
            "tcp",
            "-p",
            port,
            "-a",
            "1",
            "-t",
            "3",
            "-r",
            "1",
            "-c",
            "1",
            "-1",
            "127.0.0.1",
        )
        assert values(out) == [5000]
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    assert b"Traceback" not in err
