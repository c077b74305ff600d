"""Benchmark: memory and CPU of one headless gateway polling N simulated devices at 1 Hz.

For each N (10, 100 and 300 by default) the gateway runs as it does on a site
(`python -m bessai --headless` with a site file naming N devices), first with
intrusion detection off, then on with every device scored; the simulators
run in a process of their own so that the figures are the gateway's. RSS is
the largest VmRSS seen over the measuring window, CPU the share of one core
it used over that window (utime + stime). The run with detection off is the
baseline of the same run: the difference per device is what scoring costs.
Each device starts with a learnt baseline of the size a site has after the
default 10 minutes at 1 Hz (600 windows, trees of up to 256 samples), saved
in DATA_DIR as a restarted gateway finds it, so that every device is scored
from the first poll.
Targets: 100 devices scored within 200 MB RSS and 15 % of one core, 300
devices within one core.

With ``--first-start`` the gateway starts instead from an empty DATA_DIR, as on
a site's first day, with ``[ids] baseline_s`` (20 s by default) so that every
device learns and fits its baseline during the run: RSS and CPU over the
measuring window once all score, the intrusion alarms raised (the fits must
raise none) and each device's highest score with the feature that drove it,
RSS at 100 s and at ``--watch-s`` from the start, and then the same gateway
restarted on its own saved baselines (the baseline of the same run: RSS, CPU
and highest score as ratios), whose RSS the first start's must be within 10 % of.

    python bench/scale.py [--devices 10,100,300] [--measure-s 20]
    python bench/scale.py --first-start [--devices 100] [--baseline-s 20] [--measure-s 30]
        [--watch-s 340]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SCORED = re.compile(r'^bessai_intrusion_score\{device="(d\d+)"[^}]*\} (\S+)$', re.MULTILINE)
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def serve(count: int, ports_file: Path) -> None:
    """The simulators: one Modbus TCP server per device on 127.0.0.1.

    All in one process, where a site has a device per box: their steps (0.2 ms each) are
    spread over the second, as independent devices' are, so that a hundred stepping at once
    do not hold every answer behind them (the gateway would see that as the devices' latency).
    """
    from bessai.drivers.simulator.server import BessSimulator

    async def main() -> None:
        sims = [BessSimulator(seed=i, step_hz=1.0) for i in range(count)]
        ports = []
        for sim in sims:
            ports.append(await sim.start_tcp("127.0.0.1", 0))  # its stepper starts here
            await asyncio.sleep(1.0 / count)
        await asyncio.to_thread(ports_file.write_text, json.dumps(ports))
        await asyncio.Event().wait()

    asyncio.run(main())


def seed_baselines(data: Path, count: int) -> None:
    """Ten learnt baselines of 600 windows, shaped like the simulator's, shared round-robin."""
    import numpy as np

    from bessai.core.ids import FEATURES, IntrusionModel

    models = []
    for seed in range(min(10, count)):
        rng = np.random.default_rng(seed)
        n = 600
        windows = np.zeros((n, len(FEATURES)))
        windows[:, FEATURES.index("requests")] = 2
        windows[:, FEATURES.index("latency_ms")] = rng.normal(0.8, 0.15, n)
        windows[:, FEATURES.index("bytes_received")] = 166 + rng.integers(0, 2, n)
        windows[:, FEATURES.index("physics_violation")] = np.abs(rng.normal(0, 0.005, n))
        models.append(IntrusionModel.fit(windows, seed=seed))
    for i in range(count):
        models[i % len(models)].save(data / f"ids-d{i}.npz")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _scored(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return 0
    return sum(1 for _, value in SCORED.findall(text) if value.lower() != "nan")


def _site(work: Path, ports: list[int], ids: str) -> Path:
    site = work / f"site-{len(ports)}-{len(list(work.glob('site-*')))}.toml"
    devices = "".join(
        f'[[devices]]\nname = "d{i}"\nprofile = "sim_bess"\nhost = "127.0.0.1"\n'
        f"port = {port}\npoll_interval_s = 1.0\n"
        for i, port in enumerate(ports)
    )
    site.write_text(f'site_id = "scale"\n{devices}[ids]\n{ids}')
    return site


def _gateway(site: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A headless gateway on the site file and DATA_DIR, and its /metrics address."""
    http = _free_port()
    env = {
        **os.environ,
        "SITE_FILE": str(site),
        "DATA_DIR": str(data),
        "HEALTH_PORT": str(http),
        "LOG_LEVEL": "ERROR",
    }
    gateway = subprocess.Popen(
        [sys.executable, "-m", "bessai", "--headless"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return gateway, f"http://127.0.0.1:{http}/metrics"


def _stop(gateway: subprocess.Popen[bytes]) -> None:
    gateway.terminate()
    try:
        gateway.wait(15)
    except subprocess.TimeoutExpired:
        gateway.kill()


def _wait_scored(gateway: subprocess.Popen[bytes], url: str, count: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while _scored(url) < count:
        if gateway.poll() is not None or time.monotonic() > deadline:
            err = gateway.stderr.read().decode() if gateway.stderr else ""
            raise SystemExit(f"not every device scored in time:\n{err[-2000:]}")
        time.sleep(1.0)


class TopScores:
    """Each device's highest intrusion score seen in /health, and the feature that drove it."""

    def __init__(self, url: str) -> None:
        self.url = url.removesuffix("/metrics") + "/health"
        self.best: dict[str, tuple[float, str]] = {}

    def sample(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                devices = json.loads(response.read())["intrusion"]["devices"]
        except (OSError, ValueError, KeyError):
            return
        for name, d in devices.items():
            if d.get("score") is not None and d["score"] > self.best.get(name, (-1.0, ""))[0]:
                self.best[name] = (float(d["score"]), str(d.get("driver")))

    @property
    def highest(self) -> float:
        return max((score for score, _ in self.best.values()), default=0.0)

    def report(self, label: str) -> None:
        top = sorted(self.best.items(), key=lambda kv: -kv[1][0])[:5]
        drivers: dict[str, int] = {}
        for _, driver in self.best.values():
            drivers[driver] = drivers.get(driver, 0) + 1
        print(
            f"  {label}: highest score per device, top 5: "
            + ", ".join(f"{name} {score:.2f} ({driver})" for name, (score, driver) in top)
        )
        print(
            "    what drove each device's highest: "
            + ", ".join(
                f"{driver} x{n}" for driver, n in sorted(drivers.items(), key=lambda kv: -kv[1])
            )
        )


def _window(pid: int, measure_s: float, scores: TopScores | None = None) -> tuple[float, float]:
    """(largest RSS in MB, % of one core) over the next ``measure_s``."""
    started, cpu0, rss = time.monotonic(), _cpu_s(pid), 0.0
    while time.monotonic() - started < measure_s:
        rss = max(rss, _rss_mb(pid))
        if scores is not None:
            scores.sample()
        time.sleep(0.5)
    return rss, (_cpu_s(pid) - cpu0) / (time.monotonic() - started) * 100


def measure(ports: list[int], ids_on: bool, measure_s: float, work: Path) -> tuple[float, float]:
    """(largest RSS in MB, % of one core) of a gateway polling every port."""
    data = work / ("data-ids" if ids_on else "data-off")
    data.mkdir()
    if ids_on:
        seed_baselines(data, len(ports))
    gateway, url = _gateway(_site(work, ports, f"enabled = {str(ids_on).lower()}\n"), data)
    try:
        time.sleep(10.0)
        if ids_on:
            _wait_scored(gateway, url, len(ports), 50 + 0.2 * len(ports))
        return _window(gateway.pid, measure_s)
    finally:
        _stop(gateway)


def intrusion_alarms_raised(data: Path) -> list[tuple[float, str, str]]:
    """Intrusion alarms raised in the gateway's alarm log: (time stamp, alarm, detail)."""
    with sqlite3.connect(data / "alarms.db") as db:
        rows = db.execute(
            "SELECT ts, alarm, COALESCE(detail, '') FROM alarm_events"
            " WHERE alarm LIKE 'intrusion%' AND event = 'raised' ORDER BY ts"
        ).fetchall()
    return [(float(ts), str(alarm), str(detail)) for ts, alarm, detail in rows]


def first_start(
    ports: list[int], baseline_s: float, measure_s: float, watch_s: float, work: Path
) -> int:
    """A site's first day, then the same gateway restarted on the baselines it learnt."""
    data = work / "data-first"
    data.mkdir()
    site = _site(work, ports, f"enabled = true\nbaseline_s = {baseline_s}\n")
    gateway, url = _gateway(site, data)
    t0, wall0 = time.monotonic(), time.time()
    samples: list[tuple[float, float]] = []  # (s since start, RSS MB)
    first_scores = TopScores(url)
    try:
        time.sleep(2.0)
        _wait_scored(gateway, url, len(ports), baseline_s + 60 + 0.2 * len(ports))
        all_scored_s = time.monotonic() - t0
        rss, cpu = _window(gateway.pid, measure_s, first_scores)
        while time.monotonic() - t0 < watch_s:
            samples.append((time.monotonic() - t0, _rss_mb(gateway.pid)))
            first_scores.sample()
            time.sleep(1.0)
        samples.append((time.monotonic() - t0, _rss_mb(gateway.pid)))
    finally:
        _stop(gateway)
    raised = intrusion_alarms_raised(data)
    # The baseline of the same run: the same gateway restarted on the baselines it learnt.
    restarted, url = _gateway(site, data)
    restarted_scores = TopScores(url)
    try:
        time.sleep(5.0)
        _wait_scored(restarted, url, len(ports), 60 + 0.2 * len(ports))
        rss_restarted, cpu_restarted = _window(restarted.pid, measure_s, restarted_scores)
    finally:
        _stop(restarted)
    raised_restarted = intrusion_alarms_raised(data)[len(raised) :]

    def at(s: float) -> float:
        return min(samples, key=lambda sample: abs(sample[0] - s))[1]

    n = len(ports)
    print(f"{n} devices, first start from an empty DATA_DIR, [ids] baseline_s = {baseline_s:g}")
    print(f"  all {n} scoring {all_scored_s:.0f} s after the start")
    print(f"  over {measure_s:g} s once all score: {rss:.0f} MB RSS, {cpu:.1f} % of a core")
    print(f"  restarted on its saved baselines: {rss_restarted:.0f} MB RSS, {cpu_restarted:.1f} %")
    print(
        f"  first start / restarted: RSS {rss / rss_restarted:.2f}, CPU"
        f" {cpu / max(cpu_restarted, 0.01):.2f}, highest score"
        f" {first_scores.highest:.2f} / {restarted_scores.highest:.2f}"
    )
    print(
        f"  intrusion alarms raised: {len(raised)} (first start),"
        f" {len(raised_restarted)} (restarted)"
    )
    first_scores.report("first start")
    restarted_scores.report("restarted")
    drivers: dict[str, list[float]] = {}
    for ts, alarm, detail in raised:
        driver = detail.partition(": ")[2] or detail
        drivers.setdefault(f"{alarm} ({driver})" if driver else alarm, []).append(ts - wall0)
    for label, times in sorted(drivers.items(), key=lambda kv: -len(kv[1])):
        print(f"    {len(times):4d} {label}, {min(times):.0f}-{max(times):.0f} s after the start")
    checks = [
        (f"{rss:.0f} MB RSS once all score (target <= 200 MB)", rss <= 200),
        (f"{cpu:.1f} % of a core once all score (target <= 15 %)", cpu <= 15),
        (
            f"RSS {rss / rss_restarted - 1:+.1%} of the restarted gateway's (target within 10 %)",
            abs(rss / rss_restarted - 1) <= 0.10,
        ),
        (f"{len(raised)} intrusion alarms raised (target 0)", not raised),
    ]
    if watch_s >= 100 and samples:
        early, late = at(100.0), at(watch_s)
        print(f"  RSS at 100 s: {early:.0f} MB, at {samples[-1][0]:.0f} s: {late:.0f} MB")
        checks.append(
            (
                f"RSS {late - early:+.1f} MB from 100 s to {watch_s:g} s (target within 3 MB)",
                abs(late - early) <= 3,
            )
        )
    ok = True
    for label, met in checks:
        print(("PASS " if met else "MISS ") + label)
        ok = ok and met
    return 0 if ok else 1


def _serving(count: int, work: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    ports_file = work / f"ports-{count}.json"
    sims = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count), "--ports-file", str(ports_file)]
    )
    while not ports_file.exists():
        time.sleep(0.1)
    return sims, json.loads(ports_file.read_text())


def main(counts: list[int], measure_s: float) -> int:
    print(f"{'devices':>7} {'ids':>4} {'RSS MB':>7} {'core %':>7} {'MB/dev':>7} {'ms/dev/s':>8}")
    results: dict[tuple[int, bool], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for count in counts:
            sims, ports = _serving(count, work)
            try:
                for ids_on in (False, True):
                    (work / "run").mkdir(exist_ok=True)
                    with tempfile.TemporaryDirectory(dir=work) as run:
                        rss, cpu = measure(ports, ids_on, measure_s, Path(run))
                    results[(count, ids_on)] = rss, cpu
                    off_rss, off_cpu = results[(count, False)]
                    per_mb = (rss - off_rss) / count if ids_on else rss / count
                    per_ms = ((cpu - off_cpu) if ids_on else cpu) * 10 / count
                    print(
                        f"{count:>7} {'on' if ids_on else 'off':>4} {rss:>7.0f} {cpu:>7.1f} "
                        f"{per_mb:>7.2f} {per_ms:>8.3f}",
                        flush=True,
                    )
            finally:
                sims.terminate()
                sims.wait(15)
    print("\nMB/dev and ms/dev/s: with ids off, the whole gateway per device; with ids on,")
    print("what scoring adds per device over the same run's gateway with it off.")
    ok = True
    checks = []
    if (100, True) in results:
        rss, cpu = results[(100, True)]
        checks += [
            (f"100 devices scored: {rss:.0f} MB RSS (target <= 200 MB)", rss <= 200),
            (f"100 devices scored: {cpu:.1f} % of a core (target <= 15 %)", cpu <= 15),
        ]
    if (300, True) in results:
        _, cpu = results[(300, True)]
        checks.append((f"300 devices scored: {cpu:.1f} % of a core (target <= 100 %)", cpu <= 100))
    for label, met in checks:
        print(("PASS " if met else "MISS ") + label)
        ok = ok and met
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default=None, help="10,100,300 (--first-start: 100)")
    parser.add_argument("--measure-s", type=float, default=20.0)
    parser.add_argument("--first-start", action="store_true")
    parser.add_argument("--baseline-s", type=float, default=20.0)
    parser.add_argument("--watch-s", type=float, default=0.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.ports_file)
        raise SystemExit(0)
    if args.first_start:
        with tempfile.TemporaryDirectory() as tmp:
            sims, ports = _serving(int(args.devices or 100), Path(tmp))
            try:
                code = first_start(ports, args.baseline_s, args.measure_s, args.watch_s, Path(tmp))
            finally:
                sims.terminate()
                sims.wait(15)
        raise SystemExit(code)
    counts = (args.devices or "10,100,300").split(",")
    raise SystemExit(main([int(n) for n in counts], args.measure_s))
