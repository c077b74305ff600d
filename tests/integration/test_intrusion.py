"""Intrusion detection end to end: a baseline learnt on the simulator, then each attack caught."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from bessai.core.config.settings import DeviceConfig
from bessai.core.guard.safety import Reason
from bessai.core.ids import IntrusionScored, Score
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.attacks import Attack, flood, scan
from bessai.drivers.simulator.server import BessSimulator, Fault
from tests.helpers import until


async def start(tmp_path: Path) -> tuple[Gateway, BessSimulator, int, list[IntrusionScored]]:
    sim = BessSimulator(seed=11)
    port = await sim.start_tcp("127.0.0.1", 0)
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=0.1
    )
    gw = Gateway("ids-site", [cfg], data_dir=tmp_path, ids_baseline_s=4.0, control_interval_s=0.1)
    scores: list[IntrusionScored] = []
    gw.bus.subscribe(IntrusionScored, scores.append)
    # The whole score (each feature's z) beside the event, for a failure's message.
    gw.bus.subscribe(IntrusionScored, lambda e: DETAILS.append(gw.ids.scores[e.device]))
    await gw.start()
    return gw, sim, port, scores


DETAILS: list[Score] = []


def high(scores: list[IntrusionScored], limit: float = 0.7) -> list[object]:
    """The windows at or above the limit, with every feature's z-score."""
    out: list[object] = []
    for i, s in enumerate(scores):
        if s.score >= limit:
            detail = next((d for d in DETAILS if d.value == s.score), None)
            z = {k: round(v, 2) for k, v in detail.z.items()} if detail else {}
            out.append((i, round(s.score, 2), s.driver, z))
    return out


async def test_unknown_then_calm_then_a_rogue_master_is_caught_and_locks_out(
    tmp_path: Path,
) -> None:
    gw, sim, port, scores = await start(tmp_path)
    try:
        assert gw.ids.score("bess") is None
        await until(lambda: len(scores) >= 20, 15.0, "baseline learnt and scoring")
        calm = [s.score for s in scores]
        assert max(calm) < 0.7, high(scores)
        assert (tmp_path / "ids-bess.npz").exists()
        await gw.history.flush()  # the score is in local history too, for the charts
        now = time.time()
        series = gw.history.query("bess", "intrusion_score", now - 60, now + 1, 600)
        assert len(series.values) > 0
        assert max(series.values) < 0.7
        # Another master on the network writes the setpoint register (50 kW as i32 W).
        rogue = AsyncModbusTcpClient("127.0.0.1", port=port)
        await rogue.connect()
        at = len(scores)
        await rogue.write_registers(0, [0x0000, 0xC350], device_id=1)
        rogue.close()
        await until(lambda: any(s.score >= 0.8 for s in scores[at:]), 3.0, "rogue write detected")
        first = next(i for i, s in enumerate(scores[at:]) if s.score >= 0.8)
        assert first <= 2  # within three poll cycles
        assert any(
            "foreign_write" in s.driver for s in scores[at : at + first + 3] if s.score >= 0.8
        )
        assert gw.alarms.get("intrusion_alert", "bess").active
        interlocks = gw.controller().current_interlocks(time.time())
        assert Reason.INTERLOCK_INTRUSION in [i.reason for i in interlocks]
        assert gw.intrusion_summary().state == "scoring"
    finally:
        await gw.stop()
        await sim.stop()


async def test_frozen_values_are_caught(tmp_path: Path) -> None:
    gw, sim, _, scores = await start(tmp_path)
    try:
        await until(lambda: len(scores) >= 10, 15.0, "scoring")
        at = len(scores)
        sim.inject(Fault.FROZEN)  # a replay: the registers stop following the physics
        await until(lambda: any(s.score >= 0.8 for s in scores[at:]), 3.0, "frozen values detected")
        first = next(i for i, s in enumerate(scores[at:]) if s.score >= 0.8)
        assert first <= 3  # the freeze shows once three windows agree to the last digit
        assert any("frozen" in s.driver for s in scores[at:] if s.score >= 0.8)
    finally:
        await gw.stop()
        await sim.stop()


@pytest.mark.parametrize("attack", [Attack.SCAN, Attack.FLOOD])
async def test_another_masters_scan_or_flood_shows_in_the_device_counters(
    tmp_path: Path, attack: Attack
) -> None:
    gw, sim, port, scores = await start(tmp_path)
    task: asyncio.Task[None] | None = None
    try:
        await until(lambda: len(scores) >= 10, 15.0, "scoring")
        assert max(s.score for s in scores) < 0.7, high(scores)
        at = len(scores)
        run = scan if attack is Attack.SCAN else flood
        task = asyncio.create_task(run("127.0.0.1", port, 1))
        await until(lambda: any(s.score >= 0.8 for s in scores[at:]), 3.0, f"{attack} detected")
        first = next(i for i, s in enumerate(scores[at:]) if s.score >= 0.8)
        assert first <= 2  # within three poll cycles
        # Requests, or the exceptions for the unmapped addresses they hit, beyond the gateway's own.
        assert scores[at + first].driver.startswith("foreign_")
        assert gw.alarms.get("intrusion_alert", "bess").active
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await gw.stop()
        await sim.stop()


async def test_a_saved_baseline_is_used_after_a_restart(tmp_path: Path) -> None:
    gw, sim, _, scores = await start(tmp_path)
    try:
        await until(lambda: len(scores) >= 3, 15.0, "scoring")
    finally:
        await gw.stop()
        await sim.stop()
    gw2, sim2, _, scores2 = await start(tmp_path)
    try:
        # Scoring from its first polls: a relearnt baseline would take 4 s of silence first.
        started = asyncio.get_running_loop().time()
        await until(lambda: len(scores2) >= 3, 2.0, "scoring at once from the saved baseline")
        assert asyncio.get_running_loop().time() - started < 2.0
        summary = gw2.intrusion_summary()
        assert summary.state == "scoring"
        assert all(0.0 <= s.score <= 1.0 for s in scores2)
    finally:
        await gw2.stop()
        await sim2.stop()
