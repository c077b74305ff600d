"""Benchmark: a gateway standing for a long time, in accelerated time; does anything grow?

One gateway (in this process, so that its tasks and allocations can be seen)
polls N simulated devices (in a process of their own, as in ``bench/scale.py``)
``--speed`` times faster than 1 Hz, so that each second of the run stands for
``speed`` seconds of a site's operation. Every ``--sample-s`` it records RSS,
open files, threads, asyncio tasks and the size of each store in DATA_DIR.
After the baselines are fitted and ``--warmup-s`` more, the RSS slope
(least squares) is given per simulated day, with its standard error: the run's
resolution, which a short run cannot push below the 1 MB/day target (a month
at 1 Hz is 2.6 million polls per device; at 10x a day takes 2.4 hours). When
the slope misses, tracemalloc runs for ``--trace-s`` more and names the top
growers. The stores are checked against their configured bounds.

    python bench/soak.py [--devices 100] [--speed 5] [--run-s 600] [--warmup-s 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bessai.core.config.settings import DeviceConfig
from bessai.core.ids import IntrusionScored
from bessai.core.site.gateway import Gateway

SCALE = Path(__file__).with_name("scale.py")
HISTORY_MAX_BYTES = 64 * 1024 * 1024
DAY_S = 86400.0


@dataclass(frozen=True)
class Reading:
    run_s: float
    rss_mb: float
    files: int
    threads: int
    tasks: int
    stores: dict[str, int]  # bytes per store, with its -wal and -shm


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def store_sizes(data: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in data.glob("*.db*"):
        name = path.name.split(".db")[0]
        sizes[name] = sizes.get(name, 0) + path.stat().st_size
    return sizes


def read(data: Path, started: float) -> Reading:
    return Reading(
        time.monotonic() - started,
        rss_mb(),
        len(os.listdir("/proc/self/fd")),
        threading.active_count(),
        len(asyncio.all_tasks()),
        store_sizes(data),
    )


def alarms_raised(data: Path) -> Counter[str]:
    """Alarms raised in the alarm log, by code and what drove them."""
    with sqlite3.connect(data / "alarms.db") as db:
        rows = db.execute(
            "SELECT alarm, detail, COUNT(*) FROM alarm_events WHERE event = 'raised'"
            " GROUP BY alarm, detail"
        ).fetchall()
    by_code: Counter[str] = Counter()
    for alarm, detail, count in rows:
        # "d12: latency_ms" -> what drove it, whichever device
        driver = str(detail or "").partition(": ")[2] or str(detail or "")
        by_code[f"{alarm} ({driver})" if driver else alarm] += int(count)
    return by_code


def slope_per_day(readings: list[Reading], speed: float) -> tuple[float, float]:
    """RSS slope in MB per simulated day and its standard error."""
    t = np.array([r.run_s * speed for r in readings])
    y = np.array([r.rss_mb for r in readings])
    if len(t) < 3:
        return math.nan, math.nan
    fit, cov = np.polyfit(t, y, 1, cov=True)
    return float(fit[0] * DAY_S), float(math.sqrt(cov[0][0]) * DAY_S)


async def soak(
    ports: list[int], speed: float, run_s: float, warmup_s: float, sample_s: float, trace_s: float
) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        devices = [
            DeviceConfig(
                name=f"d{i}",
                profile="sim_bess",
                host="127.0.0.1",
                port=port,
                poll_interval_s=1.0 / speed,
            )
            for i, port in enumerate(ports)
        ]
        gw = Gateway(
            "soak",
            devices,
            data_dir=data,
            ids_baseline_s=20.0,
            history_max_bytes=HISTORY_MAX_BYTES,
        )
        scored: set[str] = set()
        gw.bus.subscribe(IntrusionScored, lambda e: scored.add(e.device))
        started = time.monotonic()
        await gw.start()
        try:
            while len(scored) < len(ports):
                if time.monotonic() - started > 120 + 0.5 * len(ports):
                    raise SystemExit(f"only {len(scored)} of {len(ports)} devices scored")
                await asyncio.sleep(1.0)
            all_scored_s = time.monotonic() - started
            print(f"all {len(ports)} devices scoring after {all_scored_s:.0f} s", flush=True)
            readings: list[Reading] = []
            while time.monotonic() - started < all_scored_s + run_s:
                readings.append(read(data, started))
                await asyncio.sleep(sample_s)
            steady = [r for r in readings if r.run_s >= all_scored_s + warmup_s]
            slope, error = slope_per_day(steady, speed)
            first, last = readings[0], readings[-1]
            simulated_h = (last.run_s - first.run_s) * speed / 3600
            print(f"{simulated_h:.1f} h of 1 Hz operation ({speed:g}x) after the fits:")
            print(f"  RSS        {first.rss_mb:7.1f} -> {last.rss_mb:7.1f} MB")
            for label, a, b in (
                ("open files", first.files, last.files),
                ("threads", first.threads, last.threads),
                ("tasks", first.tasks, last.tasks),
            ):
                print(f"  {label:<10} {a:7d} -> {b:7d}")
            for name in sorted(last.stores):
                a_mb = first.stores.get(name, 0) / 1e6
                print(f"  {name + '.db':<10} {a_mb:7.1f} -> {last.stores[name] / 1e6:7.1f} MB")
            seen = max(1, gw.ids.requests_seen)
            lag = gw.loop_lag
            print(
                f"  loop ticks late by more than {lag.tolerance_s * 1000:g} ms: "
                f"{lag.late_ticks / max(1, lag.ticks):.1%} of {lag.ticks}, "
                f"worst {lag.worst_s * 1000:.0f} ms"
            )
            raised = alarms_raised(data)
            print(f"  alarms raised: {sum(raised.values())} {dict(raised.most_common(5))}")
            print(
                f"  requests whose latency was left out (on the wire in a loop stall): "
                f"{gw.ids.requests_stalled / seen:.1%} of {seen}"
            )
            print(
                f"  RSS slope after {warmup_s:g} s of warm-up: {slope:+.1f} "
                f"± {error:.1f} MB per simulated day"
            )
            checks = [
                (f"RSS slope {slope:+.1f} MB/day (target <= 1)", slope <= 1.0),
                (
                    f"history {last.stores.get('history', 0) / 1e6:.1f} MB "
                    f"(bound {HISTORY_MAX_BYTES / 1e6:.0f} MB)",
                    last.stores.get("history", 0) <= HISTORY_MAX_BYTES * 1.1,
                ),
                (f"open files {first.files} -> {last.files}", last.files <= first.files + 2),
                (f"tasks {first.tasks} -> {last.tasks}", last.tasks <= first.tasks + 2),
                (f"threads {first.threads} -> {last.threads}", last.threads <= first.threads + 2),
            ]
            if slope > 1.0 and trace_s > 0:
                tracemalloc.start(5)
                before = tracemalloc.take_snapshot()
                await asyncio.sleep(trace_s)
                after = tracemalloc.take_snapshot()
                tracemalloc.stop()
                print(f"top growers over {trace_s:g} s (tracemalloc):")
                for stat in after.compare_to(before, "traceback")[:8]:
                    frame = stat.traceback[-1]
                    print(
                        f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks "
                        f"{frame.filename}:{frame.lineno}"
                    )
        finally:
            await gw.stop()
    ok = True
    for label, met in checks:
        print(("PASS " if met else "MISS ") + label)
        ok = ok and met
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--run-s", type=float, default=600.0)
    parser.add_argument("--warmup-s", type=float, default=120.0)
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--trace-s", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ports_file = Path(tmp) / "ports.json"
        sims = subprocess.Popen(
            [
                sys.executable,
                str(SCALE),
                "--serve",
                str(args.devices),
                "--ports-file",
                str(ports_file),
            ]
        )
        try:
            while not ports_file.exists():
                time.sleep(0.1)
            ports = json.loads(ports_file.read_text())
            return asyncio.run(
                soak(ports, args.speed, args.run_s, args.warmup_s, args.sample_s, args.trace_s)
            )
        finally:
            sims.terminate()
            sims.wait(15)


if __name__ == "__main__":
    raise SystemExit(main())
