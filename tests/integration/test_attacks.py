"""The scripted attacks stay well-behaved guests of the event loop they share with their target."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from bessai.drivers.simulator.attacks import flood, rogue_master, scan
from bessai.drivers.simulator.server import BessSimulator

AttackRun = Callable[[str, int], Coroutine[Any, Any, None]]


def heartbeat_after_target_vanishes(attack: AttackRun) -> tuple[int, float]:
    """Run `attack` and a heartbeat on one loop in a thread; stop the target mid-attack.

    Returns the heartbeats counted in the last second of the 2 s after the
    simulator went away (by then the attack's requests have timed out and its
    connections have dropped) and how long cancelling the attack took. The loop lives in a daemon thread so that
    an attack that spins without yielding fails this test rather than hanging it.
    """
    beats: list[float] = []
    result: dict[str, float] = {}
    vanished = threading.Event()

    async def main() -> None:
        sim = BessSimulator(seed=3)
        port = await sim.start_tcp("127.0.0.1", 0)

        async def heartbeat() -> None:
            while True:
                beats.append(time.monotonic())
                await asyncio.sleep(0.05)

        beat = asyncio.create_task(heartbeat())
        task = asyncio.create_task(attack("127.0.0.1", port))
        await asyncio.sleep(0.5)
        await sim.stop()  # the device restarts: every connection drops
        result["vanished_at"] = time.monotonic()
        vanished.set()
        await asyncio.sleep(2.0)
        started = time.monotonic()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        result["cancel_s"] = time.monotonic() - started
        beat.cancel()

    def run() -> None:
        # A plain loop, whatever policy an earlier GUI test left installed (qasync's
        # would build a Qt event loop in this thread).
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            runner.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10.0)
    assert vanished.is_set(), "the attack froze the loop before the target went away"
    assert not thread.is_alive(), "the attack froze the event loop once its target went away"
    after = [b for b in beats if b > result["vanished_at"] + 1.0]
    return len(after), result["cancel_s"]


@pytest.mark.parametrize(
    "attack",
    [
        lambda host, port: flood(host, port, 1, timeout_s=0.1),
        lambda host, port: scan(host, port, 1, timeout_s=0.1),
        lambda host, port: rogue_master(host, port, 1, every_s=0.05, timeout_s=0.1),
    ],
    ids=["flood", "scan", "rogue_master"],
)
def test_an_attack_keeps_yielding_and_stops_when_its_target_vanishes(attack: AttackRun) -> None:
    beats, cancel_s = heartbeat_after_target_vanishes(attack)
    assert beats >= 10  # ~20 expected at 20 Hz over that second
    assert cancel_s < 1.0
