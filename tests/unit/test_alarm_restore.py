"""Alarms across a restart: raise times, acknowledgements and shelves come back from the log;
the source's first evaluation confirms or clears them; the log keeps its order by ``seq``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bessai.core.alarms.manager import (
    AlarmClass,
    AlarmDefinition,
    AlarmManager,
    AlarmRaised,
    AlarmState,
    Priority,
)
from bessai.core.runtime.bus import EventBus

TRIP = AlarmDefinition("safety_trip", AlarmClass.TRIP, Priority.CRITICAL, "Safety trip")
HOT = AlarmDefinition(
    "battery_temp_high",
    AlarmClass.LIMIT,
    Priority.MEDIUM,
    "Battery temperature high",
    raise_at=40.0,
    clear_at=38.0,
    on_delay_s=2.0,
)
STEP = AlarmDefinition(
    "clock_stepped",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "The wall clock stepped",
    outlives_restart=False,
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def start(path: Path, clock: Clock, events: list[Any] | None = None) -> AlarmManager:
    """One run of the gateway's alarm manager on the same file, its alarms defined."""
    bus = EventBus()
    if events is not None:
        bus.subscribe(AlarmRaised, events.append)
    manager = AlarmManager(bus, path, clock=clock)
    for definition in (TRIP, HOT, STEP):
        manager.define(definition)
    return manager


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "alarms.db"


def test_a_standing_trip_keeps_its_raise_time_and_is_confirmed_by_its_source(db: Path) -> None:
    clock = Clock(1_000.0)
    first = start(db, clock)
    first.update("safety_trip", True, "battery 72.0 °C >= 45.0 °C", source="b")
    first.close()

    clock.now = 5_000.0
    raised: list[Any] = []
    second = start(db, clock, raised)
    trip = second.get("safety_trip", "b")
    assert (trip.state, trip.raised_at, trip.restored) == (AlarmState.ACTIVE_UNACK, 1_000.0, True)
    assert trip.detail == "battery 72.0 °C >= 45.0 °C"
    assert [a.ref for a in second.active_instances()] == ["b/safety_trip"]

    clock.now = 5_001.0
    confirmed = second.update("safety_trip", True, "battery 71.0 °C >= 45.0 °C", source="b")
    assert (confirmed.raised_at, confirmed.restored) == (1_000.0, False)
    assert confirmed.detail == "battery 71.0 °C >= 45.0 °C"
    # Counted as raised in this run (metrics, cloud), raised once, not twice.
    assert [e.alarm.ref for e in raised] == ["b/safety_trip"]
    second.update("safety_trip", True, source="b")
    assert len(raised) == 1
    second.close()
    events = [(r[1], r[2]) for r in AlarmManager(EventBus(), db).history()]
    assert events[:3] == [
        ("safety_trip", "confirmed"),
        ("safety_trip", "restored"),
        ("safety_trip", "raised"),
    ]


def test_who_acknowledged_and_shelved_comes_back_and_a_gone_cause_clears(db: Path) -> None:
    clock = Clock(1_000.0)
    first = start(db, clock)
    first.update("battery_temp_high", 45.0, source="a")
    clock.now = 1_003.0
    assert first.update("battery_temp_high", 45.0, source="a").raised_at == 1_000.0
    clock.now = 1_010.0
    first.acknowledge("a/battery_temp_high", "olga", "fan checked")
    clock.now = 1_020.0
    first.shelve("a/battery_temp_high", "eng", 3_600.0, "sensor swap")
    first.close()

    clock.now = 2_000.0
    second = start(db, clock)
    hot = second.get("battery_temp_high", "a")
    assert (hot.state, hot.raised_at, hot.restored) == (AlarmState.ACTIVE_ACK, 1_000.0, True)
    assert (hot.acked_by, hot.ack_comment, hot.acked_at) == ("olga", "fan checked", 1_010.0)
    assert (hot.shelved_by, hot.shelved_at, hot.shelved_until) == ("eng", 1_020.0, 4_620.0)
    assert second.active() == []  # still shelved, as the engineer asked, for the time left
    # In the hysteresis band the cause still holds; below the clear threshold it is gone.
    assert second.update("battery_temp_high", 39.0, source="a").active
    cleared = second.update("battery_temp_high", 30.0, source="a")
    assert (cleared.state, cleared.cleared_at) == (AlarmState.NORMAL, 2_000.0)
    second.close()
    assert start(db, clock).alarms == {}


def test_an_unacknowledged_alarm_whose_cause_went_waits_for_its_acknowledgement(
    db: Path,
) -> None:
    clock = Clock(1_000.0)
    first = start(db, clock)
    first.update("safety_trip", True, source="a")
    first.close()
    second = start(db, clock)
    assert second.update("safety_trip", False, source="a").state is AlarmState.CLEARED_UNACK
    assert [a.ref for a in second.active()] == ["a/safety_trip"]  # not hidden
    second.close()
    third = start(db, clock)
    kept = third.get("safety_trip", "a")
    assert (kept.state, kept.restored, kept.raised_at) == (
        AlarmState.CLEARED_UNACK,
        False,
        1_000.0,
    )
    assert third.acknowledge("a/safety_trip", "olga").state is AlarmState.NORMAL


def test_an_alarm_about_one_run_ends_with_it(db: Path) -> None:
    clock = Clock(1_000.0)
    first = start(db, clock)
    first.update("clock_stepped", True, "wall clock stepped +3600 s")
    first.close()
    clock.now = 1_500.0
    second = start(db, clock)
    step = second.get("clock_stepped")
    assert (step.state, step.cleared_at, step.restored) == (
        AlarmState.CLEARED_UNACK,
        1_500.0,
        False,
    )


def test_the_alarms_of_a_device_no_longer_on_the_site_go_for_good(db: Path) -> None:
    clock = Clock(1_000.0)
    first = start(db, clock)
    first.update("safety_trip", True, source="old")
    first.update("safety_trip", True, source="a")
    first.close()
    second = start(db, clock)
    assert second.keep_restored_of(["a"]) == ["old"]
    assert [a.ref for a in second.active()] == ["a/safety_trip"]
    second.close()
    assert start(db, clock).restored_sources() == {"a"}


def test_a_raise_as_of_an_earlier_press_keeps_that_time(db: Path) -> None:
    clock = Clock(5_000.0)
    manager = start(db, clock)
    estop = manager.update("safety_trip", True, source="a", since=4_000.0)
    assert estop.raised_at == 4_000.0
    manager.close()
    assert start(db, clock).get("safety_trip", "a").raised_at == 4_000.0


def test_an_old_log_is_migrated_in_place_and_keeps_its_order_across_a_clock_step(
    db: Path,
) -> None:
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE alarm_events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, "
        "alarm TEXT NOT NULL, event TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL, "
        "value REAL, detail TEXT, user TEXT, comment TEXT, first_out INTEGER NOT NULL DEFAULT 0, "
        "grp TEXT)"
    )
    rows = [
        (900.0, "safety_trip", "raised", "active_unack", "hot"),
        (950.0, "safety_trip", "acknowledged", "active_ack", "hot"),
    ]
    conn.executemany(
        "INSERT INTO alarm_events (ts, alarm, event, state, priority, detail, user) "
        "VALUES (?, ?, ?, ?, 1, ?, 'olga')",
        rows,
    )
    conn.commit()
    conn.close()

    clock = Clock(1_000.0)
    manager = start(db, clock)
    trip = manager.get("safety_trip")  # an old row was the site's
    assert (trip.state, trip.raised_at, trip.acked_by) == (AlarmState.ACTIVE_ACK, 900.0, "olga")
    clock.now = 1_000.0 - 7_200.0  # the wall clock stepped back two hours
    manager.update("safety_trip", False)
    manager.close()

    history = AlarmManager(EventBus(), db).history()
    assert [(r[2], r[12]) for r in history] == [
        ("cleared", 4),
        ("restored", 3),
        ("acknowledged", 2),
        ("raised", 1),
    ]
    assert history[0][0] < history[-1][0]  # stamped earlier, yet known to be the latest
