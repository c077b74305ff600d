"""Retention on an injected wall clock: weeks of a store's life pass in a test's second.

History prunes raw samples and minute aggregates by their configured ages on
the clock it is given (as often as its prune interval on that clock says), and
holds its size bound even when only minute aggregates are left to drop; the
outbox stamps and ages its messages on its clock.
"""

from __future__ import annotations

from pathlib import Path

from bessai.core.runtime.events import Quality, Sample
from bessai.core.stores.history import History
from bessai.core.stores.outbox import Outbox

DAY_S = 86400.0
T0 = 1_790_000_000.0 - (1_790_000_000.0 % 60)


class SyntheticClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _live(history: History, clock: SyntheticClock, days: float, every_s: float) -> None:
    """Samples every ``every_s`` simulated seconds for ``days``, flushed each simulated hour."""
    for i in range(int(days * DAY_S / every_s)):
        clock.now = T0 + i * every_s
        history.add("bess", clock.now, "good", {"soc_pct": 50.0, "active_power_kw": float(i % 9)})
        if i % int(3600 / every_s) == 0:
            await history.flush()
    await history.flush()


async def test_history_prunes_by_its_configured_ages_on_the_injected_clock(
    tmp_path: Path,
) -> None:
    clock = SyntheticClock()
    history = History(
        tmp_path / "history.db",
        raw_retention_s=3 * DAY_S,
        minute_retention_s=5 * DAY_S,
        clock=clock,
        prune_interval_s=6 * 3600.0,
    )
    await _live(history, clock, days=12, every_s=120.0)
    ((raw_low, raw_high),) = history.db.query("SELECT MIN(ts), MAX(ts) FROM raw")
    ((minute_low, minute_high),) = history.db.query("SELECT MIN(ts), MAX(ts) FROM minute")
    # What is left spans the retention, give or take one prune interval.
    assert 3 * DAY_S <= raw_high - raw_low <= 3 * DAY_S + 6 * 3600.0
    assert 5 * DAY_S - 60.0 <= minute_high - minute_low <= 5 * DAY_S + 6 * 3600.0
    # Every 6 simulated hours of the 12 days (the first flush included), not on every flush.
    assert history.prunes == 12 * 4
    await history.stop()


async def test_history_holds_its_size_bound_when_only_minutes_are_left(tmp_path: Path) -> None:
    clock = SyntheticClock()
    bound = 256 * 1024
    history = History(
        tmp_path / "history.db",
        raw_retention_s=3600.0,
        max_bytes=bound,
        clock=clock,
        prune_interval_s=3600.0,
    )
    await _live(history, clock, days=20, every_s=60.0)
    size = history.db.call(history._size_bytes)
    assert size <= bound
    ((minute_low, minute_high),) = history.db.query("SELECT MIN(ts), MAX(ts) FROM minute")
    # The newest written minute stays (the last is still being aggregated); the oldest went.
    assert minute_high == T0 + 20 * DAY_S - 120.0
    assert minute_low > T0 + DAY_S
    await history.stop()


async def test_the_outbox_stamps_and_ages_on_its_clock(tmp_path: Path) -> None:
    clock = SyntheticClock()
    box = Outbox(tmp_path / "outbox.db", "site", max_rows=50, clock=clock)
    for i in range(200):
        clock.now = T0 + i
        box.add_sample(Sample("bess", clock.now, {}, {"soc_pct": 1.0}, Quality.GOOD))
    box.add_status({"id": "site:status:1"})
    await box.commit()
    assert box.depth <= 50 + 4  # the bound, plus the aggregates and status it never drops
    assert box.stats.dropped >= 150
    rows = await box.batch(100)
    assert rows[-1].kind == "status"
    assert rows[-1].created == clock.now
    clock.now += 5 * DAY_S
    age = box.oldest_age_s()
    assert age is not None
    assert age == clock.now - rows[0].created
    await box.stop()


async def test_a_full_outbox_of_aggregates_drops_the_oldest_and_keeps_its_events(
    tmp_path: Path,
) -> None:
    clock = SyntheticClock()
    box = Outbox(tmp_path / "outbox.db", "site", events_topic="events", max_rows=40, clock=clock)
    box.add_event("alarm", "alarms", {"id": "site:alarm:1"})
    for i in range(120):  # an hour apart: each sample closes a minute, one aggregate each
        clock.now = T0 + i * 3600.0
        box.add_sample(Sample("bess", clock.now, {}, {"soc_pct": 1.0}, Quality.GOOD))
        box.add_status({"id": f"site:status:{i}"})
        await box.commit()
    assert box.depth == 40
    kinds = [r.kind for r in await box.batch(100)]
    assert kinds[0] == "alarm"  # events stay
    assert kinds.count("status") == 0  # old statuses went before the aggregates
    aggregates = [r for r in await box.batch(100) if r.kind == "aggregate"]
    assert aggregates[-1].created == T0 + 118 * 3600.0  # the newest aggregates kept
