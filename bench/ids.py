"""Benchmark: intrusion detection on the simulator served on loopback.

1. Scoring speed: one window with the numpy forest against scikit-learn's
   ``score_samples`` on the same fitted forest, in the same run.
2. False alarms: normal operation polled at 20 Hz with the setpoint changed
   every 15 s, for ``--normal-windows`` windows (3,600 by default: as many as an
   hour of 1 Hz polling), counting windows at or above the alarm threshold.
3. Detection: for each scripted attack, the poll cycles from its start until
   the score reaches the alarm threshold (0.7).

4. Fitting: one 600-window baseline grown with numpy in steps (the whole fit,
   and its longest step: the longest it holds the event loop) against
   scikit-learn's ``IsolationForest.fit`` of the same forest, in the same run.

Targets: <= 0.1 ms per window; every attack within 3 poll cycles; no alarm on
normal traffic; no fit step longer than 5 ms.

    python bench/ids.py [--baseline-s 30] [--normal-windows 3600]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from argon2 import PasswordHasher
from sklearn.ensemble import IsolationForest

from bessai.core.config.settings import DeviceConfig
from bessai.core.control.events import ControlMode
from bessai.core.ids import FEATURES, IntrusionModel, IntrusionScored
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role
from bessai.drivers.simulator.attacks import Attack, flood, rogue_master, scan
from bessai.drivers.simulator.server import BessSimulator, Fault

POLL_S = 0.05
ALARM = 0.7


def scoring_speed() -> tuple[float, float]:
    """One whole window score (forest + z-scores) against scikit-learn's forest alone."""
    rng = np.random.default_rng(0)
    train = rng.normal(size=(600, len(FEATURES)))
    model = IntrusionModel.fit(train, seed=0)
    forest = IsolationForest(n_estimators=64, max_samples=256, random_state=0).fit(train)
    row = train[0]
    model.score(row)
    started = time.perf_counter()
    for _ in range(2000):
        model.score(row)
    ours = (time.perf_counter() - started) / 2000
    started = time.perf_counter()
    for _ in range(50):
        forest.score_samples(row.reshape(1, -1))
    theirs = (time.perf_counter() - started) / 50
    return ours * 1000, theirs * 1000


def fitting_speed() -> tuple[float, float, float]:
    """(whole numpy fit, its longest step, scikit-learn's fit), in ms, best of 5."""
    train = np.random.default_rng(2).normal(size=(600, len(FEATURES)))
    whole, longest, theirs = [], [], []
    for seed in range(5):
        steps = IntrusionModel.fitting(train, seed=seed)
        step_ms = []
        started = time.perf_counter()
        while True:
            step = time.perf_counter()
            try:
                next(steps)
            except StopIteration:
                break
            finally:
                step_ms.append((time.perf_counter() - step) * 1000)
        whole.append((time.perf_counter() - started) * 1000)
        longest.append(max(step_ms))
        started = time.perf_counter()
        IsolationForest(n_estimators=64, max_samples=256, random_state=seed).fit(train)
        theirs.append((time.perf_counter() - started) * 1000)
    return min(whole), min(longest), min(theirs)


async def gateway(
    data: Path, baseline_s: float
) -> tuple[Gateway, BessSimulator, int, list[IntrusionScored]]:
    # The simulator's registers update at 50 Hz, faster than the 20 Hz polling, as a real
    # device's do relative to a 1 Hz poll: identical reads then mean frozen values.
    sim = BessSimulator(seed=5, step_hz=50)
    port = await sim.start_tcp("127.0.0.1", 0)
    auth = AuthService(
        data / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    if not auth.has_users():
        await auth.add_user("bench", Role.ADMIN, "bench-password")
    gw = Gateway(
        "bench",
        [
            DeviceConfig(
                name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=POLL_S
            )
        ],
        data_dir=data,
        ids_baseline_s=baseline_s,
        auth=auth,
    )
    scores: list[IntrusionScored] = []
    gw.bus.subscribe(IntrusionScored, scores.append)
    await gw.start()
    return gw, sim, port, scores


async def normal_operation(data: Path, baseline_s: float, windows: int) -> tuple[int, int, float]:
    gw, sim, _, scores = await gateway(data, baseline_s)
    try:
        session = await gw.auth.login("bench", "bench-password")
        while not scores:  # noqa: ASYNC110 - the baseline is being learnt
            await asyncio.sleep(0.5)
        ctl = gw.controller()
        await ctl.set_mode(session, ControlMode.MANUAL)
        start = len(scores)
        rng = np.random.default_rng(1)
        while len(scores) - start < windows:
            await ctl.command_setpoint(session, float(rng.uniform(-60, 60)))
            await asyncio.sleep(15.0)
        window = scores[start : start + windows]
        values = [s.score for s in window]
        drivers = Counter(s.driver for s in window if s.score >= ALARM)
        if drivers:
            print(f"false alarms by driving feature: {dict(drivers)}")
        return len(values), sum(v >= ALARM for v in values), float(np.percentile(values, 99))
    finally:
        await gw.stop()
        await sim.stop()


async def detect(data: Path, attack: Attack) -> int | None:
    gw, sim, port, scores = await gateway(data, 1e9)
    task: asyncio.Task[None] | None = None
    try:
        while len(scores) < 20:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        start = len(scores)
        if attack is Attack.REPLAY:
            sim.inject(Fault.FROZEN)
        else:
            run = {Attack.ROGUE_MASTER: rogue_master, Attack.SCAN: scan, Attack.FLOOD: flood}[
                attack
            ]
            task = asyncio.create_task(run("127.0.0.1", port, 1))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            hit = next((i for i, s in enumerate(scores[start:]) if s.score >= ALARM), None)
            if hit is not None:
                return hit + 1
            await asyncio.sleep(POLL_S)
        return None
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await gw.stop()
        await sim.stop()


async def main(baseline_s: float, windows: int) -> int:
    ours_ms, sklearn_ms = scoring_speed()
    print(
        f"scoring one window: {ours_ms:.4f} ms (numpy forest + z-scores) vs {sklearn_ms:.2f} ms (scikit-learn), "
        f"{sklearn_ms / ours_ms:.0f}x faster; target <= 0.1 ms"
    )
    ok = ours_ms <= 0.1
    fit_ms, step_ms, sklearn_fit_ms = fitting_speed()
    print(
        f"fitting a 600-window baseline: {fit_ms:.1f} ms in steps of at most {step_ms:.1f} ms "
        f"vs {sklearn_fit_ms:.1f} ms (scikit-learn, in one piece); target: steps <= 5 ms"
    )
    ok = ok and step_ms <= 5.0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        n, alarms, p99 = await normal_operation(data, baseline_s, windows)
        print(
            f"normal operation: {n} windows at {1 / POLL_S:.0f} Hz with changing setpoints: "
            f"{alarms} alarm windows ({alarms / n:.3%}), score p99 {p99:.3f} (calibrated for <= 0.3)"
        )
        ok = ok and alarms == 0
        for attack in Attack:
            cycles = await detect(data, attack)
            verdict = (
                "NOT detected in 10 s"
                if cycles is None
                else f"detected after {cycles} poll cycle(s)"
            )
            print(f"attack {attack.value:<13} {verdict}")
            ok = ok and cycles is not None and cycles <= 3
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-s", type=float, default=30.0)
    parser.add_argument("--normal-windows", type=int, default=3600)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.baseline_s, args.normal_windows)))
