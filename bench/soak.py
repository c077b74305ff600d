"""Benchmark: a gateway standing for a month, in accelerated time; does anything grow?

One gateway (in this process, so that its tasks and allocations can be seen)
polls N simulated devices (in a process of their own, as in ``bench/scale.py``)
at ``--poll-hz``. Once every device scores, its wall clock (the one that stamps
samples and drives the stores' retention) runs ``--days`` simulated days in
``--run-s`` real seconds, so that history's 7-day raw retention, its size bound,
the outbox's row and byte bounds and the minute aggregates see a month of
stamps. At that pace a device's samples are ``factor / poll_hz`` simulated
seconds apart, so each is a minute of its own (ten minute-aggregate rows a
sample, sixty times a real site's): the bench keeps minutes for 7 days, not a
year, and the safety limit on a sample's age is stretched by the same factor
(the stale check ages samples on the wall clock). Every ``--sample-s`` it records RSS, open files, threads, asyncio tasks
and each store's size. After ``--warmup-days`` the RSS slope (least squares)
is given per simulated day with its standard error, and per day of 1 Hz polls
(what grows with each request rather than with time; a run of minutes
resolves it only to a few MB/day, the figure printed beside it). When the
slope misses, tracemalloc runs for ``--trace-s`` more and names the top growers.

    python bench/soak.py [--devices 100] [--poll-hz 2] [--days 30] [--run-s 480]
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
from bessai.core.guard.safety import SafetyLimits
from bessai.core.ids import IntrusionScored
from bessai.core.runtime.clock_watch import ClockWatch
from bessai.core.site.gateway import Gateway
from bessai.core.stores.outbox import Outbox

SCALE = Path(__file__).with_name("scale.py")
HISTORY_MAX_BYTES = 32 * 1024 * 1024
OUTBOX_MAX_ROWS = 20_000  # no cloud in the bench: the outbox fills and its bounds hold it
OUTBOX_MAX_BYTES = 8 * 1024 * 1024
RAW_RETENTION_S = 7 * 86400.0
MINUTE_RETENTION_S = 7 * 86400.0  # see above: a minute a sample at this pace
DAY_S = 86400.0


class SimulatedClock:
    """A wall clock that runs ``factor`` times faster than the monotonic one once told to."""

    def __init__(self) -> None:
        self._wall0, self._mono0, self.factor = time.time(), time.monotonic(), 1.0

    def __call__(self) -> float:
        return self._wall0 + self.factor * (time.monotonic() - self._mono0)

    def accelerate(self, factor: float) -> None:
        self._wall0, self._mono0, self.factor = self(), time.monotonic(), factor


@dataclass(frozen=True)
class Reading:
    run_s: float  # real seconds since acceleration
    sim_s: float  # simulated seconds since acceleration
    rss_mb: float
    files: int
    threads: int
    tasks: int
    stores: dict[str, int]  # bytes per store, with its -wal and -shm
    raw_span_s: float  # newest - oldest raw sample in history (retention at work)
    minute_span_s: float
    history_used: int  # bytes of history's pages in use (what its bound counts)
    outbox_bytes: int  # bytes of the outbox's messages (what its byte bound counts)


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


def history_facts(data: Path) -> tuple[float, float, int]:
    """The raw and minute tables' spans (s) and the bytes of history's pages in use."""
    with sqlite3.connect(data / "history.db") as db:
        spans = [
            db.execute(f"SELECT MAX(ts) - MIN(ts) FROM {table}").fetchone()[0] or 0.0
            for table in ("raw", "minute")
        ]
        pages, free, size = (
            db.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("page_count", "freelist_count", "page_size")
        )
    return float(spans[0]), float(spans[1]), (pages - free) * size


async def read(
    data: Path, started: float, clock: SimulatedClock, sim0: float, outbox: Outbox
) -> Reading:
    return Reading(
        time.monotonic() - started,
        clock() - sim0,
        rss_mb(),
        len(os.listdir("/proc/self/fd")),
        threading.active_count(),
        len(asyncio.all_tasks()),
        store_sizes(data),
        *await asyncio.to_thread(history_facts, data),
        outbox.payload_bytes,
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
        driver = str(detail or "").partition(": ")[2] or str(detail or "")
        by_code[f"{alarm} ({driver})" if driver else alarm] += int(count)
    return by_code


def slope(x: list[float], y: list[float], per: float) -> tuple[float, float]:
    """Least-squares slope of y over x, times ``per``, and its standard error."""
    if len(x) < 3:
        return math.nan, math.nan
    fit, cov = np.polyfit(np.array(x), np.array(y), 1, cov=True)
    return float(fit[0] * per), float(math.sqrt(cov[0][0]) * per)


async def soak(ports: list[int], args: argparse.Namespace) -> int:
    clock = SimulatedClock()
    factor = args.days * DAY_S / args.run_s
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        devices = [
            DeviceConfig(
                name=f"d{i}",
                profile="sim_bess",
                host="127.0.0.1",
                port=port,
                poll_interval_s=1.0 / args.poll_hz,
            )
            for i, port in enumerate(ports)
        ]
        gw = Gateway(
            "soak",
            devices,
            data_dir=data,
            ids_baseline_s=20.0,
            history_raw_retention_s=RAW_RETENTION_S,
            history_max_bytes=HISTORY_MAX_BYTES,
            limits=SafetyLimits(max_sample_age_s=SafetyLimits().max_sample_age_s * factor),
            wall_clock=clock,
        )
        gw.history.minute_retention_s = MINUTE_RETENTION_S
        # The accelerated wall clock is no step: the step watch looks at the real one.
        gw.clock_watch = ClockWatch()
        outbox = Outbox(
            data / "outbox.db",
            "soak",
            max_rows=OUTBOX_MAX_ROWS,
            max_bytes=OUTBOX_MAX_BYTES,
            clock=clock,
        )
        outbox.attach(gw.bus)
        scored: set[str] = set()
        gw.bus.subscribe(IntrusionScored, lambda e: scored.add(e.device))
        started = time.monotonic()
        await gw.start()
        outbox.start()
        checks: list[tuple[str, bool]] = []
        try:
            while len(scored) < len(ports):
                if time.monotonic() - started > 120 + 0.5 * len(ports):
                    raise SystemExit(f"only {len(scored)} of {len(ports)} devices scored")
                await asyncio.sleep(1.0)
            print(f"all {len(ports)} devices scoring after {time.monotonic() - started:.0f} s")
            clock.accelerate(factor)
            print(
                f"wall clock now {factor:,.0f}x: {args.days:g} days in {args.run_s:g} s", flush=True
            )
            sim0, real0 = clock(), time.monotonic()
            readings: list[Reading] = []
            while time.monotonic() - real0 < args.run_s:
                readings.append(await read(data, real0, clock, sim0, outbox))
                await asyncio.sleep(args.sample_s)
            readings.append(await read(data, real0, clock, sim0, outbox))
            checks = report(readings, args, gw, outbox, data)
            if not all(met for _, met in checks[:1]) and args.trace_s > 0:
                await top_growers(args.trace_s)
        finally:
            await outbox.stop()
            await gw.stop()
    ok = True
    for label, met in checks:
        print(("PASS " if met else "MISS ") + label)
        ok = ok and met
    return 0 if ok else 1


def report(
    readings: list[Reading], args: argparse.Namespace, gw: Gateway, outbox: Outbox, data: Path
) -> list[tuple[str, bool]]:
    steady = [r for r in readings if r.sim_s >= args.warmup_days * DAY_S]
    per_sim_day, sim_error = slope([r.sim_s for r in steady], [r.rss_mb for r in steady], DAY_S)
    # The same points against the polls each device answered: MB per 86,400 polls (a day at 1 Hz).
    per_poll_day, poll_error = slope(
        [r.run_s * args.poll_hz for r in steady], [r.rss_mb for r in steady], DAY_S
    )
    first, last = readings[0], readings[-1]
    print(
        f"{last.sim_s / DAY_S:.1f} simulated days, {last.run_s * args.poll_hz:.0f} polls a device:"
    )
    marks = day_marks(readings)
    print("  RSS by simulated day: " + " ".join(f"{r.rss_mb:.0f}" for r in marks))
    for name in ("history", "outbox", "alarms"):
        sizes = " ".join(f"{r.stores.get(name, 0) / 1e6:.0f}" for r in marks)
        print(f"  {name}.db MB by simulated day: {sizes}")
    print(f"  RSS        {first.rss_mb:7.1f} -> {last.rss_mb:7.1f} MB")
    for label, a, b in (
        ("open files", first.files, last.files),
        ("threads", first.threads, last.threads),
        ("tasks", first.tasks, last.tasks),
    ):
        print(f"  {label:<10} {a:7d} -> {b:7d}")
    for name in sorted(last.stores):
        a_mb = first.stores.get(name, 0) / 1e6
        print(f"  {name + '.db':<10} {a_mb:7.2f} -> {last.stores[name] / 1e6:7.2f} MB")
    print(
        f"  history: raw {last.raw_span_s / DAY_S:.1f} days, minutes "
        f"{last.minute_span_s / DAY_S:.1f} days (retention {RAW_RETENTION_S / DAY_S:g} and "
        f"{MINUTE_RETENTION_S / DAY_S:g}), {last.history_used / 1e6:.1f} MB in use, "
        f"prunes {gw.history.prunes}"
    )
    print(
        f"  outbox: {outbox.depth} messages, {outbox.payload_bytes / 1e6:.1f} MB "
        f"(bounds {OUTBOX_MAX_ROWS}, {OUTBOX_MAX_BYTES / 1e6:.1f} MB), "
        f"dropped {outbox.stats.dropped}"
    )
    raised = alarms_raised(data)
    print(f"  alarms raised: {sum(raised.values())} {dict(raised.most_common(5))}")
    print(
        f"  RSS slope after {args.warmup_days:g} simulated days: {per_sim_day:+.2f} "
        f"± {sim_error:.2f} MB per simulated day; per day of 1 Hz polls {per_poll_day:+.0f} "
        f"± {poll_error:.0f} MB (the resolution of {last.run_s:.0f} s of polls)"
    )
    history_file = last.stores.get("history", 0)
    half = next(r for r in readings if r.sim_s >= last.sim_s / 2)
    outbox_file = last.stores.get("outbox", 0)
    alarm_growth = (last.stores.get("alarms", 0) - first.stores.get("alarms", 0)) / 1e6
    audit_growth = (last.stores.get("audit", 0) - first.stores.get("audit", 0)) / 1e6
    factor = args.days * DAY_S / args.run_s
    slack_s = 2 * args.sample_s * factor + gw.history.prune_interval_s  # sampling and pruning
    max_outbox_rows = OUTBOX_MAX_ROWS + 2 * args.poll_hz * len(gw.configs)  # one commit's worth
    return [
        (f"RSS slope {per_sim_day:+.2f} MB per simulated day (target <= 1)", per_sim_day <= 1.0),
        (
            f"history {last.history_used / 1e6:.1f} MB in use, file {history_file / 1e6:.1f} MB "
            f"with its WAL (bound {HISTORY_MAX_BYTES / 1e6:.1f} MB)",
            max(r.history_used for r in steady) <= HISTORY_MAX_BYTES
            and history_file <= HISTORY_MAX_BYTES * 1.25,
        ),
        (
            f"history spans raw {last.raw_span_s / DAY_S:.2f}, minutes "
            f"{last.minute_span_s / DAY_S:.2f} days (7 each)",
            RAW_RETENTION_S - slack_s <= last.raw_span_s <= RAW_RETENTION_S + slack_s
            and last.minute_span_s <= MINUTE_RETENTION_S + slack_s,
        ),
        (
            f"outbox at most {max(r.outbox_bytes for r in steady) / 1e6:.1f} MB of messages, "
            f"{outbox.depth} rows, file {outbox_file / 1e6:.1f} MB "
            f"(bounds {OUTBOX_MAX_BYTES / 1e6:.1f} MB, {OUTBOX_MAX_ROWS} rows)",
            max(r.outbox_bytes for r in steady) <= OUTBOX_MAX_BYTES + 1e6
            and outbox.depth <= max_outbox_rows,
        ),
        (
            f"outbox file {half.stores.get('outbox', 0) / 1e6:.1f} -> {outbox_file / 1e6:.1f} MB "
            "over the second half (its pages reused, not growing: < +10 %)",
            outbox_file <= 1.1 * half.stores.get("outbox", 0),
        ),
        (f"alarm log grew {alarm_growth:+.2f} MB (no bound; < 1)", alarm_growth < 1.0),
        (f"audit trail grew {audit_growth:+.2f} MB (no bound; < 0.1)", audit_growth < 0.1),
        (f"open files {first.files} -> {last.files}", last.files <= first.files + 2),
        (f"tasks {first.tasks} -> {last.tasks}", last.tasks <= first.tasks + 2),
        (f"threads {first.threads} -> {last.threads}", last.threads <= first.threads + 2),
    ]


def day_marks(readings: list[Reading]) -> list[Reading]:
    """One reading at (or just after) each simulated day."""
    marks: list[Reading] = []
    for r in readings:
        if not marks or r.sim_s >= (len(marks)) * DAY_S:
            marks.append(r)
    return marks


async def top_growers(trace_s: float) -> None:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--poll-hz", type=float, default=2.0)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--run-s", type=float, default=480.0)
    parser.add_argument("--warmup-days", type=float, default=3.0)
    parser.add_argument("--sample-s", type=float, default=2.0)
    parser.add_argument("--trace-s", type=float, default=30.0)
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
            return asyncio.run(soak(ports, args))
        finally:
            sims.terminate()
            sims.wait(15)


if __name__ == "__main__":
    raise SystemExit(main())
