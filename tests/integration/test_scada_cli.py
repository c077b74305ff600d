"""`bessai --headless` with ``[scada]`` in the site file: the grid operator's master end to end,
and a bad ``[scada]`` value stopping the start with one line."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.helpers import free_port, run_bessai
from tests.integration.iec104_master import Master

CA = 47


def _site(tmp_path: Path, scada: str) -> Path:
    site = tmp_path / "site.toml"
    site.write_text(
        'site_id = "cl-scada-01"\n\n'
        '[[devices]]\nname = "bess"\nprofile = "sim_bess"\nsimulated = true\n'
        "poll_interval_s = 0.2\n\n" + scada
    )
    return site


def _env(tmp_path: Path, site: Path, health_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE"))}
    env.update(SITE_FILE=str(site), DATA_DIR=str(tmp_path / "data"), HEALTH_PORT=str(health_port))
    return env


async def _metric(health_port: int, name: str, label: str = 'device="bess"') -> float | None:
    url = f"http://127.0.0.1:{health_port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return None


@asynccontextmanager
async def _headless(tmp_path: Path, authority: str) -> AsyncIterator[tuple[Master, int]]:
    port, health_port = free_port(), free_port()
    site = _site(
        tmp_path,
        f'[scada]\nauthority = "{authority}"\n\n'
        f"[scada.iec104]\nport = {port}\ncommon_address = {CA}\n",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "--headless",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=_env(tmp_path, site, health_port),
    )
    master: Master | None = None
    try:
        deadline = time.monotonic() + 60
        while await _metric_or_none(health_port) is None:
            assert time.monotonic() < deadline, "the gateway did not come up"
            assert proc.returncode is None, "the gateway ended"
            await asyncio.sleep(0.2)
        master = await asyncio.to_thread(Master, port, CA)
        assert await asyncio.to_thread(master.wait_open, 15.0), "the master did not connect"
        yield master, health_port
    finally:
        if master is not None:
            await asyncio.to_thread(master.close)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()[-2000:]


async def _metric_or_none(health_port: int) -> float | None:
    try:
        return await _metric(health_port, "bessai_battery_soc_ratio")
    except aiohttp.ClientError:
        return None


@pytest.mark.slow
async def test_remote_master_reads_the_site_and_commands_five_kw(tmp_path: Path) -> None:
    async with _headless(tmp_path, "remote") as (master, health_port):
        got = await asyncio.to_thread(master.interrogate)
        soc = await _metric(health_port, "bessai_battery_soc_ratio")
        on = await asyncio.to_thread(master.command, 2101, True)
        setpoint = await asyncio.to_thread(master.command, 2001, 5.0)
        deadline = time.monotonic() + 10.0
        power_w = await _metric(health_port, "bessai_active_power_watts")
        while power_w is None or abs(power_w / 1000 - 5.0) > 1.0:
            assert time.monotonic() < deadline, f"battery at {power_w} W, not +5 kW within 10 s"
            await asyncio.sleep(0.2)
            power_w = await _metric(health_port, "bessai_active_power_watts")
        accepted = await _metric(health_port, "bessai_scada_commands_total", 'outcome="accepted"')
        started = await _metric(health_port, "bessai_scada_connections", 'state="started"')
    assert (accepted, started) == (2.0, 1.0)
    assert soc is not None
    assert got[1002].value == pytest.approx(soc * 100, rel=0.01)
    assert got[3001].value is True
    assert on
    assert setpoint


@pytest.mark.slow
async def test_local_authority_confirms_negatively_and_the_battery_stays_at_zero(
    tmp_path: Path,
) -> None:
    async with _headless(tmp_path, "local") as (master, health_port):
        got = await asyncio.to_thread(master.interrogate)
        on = await asyncio.to_thread(master.command, 2101, True)
        setpoint = await asyncio.to_thread(master.command, 2001, 5.0)
        await asyncio.sleep(2.0)
        power_w = await _metric(health_port, "bessai_active_power_watts")
    assert got[3001].value is False
    assert (on, setpoint) == (False, False)
    assert power_w is not None
    assert abs(power_w) < 500.0


@pytest.mark.parametrize(
    ("scada", "expected"),
    [
        ("[scada.iec104]\nport = 0\n", "scada.iec104.port = 0: Input should be greater than"),
        ('[scada]\nauthority = "grid"\n', "scada.authority = 'grid': Input should be 'local'"),
        (
            '[scada.iec104]\nbind = "0.0.0.0"\n',
            "is not loopback: list the allowed_masters explicitly",
        ),
        ("[scada.iec104]\nk = 4\nw = 8\n", "w = 8 is more than k = 4"),
        ('[scada.iec104]\npoints = "missing.toml"\n', "missing.toml: cannot read"),
        (
            '[scada.iec104]\npoints = "points.toml"\n',
            "points.toml: key point.0: Value error, point 1002 (M_ME_TF_1): source 'soc' is not",
        ),
    ],
)
async def test_a_bad_scada_value_stops_the_start_with_one_line(
    tmp_path: Path, scada: str, expected: str
) -> None:
    (tmp_path / "points.toml").write_text(
        '[[point]]\nioa = 1002\ntype = "M_ME_TF_1"\nsource = "soc"\n'
    )
    site = _site(tmp_path, scada)
    code, _, err = await run_bessai(
        "--headless", "--duration", "1", cwd=tmp_path, env=_env(tmp_path, site, 0)
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1, err
    assert lines[0].startswith("bessai: configuration error: ")
    assert expected in lines[0]
