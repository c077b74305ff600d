"""The gateway's polling: reconnection after a server restart, gaps, stale data, drift and isolation."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bessai.core.config.settings import DeviceConfig
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import CommsGap, DeviceConnected, DeviceDisconnected, SampleTaken
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import BessSimulator, Fault
from tests.helpers import free_port, sim_device, until


def record(bus: EventBus) -> list[Any]:
    events: list[Any] = []
    for kind in (SampleTaken, DeviceConnected, DeviceDisconnected, CommsGap):
        bus.subscribe(kind, events.append)
    return events


async def test_reconnects_within_2_s_records_the_gap_and_never_shows_stale_as_fresh() -> None:
    port = free_port()
    sim = BessSimulator(seed=2)
    await sim.start_tcp("127.0.0.1", port)
    bus = EventBus()
    events = record(bus)
    cfg = sim_device(port)
    gw = Gateway("test", [cfg], bus=bus)
    await gw.start()
    try:
        await until(lambda: sum(isinstance(e, SampleTaken) for e in events) >= 3, 3)
        await sim.stop()
        outage_start = time.time()
        await until(lambda: any(isinstance(e, DeviceDisconnected) for e in events), 3)
        samples_before = sum(isinstance(e, SampleTaken) for e in events)
        await asyncio.sleep(3.0)  # long enough for the backoff to reach its ceiling
        status = gw.pollers["bess"].status
        assert not status.up
        assert sum(isinstance(e, SampleTaken) for e in events) == samples_before
        age = status.last_sample_age_s()
        assert age is not None
        assert age >= 3.0  # the last value is shown with its true age, not as fresh

        sim = BessSimulator(seed=2)
        await sim.start_tcp("127.0.0.1", port)
        back_at = time.monotonic()
        await until(lambda: gw.pollers["bess"].status.up, 2.5)
        reconnect_s = time.monotonic() - back_at
        assert reconnect_s < 2.0
        (gap,) = [e for e in events if isinstance(e, CommsGap)]
        assert gap.start_ts <= outage_start
        assert gap.duration_s >= 3.0
        assert status.gaps == [gap]
        reconnected = [e for e in events if isinstance(e, DeviceConnected)]
        assert [e.reconnect for e in reconnected] == [False, True]
        assert gw.devices["bess"].stats.reconnects == 1
        first_after = next(e for e in events[events.index(gap) :] if isinstance(e, SampleTaken))
        assert first_after.sample.ts >= gap.end_ts
    finally:
        await gw.stop()
        await sim.stop()


async def test_polls_on_a_fixed_grid_without_drift(simulator: tuple[BessSimulator, int]) -> None:
    _, port = simulator
    bus = EventBus()
    stamps: list[float] = []
    bus.subscribe(SampleTaken, lambda e: stamps.append(time.monotonic()))
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=0.05
    )
    gw = Gateway("test", [cfg], bus=bus)
    await gw.start()
    try:
        await asyncio.sleep(2.0)
    finally:
        await gw.stop()
    assert 36 <= len(stamps) <= 41
    # No drift: the n-th poll finishes near t0 + n * interval, not later and later.
    t0 = stamps[0]
    late = [s - (t0 + i * 0.05) for i, s in enumerate(stamps)]
    assert max(late) < 0.05


async def test_overrun_skips_ticks_and_never_overlaps(simulator: tuple[BessSimulator, int]) -> None:
    _, port = simulator
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=0.05
    )
    gw = Gateway("test", [cfg])
    await gw.start()
    device = gw.devices["bess"]
    real_read = device.read_all
    in_flight = 0
    most = 0

    async def slow_read() -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.12)
            return await real_read()
        finally:
            in_flight -= 1

    device.read_all = slow_read  # type: ignore[method-assign]
    try:
        await asyncio.sleep(1.0)
    finally:
        await gw.stop()
    status = gw.pollers["bess"].status
    assert most == 1
    assert status.overruns >= 10
    assert 5 <= status.polls_ok <= 9


async def test_a_dead_device_does_not_delay_another() -> None:
    dead = BessSimulator(step_hz=0)
    live = BessSimulator(step_hz=0)
    dead_port = await dead.start_tcp("127.0.0.1", 0)
    live_port = await live.start_tcp("127.0.0.1", 0)
    dead.inject(Fault.NO_ANSWER)
    bus = EventBus()
    counts: dict[str, int] = {"dead": 0, "live": 0}
    bus.subscribe(
        SampleTaken, lambda e: counts.__setitem__(e.sample.device, counts[e.sample.device] + 1)
    )
    gw = Gateway(
        "test",
        [
            DeviceConfig(
                name="dead",
                profile="sim_bess",
                host="127.0.0.1",
                port=dead_port,
                poll_interval_s=0.1,
                timeout_s=0.5,
            ),
            DeviceConfig(
                name="live",
                profile="sim_bess",
                host="127.0.0.1",
                port=live_port,
                poll_interval_s=0.1,
            ),
        ],
        bus=bus,
    )
    await gw.start()
    try:
        await asyncio.sleep(2.0)
    finally:
        await gw.stop()
        await dead.stop()
        await live.stop()
    assert counts["dead"] == 0
    assert counts["live"] >= 18
    assert gw.devices["dead"].stats.timeouts >= 1


async def test_embedded_simulator_is_polled_over_loopback_tcp() -> None:
    bus = EventBus()
    samples: list[SampleTaken] = []
    bus.subscribe(SampleTaken, samples.append)
    gw = Gateway(
        "site",
        [DeviceConfig(name="bess-sim", profile="sim_bess", simulated=True, poll_interval_s=0.1)],
        bus=bus,
    )
    await gw.start()
    try:
        await until(lambda: len(samples) >= 2, 3)
    finally:
        await gw.stop()
    endpoint = str(gw.devices["bess-sim"].endpoint)
    assert endpoint.startswith("tcp://127.0.0.1:")
    sample = samples[-1].sample
    assert sample.roles["soc_pct"] == pytest.approx(50.0, abs=0.1)
    assert sample.quality.value == "good"
