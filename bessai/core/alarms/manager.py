"""Alarms in the spirit of ISA-18.2: classes, priorities, hysteresis, on-delay, acknowledgement, shelving.

An alarm is raised when its value crosses the raise threshold for at least
its on-delay, and clears only when it comes back past the (separate) clear
threshold. States: normal, active-unacknowledged, active-acknowledged and
cleared-unacknowledged. The first alarm of a burst after a trip is marked
first-out; the consequential ones raised within the flood window are
grouped under it. Every change is an event on the bus and a row in SQLite.

An alarm instance belongs to its source: a device by name, or ``site`` for
the site-wide ones. ``(code, source)`` is raised and cleared only by that
source, so that a healthy device never clears another's trip; first-out is
per site; acknowledge and shelve act on one instance, named by its ``ref``
(``source/code``).
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

#: The source of the alarms that belong to the site rather than to one device.
SITE = "site"


def alarm_ref(code: str, source: str = SITE) -> str:
    """The name of one alarm instance, as the screen, the audit trail and HTTP give it."""
    return f"{source}/{code}"


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
    source: str = SITE
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
        """The alarm's code (its definition), the same for every source."""
        return self.definition.id

    @property
    def ref(self) -> str:
        """This instance: ``source/code``."""
        return alarm_ref(self.definition.id, self.source)

    @property
    def device(self) -> str | None:
        """The device it belongs to, None for a site alarm."""
        return None if self.source == SITE else self.source

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
    grp TEXT,
    source TEXT NOT NULL DEFAULT 'site'
);
"""


def _add_source_column(conn: sqlite3.Connection) -> None:
    """A log written before alarms had sources: its rows were the site's."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(alarm_events)")}
    if "source" not in columns:
        conn.execute("ALTER TABLE alarm_events ADD COLUMN source TEXT NOT NULL DEFAULT 'site'")


@dataclass
class AlarmManager:
    """Holds every defined alarm's state and publishes its changes."""

    bus: EventBus
    db_path: Path | str | None = None
    clock: Callable[[], float] = time.time
    flood_window_s: float = 10.0
    max_shelve_s: float = 8 * 3600.0
    max_pending_rows: int = 100_000
    definitions: dict[str, AlarmDefinition] = field(default_factory=dict)
    alarms: dict[tuple[str, str], Alarm] = field(default_factory=dict)
    _pending_since: dict[tuple[str, str], float] = field(default_factory=dict)
    _burst: tuple[tuple[str, str], float] | None = None

    def __post_init__(self) -> None:
        self.db: Database | None = None
        self.open_problem: str | None = None
        if self.db_path is not None:
            self.db, self.open_problem = open_store(Path(self.db_path), _SCHEMA, what="alarm log")
            if self.db.unavailable is None:
                self.db.call(_add_source_column)
        self._rows: list[tuple[object, ...]] = []
        self.version = 0  # counts every change of an instance: readers know when to look again

    def define(self, definition: AlarmDefinition) -> None:
        self.definitions.setdefault(definition.id, definition)

    def get(self, code: str, source: str = SITE) -> Alarm:
        """The instance of ``code`` for ``source`` (normal if it never was raised)."""
        alarm = self.alarms.get((code, source))
        if alarm is not None:
            return alarm
        try:
            return Alarm(self.definitions[code], source)
        except KeyError:
            raise AlarmError(f"no alarm {code!r}") from None

    def by_ref(self, ref: str) -> Alarm:
        """The instance named ``source/code`` (a bare code names the site's)."""
        source, _, code = ref.rpartition("/")
        alarm = self.alarms.get((code, source or SITE))
        if alarm is None:
            raise AlarmError(f"no alarm {ref!r}")
        return alarm

    def instances(self, code: str) -> list[Alarm]:
        """Every source's instance of ``code`` that was ever raised."""
        return [a for (c, _), a in self.alarms.items() if c == code]

    def forget_source(self, source: str) -> None:
        """A device removed from the site: its alarms go with it (cleared on the record)."""
        for key in [k for k in self.alarms if k[1] == source]:
            alarm = self.alarms[key]
            if alarm.active:
                self._clear(alarm, alarm.value or 0.0, self.clock())
            self.alarms.pop(key, None)
            self._pending_since.pop(key, None)

    def _store(
        self, alarm: Alarm, event: str, user: str | None = None, comment: str | None = None
    ) -> None:
        self.version += 1
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
                alarm.source,
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
                "INSERT INTO alarm_events (ts, alarm, event, state, priority, value, detail, user, comment, first_out, grp, source) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
            "SELECT ts, alarm, event, state, priority, value, detail, user, comment, first_out, grp, source "
            "FROM alarm_events ORDER BY id DESC LIMIT ?",
            (limit,),
        )

    def update(
        self,
        code: str,
        value: float | bool,
        detail: str = "",
        *,
        source: str = SITE,
        since: float | None = None,
    ) -> Alarm:
        """Feed a new value (or condition) to ``source``'s instance of an alarm; raises or
        clears that instance as its rules say, and no other source's."""
        alarm = self.get(code, source)
        key = (code, source)
        d = alarm.definition
        now = self.clock()
        number = float(value)
        if d.raise_at is None:
            crossing, back = bool(value), not bool(value)
        else:
            crossing, back = d.crossed_raise(number), d.back_past_clear(number)
        if not alarm.active:
            if not crossing:
                self._pending_since.pop(key, None)
                return alarm
            since = self._pending_since.setdefault(key, now)
            if now - since < d.on_delay_s:
                return alarm
            self._pending_since.pop(key, None)
            return self._raise(alarm, number, detail, now, since)
        if back:
            return self._clear(alarm, number, now)
        updated = replace(alarm, value=number, detail=detail or alarm.detail)
        self.alarms[key] = updated
        return updated

    def _raise(
        self, alarm: Alarm, value: float, detail: str, now: float, since: float | None = None
    ) -> Alarm:
        """Raise an instance; ``since`` when its cause began earlier (an E-stop kept across a
        restart is raised as of its press)."""
        first_out, group = False, None
        if self._burst is not None and now - self._burst[1] <= self.flood_window_s:
            group = alarm_ref(*self._burst[0])
        elif (
            alarm.definition.alarm_class is AlarmClass.TRIP
            or alarm.definition.priority is Priority.CRITICAL
        ):
            first_out = True
            self._burst = ((alarm.id, alarm.source), now)
        new = replace(
            alarm,
            state=AlarmState.ACTIVE_UNACK,
            value=value,
            detail=detail,
            raised_at=now if since is None else since,
            cleared_at=None,
            acked_by=None,
            ack_comment=None,
            first_out=first_out,
            group=group,
        )
        self.alarms[(alarm.id, alarm.source)] = new
        self._store(new, "raised")
        self.bus.publish(AlarmRaised(new))
        return new

    def _clear(self, alarm: Alarm, value: float, now: float) -> Alarm:
        state = (
            AlarmState.NORMAL if alarm.state is AlarmState.ACTIVE_ACK else AlarmState.CLEARED_UNACK
        )
        new = replace(alarm, state=state, value=value, cleared_at=now)
        if self._burst is not None and self._burst[0] == (alarm.id, alarm.source):
            self._burst = None
        self.alarms[(alarm.id, alarm.source)] = new
        self._store(new, "cleared")
        self.bus.publish(AlarmCleared(new))
        return new

    def acknowledge(self, ref: str, user: str, comment: str | None = None) -> Alarm:
        """Acknowledge one instance, named ``source/code``."""
        alarm = self.by_ref(ref)
        if alarm.state is AlarmState.ACTIVE_UNACK:
            state = AlarmState.ACTIVE_ACK
        elif alarm.state is AlarmState.CLEARED_UNACK:
            state = AlarmState.NORMAL
        else:
            raise AlarmError(f"alarm {ref!r} has nothing to acknowledge ({alarm.state.value})")
        new = replace(alarm, state=state, acked_by=user, ack_comment=comment)
        self.alarms[(alarm.id, alarm.source)] = new
        self._store(new, "acknowledged", user, comment)
        self.bus.publish(AlarmAcknowledged(new))
        return new

    def shelve(self, ref: str, user: str, duration_s: float, comment: str | None = None) -> Alarm:
        """Hide an alarm from the active list for a bounded time (the caller checks the role)."""
        if not 0 < duration_s <= self.max_shelve_s:
            raise AlarmError(
                f"shelving lasts more than 0 and at most {self.max_shelve_s / 3600:.0f} h"
            )
        alarm = self.by_ref(ref)
        new = replace(alarm, shelved_until=self.clock() + duration_s, shelved_by=user)
        self.alarms[(alarm.id, alarm.source)] = new
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
            shown,
            key=lambda a: (a.definition.priority, not a.first_out, a.raised_at or 0.0, a.ref),
        )

    def active_instances(self) -> list[Alarm]:
        """The instances whose condition holds now (shelved ones too), most urgent first."""
        return [a for a in self.active(include_shelved=True) if a.active]

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
