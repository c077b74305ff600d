"""The detector does not take the gateway's own stalls for an attack, and still sees one during them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from bessai.core.config.settings import DeviceConfig
from bessai.core.ids import IntrusionScored
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import until


async def start(tmp_path: Path) -> tuple[Gateway, BessSimulator, int, list[IntrusionScored]]:
    sim = BessSimulator(seed=11)
    port = await sim.start_tcp("127.0.0.1", 0)
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=0.1
    )
    gw = Gateway("stall-site", [cfg], data_dir=tmp_path, ids_baseline_s=4.0, control_interval_s=0.1)
    scores: list[IntrusionScored] = []
    gw.bus.subscribe(IntrusionScored, scores.append)
    await gw.start()
    await until(lambda: len(scores) >= 10, 20.0, "baseline learnt and scoring")
    return gw, sim, port, scores


async def hold_the_loop(duration_s: float) -> None:
    """Hold the event loop for 100 ms at a time, free for 1 ms between: whatever request
    is on the wire when the hold begins is answered in time but read 100 ms late."""
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        time.sleep(0.1)  # noqa: ASYNC251 - blocking on purpose: the gateway itself is late
        await asyncio.sleep(0.001)


def spin(duration_s: float) -> None:
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        pass


async def contend_for_the_gil(duration_s: float) -> None:
    """Pure Python in a worker thread, as a fit in ``asyncio.to_thread`` was: the loop waits
    up to a switch interval for the interpreter each time a socket becomes readable."""
    await asyncio.to_thread(spin, duration_s)


STALLS = {"held": hold_the_loop, "gil": contend_for_the_gil}


def intrusion_alarm_active(gw: Gateway) -> bool:
    return any(a.active for a in gw.alarms.instances("intrusion_alert"))


@pytest.mark.parametrize("kind", sorted(STALLS))
async def test_the_gateways_own_stalls_raise_no_intrusion_alarm(tmp_path: Path, kind: str) -> None:
    """Without the loop-lag meter the held loop scores 1.0 on latency_ms, and so, most runs,
    does the contention."""
    gw, sim, _, scores = await start(tmp_path)
    try:
        assert max(s.score for s in scores) < 0.7
        at = len(scores)
        await STALLS[kind](3.0)
        await until(lambda: len(scores) >= at + 10, 5.0, "windows scored through the stalls")
        assert len(gw.loop_lag.stalls) >= 10  # the meter saw the loop late
        during = scores[at:]
        assert max(s.score for s in during) < 0.7, [(s.score, s.driver) for s in during]
        assert not intrusion_alarm_active(gw)
    finally:
        await gw.stop()
        await sim.stop()


async def test_a_rogue_master_during_a_stall_is_still_caught(tmp_path: Path) -> None:
    gw, sim, port, scores = await start(tmp_path)
    try:
        at = len(scores)
        stalls = asyncio.create_task(hold_the_loop(3.0))
        await asyncio.sleep(0.5)
        rogue = AsyncModbusTcpClient("127.0.0.1", port=port)
        await rogue.connect()
        await rogue.write_registers(0, [0x0000, 0xC350], device_id=1)  # 50 kW as i32 W
        rogue.close()
        await until(lambda: any(s.score >= 0.8 for s in scores[at:]), 3.0, "rogue write detected")
        assert not stalls.done()  # caught while the loop was still being held
        caught = [s for s in scores[at:] if s.score >= 0.8]
        assert "foreign_write" in caught[0].driver
        assert intrusion_alarm_active(gw)
        await stalls
    finally:
        await gw.stop()
        await sim.stop()
