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

    python bench/scale.py [--devices 10,100,300] [--measure-s 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SCORED = re.compile(r'^bessai_intrusion_score\{device="(d\d+)"[^}]*\} (\S+)$', re.MULTILINE)
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def serve(count: int, ports_file: Path) -> None:
    """The simulators: one Modbus TCP server per device on 127.0.0.1."""
    from bessai.drivers.simulator.server import BessSimulator

    async def main() -> None:
        sims = [BessSimulator(seed=i, step_hz=1.0) for i in range(count)]
        ports = [await sim.start_tcp("127.0.0.1", 0) for sim in sims]
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


def measure(ports: list[int], ids_on: bool, measure_s: float, work: Path) -> tuple[float, float]:
    """(largest RSS in MB, % of one core) of a gateway polling every port."""
    data = work / ("data-ids" if ids_on else "data-off")
    data.mkdir()
    if ids_on:
        seed_baselines(data, len(ports))
    site = work / f"site-{len(ports)}-{int(ids_on)}.toml"
    devices = "".join(
        f'[[devices]]\nname = "d{i}"\nprofile = "sim_bess"\nhost = "127.0.0.1"\n'
        f"port = {port}\npoll_interval_s = 1.0\n"
        for i, port in enumerate(ports)
    )
    site.write_text(f'site_id = "scale"\n{devices}[ids]\nenabled = {str(ids_on).lower()}\n')
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
    try:
        url = f"http://127.0.0.1:{http}/metrics"
        deadline = time.monotonic() + 60 + 0.2 * len(ports)
        time.sleep(10.0)
        while ids_on and _scored(url) < len(ports):
            if gateway.poll() is not None or time.monotonic() > deadline:
                err = gateway.stderr.read().decode() if gateway.stderr else ""
                raise SystemExit(f"not every device scored in time:\n{err[-2000:]}")
            time.sleep(1.0)
        started, cpu0, rss = time.monotonic(), _cpu_s(gateway.pid), 0.0
        while time.monotonic() - started < measure_s:
            rss = max(rss, _rss_mb(gateway.pid))
            time.sleep(0.5)
        cpu = (_cpu_s(gateway.pid) - cpu0) / (time.monotonic() - started) * 100
        return rss, cpu
    finally:
        gateway.terminate()
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()


def main(counts: list[int], measure_s: float) -> int:
    print(f"{'devices':>7} {'ids':>4} {'RSS MB':>7} {'core %':>7} {'MB/dev':>7} {'ms/dev/s':>8}")
    results: dict[tuple[int, bool], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for count in counts:
            ports_file = work / f"ports-{count}.json"
            sims = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(count), "--ports-file", str(ports_file)]
            )
            try:
                while not ports_file.exists():
                    time.sleep(0.1)
                ports = json.loads(ports_file.read_text())
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
    parser.add_argument("--devices", default="10,100,300")
    parser.add_argument("--measure-s", type=float, default=20.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.ports_file)
        raise SystemExit(0)
    raise SystemExit(main([int(n) for n in args.devices.split(",")], args.measure_s))
