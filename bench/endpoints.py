"""Benchmark: /health and /metrics latency while the gateway is busy, against an idle gateway.

Busy = four simulated devices polled at 20 Hz each with their controllers
ticking, all in the gateway's one event loop; idle = one device at 1 Hz. Both
are measured in the same run over real loopback sockets. Target: both
endpoints answer within 50 ms (p95) while busy.

    python bench/endpoints.py [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bessai.core.config.settings import DeviceConfig
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import BessSimulator


async def measure(devices: int, interval_s: float, requests: int) -> dict[str, tuple[float, float]]:
    sims = [BessSimulator(seed=i) for i in range(devices)]
    ports = [await sim.start_tcp("127.0.0.1", 0) for sim in sims]
    configs = [
        DeviceConfig(
            name=f"bess{i}",
            profile="sim_bess",
            host="127.0.0.1",
            port=p,
            poll_interval_s=interval_s,
        )
        for i, p in enumerate(ports)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        gw = Gateway(
            "bench", configs, data_dir=Path(tmp), health_port=0, control_interval_s=interval_s
        )
        await gw.start()
        assert gw.http is not None
        base = f"http://127.0.0.1:{gw.http.port}"
        await asyncio.sleep(1.0)
        figures: dict[str, tuple[float, float]] = {}
        try:
            async with aiohttp.ClientSession() as http:
                for path in ("/health", "/metrics"):
                    times = []
                    for _ in range(requests):
                        started = time.perf_counter()
                        async with http.get(base + path) as response:
                            await response.read()
                        times.append(time.perf_counter() - started)
                        await asyncio.sleep(0.002)
                    times.sort()
                    figures[path] = (
                        statistics.median(times) * 1000,
                        times[int(0.95 * len(times))] * 1000,
                    )
        finally:
            await gw.stop()
            for sim in sims:
                await sim.stop()
    return figures


async def main(requests: int) -> int:
    idle = await measure(1, 1.0, requests)
    busy = await measure(4, 0.05, requests)
    ok = True
    print(
        f"{'endpoint':<10} {'idle p50':>9} {'idle p95':>9} {'busy p50':>9} {'busy p95':>9} {'p95 ratio':>9}"
    )
    for path in ("/health", "/metrics"):
        i50, i95 = idle[path]
        b50, b95 = busy[path]
        print(
            f"{path:<10} {i50:>7.2f}ms {i95:>7.2f}ms {b50:>7.2f}ms {b95:>7.2f}ms {b95 / i95:>8.1f}x"
        )
        met = b95 <= 50.0
        ok = ok and met
        print(
            ("PASS " if met else "MISS ") + f"{path} p95 {b95:.2f} ms while busy (target <= 50 ms)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    raise SystemExit(asyncio.run(main(parser.parse_args().requests)))
