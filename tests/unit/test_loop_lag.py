"""The loop-lag meter, and the latency feature leaving out requests on the wire during a stall."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from bessai.core.ids import FEATURES, WindowFeatures
from bessai.core.runtime.loop_lag import LoopLag
from bessai.drivers.traffic import Outcome, TrafficRecord


def read(latency_s: float, outcome: Outcome = Outcome.OK) -> TrafficRecord:
    return TrafficRecord(0.0, "bess", 3, 1, 0, 10, latency_s, outcome, None, 12, 29)


async def test_a_held_loop_is_seen_as_a_stall_over_the_span_it_held() -> None:
    # A wide tolerance: a loaded test machine's ordinary lateness is not taken for the stall.
    lag = LoopLag(interval_s=0.01, tolerance_s=0.05)
    assert not lag.stalled(0.0, 1e12)  # not started: nothing is known, nothing is discounted
    lag.start()
    try:
        await asyncio.sleep(0.05)
        before = lag.now()
        held_from = lag.now()
        time.sleep(0.3)  # noqa: ASYNC251 - the stall under test
        held_to = lag.now()
        # Over but not yet ticked: the tick waits behind this very callback.
        assert lag.stalled(held_from + 0.1, held_from + 0.2)
        await asyncio.sleep(0.05)
        assert lag.worst_s >= 0.25
        stall_from, stall_to = lag.stalls[-1]
        assert stall_from <= held_from + 0.02
        assert stall_to >= held_to
        assert lag.stalled(held_from + 0.1, held_from + 0.2)  # inside
        assert lag.stalled(held_from - 0.5, held_from + 0.01)  # overlapping its start
        assert not lag.stalled(lag.now(), lag.now() + 0.001)  # after it, on a free loop
        assert not lag.stalled(before - 10.0, before - 9.0)  # long before
    finally:
        lag.stop()
    assert not lag.running
    assert not lag.stalled(0.0, 1e12)


async def test_the_stalls_kept_are_bounded() -> None:
    lag = LoopLag(interval_s=0.001, tolerance_s=0.0, keep=8)
    lag.start()
    try:
        for _ in range(20):
            time.sleep(0.003)  # noqa: ASYNC251 - each a small stall
            await asyncio.sleep(0.002)
    finally:
        lag.stop()
    assert len(lag.stalls) == 8
    assert all(a < b for a, b in lag.stalls)


def test_requests_on_the_wire_during_a_stall_leave_the_latency_out() -> None:
    feats = WindowFeatures()
    latency = FEATURES.index("latency_ms")
    for _ in range(3):
        feats.vector({}, 0.0, [read(0.0006), read(0.0006)], [False, False])
    # One request of the two was held by the stall: the other's latency is the window's.
    v = feats.vector({}, 0.0, [read(0.0006), read(0.120)], [False, True])
    assert v[latency] == pytest.approx(0.6)
    assert v[FEATURES.index("requests")] == 2  # counted all the same
    # Both held, three windows in a row: no latency measured (missing, so not scored), never
    # the stalled reads' own nor a value carried from before (a carried one became a baseline).
    for _ in range(3):
        v = feats.vector({}, 0.0, [read(0.150), read(0.140)], [True, True])
        assert np.isnan(v[latency])
    # The same windows with no stall are a slowed device.
    slowed = WindowFeatures()
    for _ in range(3):
        v = slowed.vector({}, 0.0, [read(0.150), read(0.140)], [False, False])
    assert v[latency] == pytest.approx(145.0)


def test_exceptions_during_a_stall_still_count() -> None:
    feats = WindowFeatures()
    v = feats.vector({}, 0.0, [read(0.001, Outcome.EXCEPTION), read(0.2)], [True, True])
    assert v[FEATURES.index("exceptions")] == 1
    # Every read held by the stall: the window's latency is not measured, not the held reads'.
    assert np.isnan(v[FEATURES.index("latency_ms")])
