"""Alarms in the spirit of ISA-18.2: classes, priorities, hysteresis, on-delay, acknowledgement, shelving.

An alarm is raised when its value crosses the raise threshold for at least
its on-delay, and clears only when it comes back past the (separate) clear
threshold. States: normal, active-unacknowledged, active-acknowledged and
cleared-unacknowledged. The first alarm of a burst after a trip is marked
first-out; the consequential ones raised within the flood window are
grouped under it. Every change is an event on the bus and a row in SQLite.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from pathlib import Path

from bessai.core.runtime.bus import EventBus
from bessai.core.stores.database import Database, open_store


class AlarmClass(StrEnum):
    COMMS = "comms"
    LIMIT = "limit"
    TRIP = "trip"
    INTRUSION = "intrusion"
    DEVICE_FAULT = "device_fault"
    SYSTEM = "system"


class Priority(IntEnum):
    CRITICAL = 1
    HIGH = 2
    MEDIUM = 3
    LOW = 4


class AlarmState(StrEnum):
    NORMAL = "normal"
    ACTIVE_UNACK = "active_unack"
    ACTIVE_ACK = "active_ack"
    CLEARED_UNACK = "cleared_unack"


@dataclass(frozen=True)
class AlarmDefinition:
    """What raises and clears an alarm. With no thresholds it follows a boolean condition."""

    id: str
    alarm_class: AlarmClass
    priority: Priority
    text_es: str
    text_en: str
    raise_at: float | None = None
    clear_at: float | None = None
    high: bool = True
    on_delay_s: float = 0.0

    def crossed_raise(self, value: float) -> bool:
        assert self.raise_at is not None
        return value >= self.raise_at if self.high else value <= self.raise_at

    def back_past_clear(self, value: float) -> bool:
        limit = self.clear_at if self.clear_at is not None else self.raise_at
        assert limit is not None
        return value < limit if self.high else value > limit


@dataclass(frozen=True)
class Alarm:
    """An alarm's current state, as shown and stored."""

    definition: AlarmDefinition
    state: AlarmState = AlarmState.NORMAL
    value: float | None = None
    detail: str = ""
    raised_at: float | None = None
    cleared_at: float | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    shelved_until: float | None = None
    shelved_by: str | None = None
    first_out: bool = False
    group: str | None = None

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def active(self) -> bool:
        return self.state in (AlarmState.ACTIVE_UNACK, AlarmState.ACTIVE_ACK)

    def shelved(self, now: float) -> bool:
        return self.shelved_until is not None and self.shelved_until > now


@dataclass(frozen=True)
class AlarmRaised:
    alarm: Alarm


@dataclass(frozen=True)
class AlarmCleared:
    alarm: Alarm


@dataclass(frozen=True)
class AlarmAcknowledged:
    alarm: Alarm


@dataclass(frozen=True)
class AlarmShelved:
    alarm: Alarm


class AlarmError(Exception):
    pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    alarm TEXT NOT NULL,
    event TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    value REAL,
    detail TEXT,
    user TEXT,
    comment TEXT,
    first_out INTEGER NOT NULL DEFAULT 0,
    grp TEXT
);
"""


@dataclass
class AlarmManager:
    """Holds every defined alarm's state and publishes its changes."""

    bus: EventBus
    db_path: Path | str | None = None
    clock: Callable[[], float] = time.time
    flood_window_s: float = 10.0
    max_shelve_s: float = 8 * 3600.0
    max_pending_rows: int = 100_000
    alarms: dict[str, Alarm] = field(default_factory=dict)
    _pending_since: dict[str, float] = field(default_factory=dict)
    _burst: tuple[str, float] | None = None

    def __post_init__(self) -> None:
        self.db: Database | None = None
        self.open_problem: str | None = None
        if self.db_path is not None:
            self.db, self.open_problem = open_store(Path(self.db_path), _SCHEMA, what="alarm log")
        self._rows: list[tuple[object, ...]] = []

    def define(self, definition: AlarmDefinition) -> None:
        self.alarms.setdefault(definition.id, Alarm(definition))

    def get(self, alarm_id: str) -> Alarm:
        try:
            return self.alarms[alarm_id]
        except KeyError:
            raise AlarmError(f"no alarm {alarm_id!r}") from None

    def _store(
        self, alarm: Alarm, event: str, user: str | None = None, comment: str | None = None
    ) -> None:
        self._rows.append(
            (
                self.clock(),
                alarm.id,
                event,
                alarm.state.value,
                int(alarm.definition.priority),
                alarm.value,
                alarm.detail,
                user,
                comment,
                int(alarm.first_out),
                alarm.group,
            )
        )

    async def flush(self) -> int:
        """Write the pending alarm rows to SQLite (off the loop)."""
        if self.db is None or not self._rows:
            self._rows.clear()
            return 0
        rows, self._rows = self._rows, []

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO alarm_events (ts, alarm, event, state, priority, value, detail, user, comment, first_out, grp) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

        try:
            await self.db.run(write)
        except Exception:
            # Kept for the next flush (bounded), so a store that fails loses no row.
            self._rows[0:0] = rows[-self.max_pending_rows :]
            raise
        return len(rows)

    def history(self, limit: int = 200) -> list[tuple[object, ...]]:
        if self.db is None:
            return []
        return self.db.query(
            "SELECT ts, alarm, event, state, priority, value, detail, user, comment, first_out, grp "
            "FROM alarm_events ORDER BY id DESC LIMIT ?",
            (limit,),
        )

    def update(self, alarm_id: str, value: float | bool, detail: str = "") -> Alarm:
        """Feed a new value (or condition) to an alarm; raises or clears it as its rules say."""
        alarm = self.get(alarm_id)
        d = alarm.definition
        now = self.clock()
        number = float(value)
        if d.raise_at is None:
            crossing, back = bool(value), not bool(value)
        else:
            crossing, back = d.crossed_raise(number), d.back_past_clear(number)
        if not alarm.active:
            if not crossing:
                self._pending_since.pop(alarm_id, None)
                return alarm
            since = self._pending_since.setdefault(alarm_id, now)
            if now - since < d.on_delay_s:
                return alarm
            self._pending_since.pop(alarm_id, None)
            return self._raise(alarm, number, detail, now)
        if back:
            return self._clear(alarm, number, now)
        updated = replace(alarm, value=number)
        self.alarms[alarm_id] = updated
        return updated

    def _raise(self, alarm: Alarm, value: float, detail: str, now: float) -> Alarm:
        first_out, group = False, None
        if self._burst is not None and now - self._burst[1] <= self.flood_window_s:
            group = self._burst[0]
        elif (
            alarm.definition.alarm_class is AlarmClass.TRIP
            or alarm.definition.priority is Priority.CRITICAL
        ):
            first_out = True
            self._burst = (alarm.id, now)
        new = replace(
            alarm,
            state=AlarmState.ACTIVE_UNACK,
            value=value,
            detail=detail,
            raised_at=now,
            cleared_at=None,
            acked_by=None,
            ack_comment=None,
            first_out=first_out,
            group=group,
        )
        self.alarms[alarm.id] = new
        self._store(new, "raised")
        self.bus.publish(AlarmRaised(new))
        return new

    def _clear(self, alarm: Alarm, value: float, now: float) -> Alarm:
        state = (
            AlarmState.NORMAL if alarm.state is AlarmState.ACTIVE_ACK else AlarmState.CLEARED_UNACK
        )
        new = replace(alarm, state=state, value=value, cleared_at=now)
        if self._burst is not None and self._burst[0] == alarm.id:
            self._burst = None
        self.alarms[alarm.id] = new
        self._store(new, "cleared")
        self.bus.publish(AlarmCleared(new))
        return new

    def acknowledge(self, alarm_id: str, user: str, comment: str | None = None) -> Alarm:
        alarm = self.get(alarm_id)
        if alarm.state is AlarmState.ACTIVE_UNACK:
            state = AlarmState.ACTIVE_ACK
        elif alarm.state is AlarmState.CLEARED_UNACK:
            state = AlarmState.NORMAL
        else:
            raise AlarmError(f"alarm {alarm_id!r} has nothing to acknowledge ({alarm.state.value})")
        new = replace(alarm, state=state, acked_by=user, ack_comment=comment)
        self.alarms[alarm_id] = new
        self._store(new, "acknowledged", user, comment)
        self.bus.publish(AlarmAcknowledged(new))
        return new

    def shelve(
        self, alarm_id: str, user: str, duration_s: float, comment: str | None = None
    ) -> Alarm:
        """Hide an alarm from the active list for a bounded time (the caller checks the role)."""
        if not 0 < duration_s <= self.max_shelve_s:
            raise AlarmError(
                f"shelving lasts more than 0 and at most {self.max_shelve_s / 3600:.0f} h"
            )
        alarm = self.get(alarm_id)
        new = replace(alarm, shelved_until=self.clock() + duration_s, shelved_by=user)
        self.alarms[alarm_id] = new
        self._store(new, "shelved", user, comment)
        self.bus.publish(AlarmShelved(new))
        return new

    def active(self, *, include_shelved: bool = False) -> list[Alarm]:
        """Alarms needing attention, most urgent first, first-out before the rest of its group."""
        now = self.clock()
        shown = [
            a
            for a in self.alarms.values()
            if a.state is not AlarmState.NORMAL and (include_shelved or not a.shelved(now))
        ]
        return sorted(
            shown, key=lambda a: (a.definition.priority, not a.first_out, a.raised_at or 0.0)
        )

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
