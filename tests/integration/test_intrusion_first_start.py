"""A site's first start raises no intrusion alarm of its own making (issue 30's 100 devices).

Two causes, each reproduced on one device: a baseline learnt while the gateway's loop
was late throughout (every read on the wire in a stall, the start-up's latency held as
the baseline), and an idle battery's measurement noise repeating by chance (a replay).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from bessai.core.config.settings import DeviceConfig
from bessai.core.ids import FEATURES, IntrusionScored, WindowFeatures
from bessai.core.polling.scheduler import sample_from
from bessai.core.site.gateway import Gateway
from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.server import BessSimulator, Fault
from tests.helpers import until

FROZEN = FEATURES.index("frozen")


async def test_an_idle_batterys_noise_repeating_by_chance_is_no_replay() -> None:
    """Simulator seed 81 at 1 s steps: power, pack voltage and temperature read alike three
    windows running at its 88th step (power near 0 kW at 1 W repeats ~1 in 180 windows)."""
    sim = BessSimulator(seed=81, step_hz=0)
    port = await sim.start_tcp("127.0.0.1", 0)
    device = ModbusDevice("bess", load_profile("sim_bess"), TcpEndpoint("127.0.0.1", port))
    feats = WindowFeatures()
    try:

        async def window(ts: float) -> float:
            sim.step(1.0)
            sample = sample_from(device, await device.poll(), ts)
            return float(feats.vector(sample.roles, ts, [])[FROZEN])

        frozen = [await window(float(i)) for i in range(95)]
        assert sum(frozen) == 0, [i for i, f in enumerate(frozen) if f]
        sim.inject(Fault.FROZEN)  # a replay: every register stops following the physics
        replayed = [await window(95.0 + i) for i in range(3)]
        assert replayed[-1] == 1.0
    finally:
        await device.close()
        await sim.stop()


async def hold_until(done: asyncio.Event) -> None:
    """Hold the loop 30 ms at a time, free for 1 ms between, until ``done``."""
    while not done.is_set():
        time.sleep(0.03)  # noqa: ASYNC251 - blocking on purpose: the gateway itself is late
        await asyncio.sleep(0.001)


async def test_a_baseline_learnt_while_the_loop_was_late_throughout_raises_no_alarm(
    tmp_path: Path,
) -> None:
    """Before: the first window's stalled latency (tens of ms) was held through a baseline of
    stalled windows, and the first calm window, 0.6 ms, scored 1.0 on latency_ms."""
    sim = BessSimulator(seed=11)
    port = await sim.start_tcp("127.0.0.1", 0)
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=0.1
    )
    gw = Gateway("first-start", [cfg], data_dir=tmp_path, ids_baseline_s=3.0)
    scores: list[IntrusionScored] = []
    gw.bus.subscribe(IntrusionScored, scores.append)
    fitted = asyncio.Event()
    await gw.start()
    held = asyncio.create_task(hold_until(fitted))
    try:
        await until(lambda: "bess" in gw.ids.models, 20.0, "baseline learnt under a held loop")
        fitted.set()
        await held
        at = len(scores)
        await until(lambda: len(scores) >= at + 15, 5.0, "calm windows scored")
        calm = scores[at:]
        assert max(s.score for s in calm) < 0.7, [(round(s.score, 2), s.driver) for s in calm]
        assert not gw.alarms.get("intrusion_alert", "bess").active
        rogue = AsyncModbusTcpClient("127.0.0.1", port=port)
        await rogue.connect()
        await rogue.write_registers(0, [0x0000, 0xC350], device_id=1)  # 50 kW as i32 W
        rogue.close()
        await until(lambda: any(s.score >= 0.8 for s in scores[at:]), 3.0, "rogue write detected")
        assert gw.alarms.get("intrusion_alert", "bess").active
    finally:
        fitted.set()
        await held
        await gw.stop()
        await sim.stop()
