"""The scripted attacks stay well-behaved guests of the event loop they share with their target.

Each scenario runs on a loop of its own in a daemon thread, so that an attack
that spins or ignores its cancellation fails its test instead of hanging the suite.
"""

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


def run_in_own_loop(scenario: Callable[[], Coroutine[Any, Any, None]], join_s: float) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        # A plain loop, whatever policy an earlier GUI test left installed (qasync's
        # would build a Qt event loop in this thread).
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            try:
                runner.run(scenario())
            except BaseException as exc:  # handed to the test's thread below
                errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(join_s)
    assert not thread.is_alive(), "the attack froze its event loop or would not stop"
    if errors:
        raise errors[0]


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
    beats: list[float] = []
    seen: dict[str, float] = {}

    async def scenario() -> None:
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
        seen["vanished_at"] = time.monotonic()
        # By the second second the attack's requests have timed out and its
        # connections are gone.
        await asyncio.sleep(2.0)
        started = time.monotonic()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        seen["cancel_s"] = time.monotonic() - started
        beat.cancel()

    run_in_own_loop(scenario, 10.0)
    late = [b for b in beats if b > seen["vanished_at"] + 1.0]
    assert len(late) >= 10  # ~20 expected at 20 Hz over that second
    assert seen["cancel_s"] < 1.0


def test_a_flood_stops_at_once_however_its_cancellation_lands() -> None:
    """Python 3.11's wait_for inside pymodbus swallows a cancel that meets an answer (~1 in 3 here)."""
    stop_s: list[float] = []

    async def scenario() -> None:
        sim = BessSimulator(seed=4)
        port = await sim.start_tcp("127.0.0.1", 0)
        for _ in range(10):
            task = asyncio.create_task(flood("127.0.0.1", port, 1))
            await asyncio.sleep(0.15)
            started = time.monotonic()
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=2.0)
            assert done, "a flood went on after its cancel"
            stop_s.append(time.monotonic() - started)
        await sim.stop()

    run_in_own_loop(scenario, 30.0)
    assert len(stop_s) == 10
    assert max(stop_s) < 1.0, stop_s
