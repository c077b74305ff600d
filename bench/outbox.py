"""Benchmark: samples/s into the outbox (durable) and messages/s drained to Google's Pub/Sub emulator.

The drain rate is compared with the bare google-cloud-pubsub client publishing
the same payloads to the same emulator in the same run. The emulator is a JVM
that keeps getting faster for a while, so after a warm-up of both the two are
measured in alternating rounds and their medians compared. Targets: >= 20,000
samples/s enqueued and committed; draining >= 80 % of the bare client's rate.

    python bench/outbox.py [--samples 100000] [--messages 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bessai.core.cloud.pubsub import PubSubPublisher, default_client
from bessai.core.runtime.events import Quality, Sample
from bessai.core.stores.outbox import Outbox
from tests.pubsub_emulator import PubSubEmulator, emulator_binary

T0 = 1_789_999_980.0


def make_sample(i: int) -> Sample:
    roles = {
        "soc_pct": 50.0,
        "active_power_kw": float(i % 50),
        "battery_temp_c": 25.0,
        "pack_voltage_v": 780.0,
    }
    return Sample("bess", T0 + i * 0.1, dict(roles), roles, Quality.GOOD)


async def enqueue_rate(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        box = Outbox(Path(tmp) / "o.db", "bench", max_rows=10 * n)
        samples = [make_sample(i) for i in range(n)]
        started = time.perf_counter()
        chunk = 4000  # what 200 ms of a very busy site looks like
        for i in range(0, n, chunk):
            for s in samples[i : i + chunk]:
                box.add_sample(s)
            await box.commit()
        elapsed = time.perf_counter() - started
        await box.stop()
    return n / elapsed


def bare_rate(project: str, topic: str, payloads: list[bytes]) -> float:
    """The same messages (payload, ordering key, the five attributes) with the bare client."""
    client = default_client()
    path = client.topic_path(project, topic)
    attributes = [
        {
            "site_id": "bench",
            "device": "bess",
            "schema_version": "1",
            "sample_id": f"b:{i}",
            "kind": "sample",
        }
        for i in range(len(payloads))
    ]
    started = time.perf_counter()
    futures = [
        client.publish(path, p, ordering_key="bess", **a)
        for p, a in zip(payloads, attributes, strict=True)
    ]
    for f in futures:
        f.result()
    elapsed = time.perf_counter() - started
    client.stop()
    return len(payloads) / elapsed


async def drain_rate(project: str, n: int) -> tuple[float, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        box = Outbox(Path(tmp) / "o.db", "bench", topic="drain", max_rows=10 * n)
        for i in range(n):
            box.add_sample(make_sample(i))
        await box.commit()
        payload = (await box.batch(1))[0].payload
        publisher = PubSubPublisher(box, project)
        await asyncio.to_thread(
            publisher.ensure_client
        )  # as the bare client, made before the clock
        started = time.perf_counter()
        publisher.start()
        while box.depth:  # noqa: ASYNC110 - polling the depth is the measurement
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await publisher.stop()
        await box.stop()
    return n / elapsed, payload


async def main(samples: int, messages: int, rounds: int) -> int:
    enq = await enqueue_rate(samples)
    binary = emulator_binary()
    if binary is None:
        print("Pub/Sub emulator not installed: drain rate not measured")
        return 1
    emulator = PubSubEmulator(binary)
    emulator.start()
    os.environ["PUBSUB_EMULATOR_HOST"] = emulator.host
    drains: list[float] = []
    bares: list[float] = []
    try:
        emulator.create("drain", "drain-sub")
        emulator.create("bare", "bare-sub")
        # Warm-up: neither side should pay for the JIT.
        _, payload = await drain_rate(emulator.project, messages)
        await asyncio.to_thread(bare_rate, emulator.project, "bare", [payload] * messages)
        for i in range(rounds):
            drain, _ = await drain_rate(emulator.project, messages)
            bare = await asyncio.to_thread(
                bare_rate, emulator.project, "bare", [payload] * messages
            )
            drains.append(drain)
            bares.append(bare)
            print(
                f"round {i + 1}: drain {drain:>8,.0f}/s  bare {bare:>8,.0f}/s  {drain / bare:.0%}"
            )
    finally:
        emulator.stop()
    drain, bare = statistics.median(drains), statistics.median(bares)
    ratio = drain / bare
    print(f"enqueue (durable): {enq:>10,.0f} samples/s   (target >= 20,000)")
    print(
        f"bare client:       {bare:>10,.0f} messages/s to the emulator ({len(payload)} B each), median"
    )
    print(
        f"outbox drain:      {drain:>10,.0f} messages/s, median = {ratio:.0%} of the bare client"
        " (target >= 80 %)"
    )
    ok = enq >= 20_000 and ratio >= 0.8
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.samples, args.messages, args.rounds)))
