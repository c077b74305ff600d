"""Alarms: hysteresis, on-delay, acknowledgement states, bounded shelving, first-out grouping, storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bessai.core.alarms.manager import (
    AlarmClass,
    AlarmDefinition,
    AlarmError,
    AlarmManager,
    AlarmRaised,
    AlarmState,
    Priority,
)
from bessai.core.runtime.bus import EventBus


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path) -> tuple[AlarmManager, Clock, list[Any]]:
    bus, clock = EventBus(), Clock()
    raised: list[Any] = []
    bus.subscribe(AlarmRaised, raised.append)
    manager = AlarmManager(bus, tmp_path / "alarms.db", clock=clock, flood_window_s=10)
    manager.define(
        AlarmDefinition(
            "temp",
            AlarmClass.LIMIT,
            Priority.MEDIUM,
            "T",
            raise_at=40,
            clear_at=38,
            on_delay_s=2,
        )
    )
    manager.define(AlarmDefinition("trip", AlarmClass.TRIP, Priority.CRITICAL, "Trip"))
    manager.define(AlarmDefinition("comms", AlarmClass.COMMS, Priority.HIGH, "Comms"))
    manager.define(
        AlarmDefinition(
            "soc_low", AlarmClass.LIMIT, Priority.LOW, "S", raise_at=5, clear_at=8, high=False
        )
    )
    return manager, clock, raised


def test_on_delay_then_hysteresis(setup: tuple[AlarmManager, Clock, list[Any]]) -> None:
    m, clock, raised = setup
    assert m.update("temp", 41).state is AlarmState.NORMAL
    clock.now += 1
    assert m.update("temp", 41).state is AlarmState.NORMAL
    clock.now += 1.5
    assert m.update("temp", 41).state is AlarmState.ACTIVE_UNACK
    assert len(raised) == 1
    assert m.update("temp", 39).state is AlarmState.ACTIVE_UNACK  # between clear and raise
    assert m.update("temp", 37.9).state is AlarmState.CLEARED_UNACK


def test_low_alarm_clears_above_its_clear_threshold(
    setup: tuple[AlarmManager, Clock, list[Any]],
) -> None:
    m, _, _ = setup
    assert m.update("soc_low", 4.9).active
    assert m.update("soc_low", 7).active
    assert not m.update("soc_low", 8.1).active


def test_acknowledge_states(setup: tuple[AlarmManager, Clock, list[Any]]) -> None:
    m, _, _ = setup
    m.update("comms", True)
    acked = m.acknowledge("comms", "olga", "cable reseated")
    assert (acked.state, acked.acked_by, acked.ack_comment) == (
        AlarmState.ACTIVE_ACK,
        "olga",
        "cable reseated",
    )
    assert m.update("comms", False).state is AlarmState.NORMAL
    m.update("comms", True)
    m.update("comms", False)
    assert m.get("comms").state is AlarmState.CLEARED_UNACK
    assert m.acknowledge("comms", "olga").state is AlarmState.NORMAL
    with pytest.raises(AlarmError, match="nothing to acknowledge"):
        m.acknowledge("comms", "olga")


def test_shelving_is_bounded_and_hides_the_alarm_for_that_time(
    setup: tuple[AlarmManager, Clock, list[Any]],
) -> None:
    m, clock, _ = setup
    m.update("comms", True)
    with pytest.raises(AlarmError):
        m.shelve("comms", "eng", 9 * 3600)
    m.shelve("comms", "eng", 600)
    assert m.active() == []
    assert [a.id for a in m.active(include_shelved=True)] == ["comms"]
    clock.now += 601
    assert [a.id for a in m.active()] == ["comms"]


def test_first_out_and_flood_grouping(setup: tuple[AlarmManager, Clock, list[Any]]) -> None:
    m, clock, _ = setup
    m.update("trip", True)
    clock.now += 1
    m.update("comms", True)
    clock.now += 2
    m.update("soc_low", 3)
    trip, comms, soc = m.get("trip"), m.get("comms"), m.get("soc_low")
    assert trip.first_out
    assert trip.group is None
    assert (comms.first_out, comms.group) == (False, "site/trip")
    assert soc.group == "site/trip"
    assert [a.id for a in m.active()] == ["trip", "comms", "soc_low"]
    clock.now += 30
    m.update("temp", 50)
    clock.now += 3
    assert m.update("temp", 50).group is None  # outside the flood window


async def test_rows_are_written_to_sqlite(setup: tuple[AlarmManager, Clock, list[Any]]) -> None:
    m, _, _ = setup
    m.update("comms", True)
    m.acknowledge("comms", "olga", "seen")
    assert await m.flush() == 2
    rows = m.history()
    assert [(r[1], r[2], r[7], r[8]) for r in rows] == [
        ("comms", "acknowledged", "olga", "seen"),
        ("comms", "raised", None, None),
    ]
