"""Benchmark: the pause of a full garbage collection in a running gateway, before and after the freeze.

The gateway runs headless on the embedded simulator polled at 10 Hz; after
a few seconds a full collection (what Python runs now and then on its own) is
timed, then the start-up heap is frozen as `bessai` does once it is up, and
the same collection is timed again in the same run.

    python bench/heap.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bessai.core.config.settings import DeviceConfig
from bessai.core.runtime.heap import freeze_startup_heap
from bessai.core.site.gateway import Gateway


def full_collection_ms(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main(repeat: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        device = DeviceConfig(name="bess", profile="sim_bess", simulated=True, poll_interval_s=0.1)
        gateway = Gateway("bench", [device], data_dir=Path(tmp))
        await gateway.start()
        try:
            await asyncio.sleep(3.0)
            objects = len(gc.get_objects())
            before = full_collection_ms(repeat)
            frozen = freeze_startup_heap()
            await asyncio.sleep(3.0)  # what the running gateway makes after the freeze
            after = full_collection_ms(repeat)
        finally:
            await gateway.stop()
            gc.unfreeze()
    print(f"tracked objects after start-up: {objects:,} ({frozen:,} frozen)")
    print(f"full collection, unfrozen: {before:.1f} ms median")
    print(f"full collection, frozen:   {after:.2f} ms median ({before / after:,.0f}x shorter)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    raise SystemExit(asyncio.run(main(parser.parse_args().repeat)))
