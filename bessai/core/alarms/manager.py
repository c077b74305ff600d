"""Alarms in the spirit of ISA-18.2: classes, priorities, hysteresis, on-delay, acknowledgement, shelving.

An alarm is raised when its value crosses the raise threshold for at least
its on-delay, and clears only when it comes back past the (separate) clear
threshold. States: normal, active-unacknowledged, active-acknowledged and
cleared-unacknowledged. The first alarm of a burst after a trip is marked
first-out; the consequential ones raised within the flood window are
grouped under it. Every change is an event on the bus and a row in SQLite,
numbered (``seq``) so that the rows keep their order whatever the wall clock
does.

An alarm instance belongs to its source: a device by name, or ``site`` for
the site-wide ones. ``(code, source)`` is raised and cleared only by that
source, so that a healthy device never clears another's trip; first-out is
per site; acknowledge and shelve act on one instance, named by its ``ref``
(``source/code``).

A definition carries its words in English (``message``: /health, logs, the
status message); the screen translates those words with Qt, so a language
is a translation file, not a field here. After a restart the instances the
log left standing come back with their raise time and who acknowledged or
shelved them (``restored``) until their source's first evaluation confirms
them or clears them.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

from bessai.core.runtime.bus import EventBus
from bessai.core.stores.database import Database, open_store

log = logging.getLogger(__name__)

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
    """What raises and clears an alarm. With no thresholds it follows a boolean condition.

    ``message`` is the alarm in English words, the text the screen's translation looks up.
    ``outlives_restart`` is False for an alarm about one run alone (an Auto fallback, a
    replaced store, a clock step): a restart ends it instead of restoring it.
    """

    id: str
    alarm_class: AlarmClass
    priority: Priority
    message: str
    raise_at: float | None = None
    clear_at: float | None = None
    high: bool = True
    on_delay_s: float = 0.0
    outlives_restart: bool = True

    @property
    def message_key(self) -> str:
        """The key /health and the status message name the words by."""
        return f"alarm.{self.id}"

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
    acked_at: float | None = None
    shelved_until: float | None = None
    shelved_by: str | None = None
    shelved_at: float | None = None
    first_out: bool = False
    group: str | None = None
    #: Brought back from the log at start, not yet confirmed by its source in this run.
    restored: bool = False

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
    source TEXT NOT NULL DEFAULT 'site',
    seq INTEGER,
    since REAL,
    until REAL
);
"""

_COLUMNS = "ts, alarm, event, state, priority, value, detail, user, comment, first_out, grp, source, seq, since, until"


def _migrate(conn: sqlite3.Connection) -> int:
    """Bring an older log forward in place; returns the last sequence number.

    Rows written before alarms had sources were the site's; rows written before the
    sequence number are numbered in the order they were written (their id).
    """
    columns = {row[1] for row in conn.execute("PRAGMA table_info(alarm_events)")}
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "source" not in columns:
            conn.execute("ALTER TABLE alarm_events ADD COLUMN source TEXT NOT NULL DEFAULT 'site'")
        if "seq" not in columns:
            conn.execute("ALTER TABLE alarm_events ADD COLUMN seq INTEGER")
            conn.execute("UPDATE alarm_events SET seq = id")
        for added in ("since", "until"):
            if added not in columns:
                conn.execute(f"ALTER TABLE alarm_events ADD COLUMN {added} REAL")
        conn.execute(
            "CREATE INDEX IF NOT EXISTS alarm_events_instance "
            "ON alarm_events (alarm, source, event, seq)"
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    (last,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM alarm_events").fetchone()
    return int(last)


#: What each kind of row leaves an instance with (folded in ``seq`` order from its last raise).
_FOLD_SQL = """
SELECT e.alarm, e.source, e.event, e.state, COALESCE(e.since, e.ts), e.value, e.detail,
       e.user, e.comment, e.first_out, e.grp
FROM alarm_events e
JOIN (SELECT alarm, source, MAX(seq) AS last_raise FROM alarm_events
      WHERE event = 'raised' GROUP BY alarm, source) r
  ON e.alarm = r.alarm AND e.source = r.source AND e.seq >= r.last_raise
ORDER BY e.seq
"""
_SHELVES_SQL = """
SELECT alarm, source, ts, user, until, MAX(seq) FROM alarm_events
WHERE event = 'shelved' AND until IS NOT NULL GROUP BY alarm, source
"""


def _last_states(conn: sqlite3.Connection, now: float) -> dict[tuple[str, str], dict[str, Any]]:
    """Each instance's state as the log left it, for those not back to normal."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for code, source, event, state, ts, value, detail, user, comment, first, grp in conn.execute(
        _FOLD_SQL
    ):
        key = (code, source)
        fields = found.setdefault(key, {})
        if event == "raised":
            fields.update(
                raised_at=ts, value=value, detail=detail or "", first_out=bool(first), group=grp
            )
        elif event == "cleared":
            fields.update(cleared_at=ts, value=value)
        elif event == "acknowledged":
            fields.update(acked_by=user, ack_comment=comment, acked_at=ts)
        if event != "shelved":
            fields["state"] = AlarmState(state)
    standing = {
        k: f for k, f in found.items() if f.get("state", AlarmState.NORMAL) is not AlarmState.NORMAL
    }
    # A shelve still running goes on; one of an instance back to normal is not kept (a
    # restart hides nothing that was not hidden by hand while it stood).
    for code, source, ts, user, until, _ in conn.execute(_SHELVES_SQL):
        if until > now and (code, source) in standing:
            standing[(code, source)].update(shelved_until=until, shelved_by=user, shelved_at=ts)
    return standing


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
        self._seq = 0
        # The instances the log left standing, brought back as their codes are defined.
        self._restored: dict[tuple[str, str], dict[str, Any]] = {}
        if self.db_path is not None:
            self.db, self.open_problem = open_store(Path(self.db_path), _SCHEMA, what="alarm log")
            if self.db.unavailable is None:
                self._seq = self.db.call(_migrate)
                self._restored = self.db.call(lambda conn: _last_states(conn, self.clock()))
        self._rows: list[tuple[object, ...]] = []
        self.version = 0  # counts every change of an instance: readers know when to look again

    def define(self, definition: AlarmDefinition) -> None:
        """Know an alarm; the first time, its instances left standing by the log come back."""
        if definition.id in self.definitions:
            return
        self.definitions[definition.id] = definition
        for key in [k for k in self._restored if k[0] == definition.id]:
            self._restore(Alarm(definition, key[1], **self._restored.pop(key)))

    def _restore(self, alarm: Alarm) -> None:
        """One instance from the last run: kept (unconfirmed) if its cause can outlast a
        restart, else ended now as if its source had found the cause gone."""
        key = (alarm.id, alarm.source)
        if not alarm.active:
            self.alarms[key] = alarm
            self.version += 1
            return
        if not alarm.definition.outlives_restart:
            self.alarms[key] = alarm
            self._clear(alarm, alarm.value or 0.0, self.clock())
            return
        restored = replace(alarm, restored=True)
        self.alarms[key] = restored
        self._store(restored, "restored")

    def restored_sources(self) -> set[str]:
        """The sources of instances brought back from the log (defined or still waiting)."""
        return {s for _, s in self._restored} | {
            a.source for a in self.alarms.values() if a.restored
        }

    def keep_restored_of(self, devices: Iterable[str]) -> list[str]:
        """At start, with the site's devices known: what the log left standing for a device no
        longer on the site goes, as if it had been removed; returns those sources."""
        gone = sorted(self.restored_sources() - {SITE, *devices})
        for source in gone:
            self.forget_source(source)
        return gone

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
        """A device removed from the site: its alarms go with it (cleared on the record, and
        not brought back by the next start)."""
        for key in [k for k in self._restored if k[1] == source]:
            fields = self._restored.pop(key)
            self._rows.append(self._row(key[0], source, "removed", AlarmState.NORMAL, fields))
        for key in [k for k in self.alarms if k[1] == source]:
            alarm = self.alarms[key]
            if alarm.active:
                alarm = self._clear(alarm, alarm.value or 0.0, self.clock())
            if alarm.state is not AlarmState.NORMAL or alarm.shelved_until is not None:
                self._store(replace(alarm, state=AlarmState.NORMAL), "removed")
            self.alarms.pop(key, None)
            self._pending_since.pop(key, None)

    def _row(
        self, code: str, source: str, event: str, state: AlarmState, fields: dict[str, Any]
    ) -> tuple[object, ...]:
        """A row for an instance that has no definition in this run (its source removed)."""
        self._seq += 1
        return (
            self.clock(), code, event, state.value, 0, fields.get("value"),
            fields.get("detail"), None, None, 0, None, source, self._seq, None, None,
        )  # fmt: skip

    def _store(
        self, alarm: Alarm, event: str, user: str | None = None, comment: str | None = None
    ) -> None:
        self.version += 1
        self._seq += 1
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
                self._seq,
                alarm.raised_at if event == "raised" else None,
                alarm.shelved_until if event == "shelved" else None,
            )
        )

    async def flush(self) -> int:
        """Write the pending alarm rows to SQLite (off the loop)."""
        if self.db is None or not self._rows:
            self._rows.clear()
            return 0
        rows, self._rows = self._rows, []

        try:
            await self.db.run(lambda conn: _write(conn, rows))
        except Exception:
            # Kept for the next flush (bounded), so a store that fails loses no row.
            self._rows[0:0] = rows[-self.max_pending_rows :]
            raise
        return len(rows)

    def history(self, limit: int = 200) -> list[tuple[object, ...]]:
        """The latest rows, newest first in the order they happened (``seq``, not the clock)."""
        if self.db is None:
            return []
        return self.db.query(
            f"SELECT {_COLUMNS} FROM alarm_events ORDER BY seq DESC LIMIT ?", (limit,)
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
            began = self._pending_since.setdefault(key, now if since is None else since)
            if now - began < d.on_delay_s:
                return alarm
            self._pending_since.pop(key, None)
            return self._raise(alarm, number, detail, now, began)
        if back:
            return self._clear(alarm, number, now)
        updated = replace(alarm, value=number, detail=detail or alarm.detail, restored=False)
        self.alarms[key] = updated
        if alarm.restored:
            # Its source says the cause still holds: the instance of the last run goes on,
            # with its raise time and its acknowledgement, and counts as raised again.
            self._store(updated, "confirmed")
            self.bus.publish(AlarmRaised(updated))
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
            acked_at=None,
            first_out=first_out,
            group=group,
            restored=False,
        )
        self.alarms[(alarm.id, alarm.source)] = new
        self._store(new, "raised")
        self.bus.publish(AlarmRaised(new))
        return new

    def _clear(self, alarm: Alarm, value: float, now: float) -> Alarm:
        state = (
            AlarmState.NORMAL if alarm.state is AlarmState.ACTIVE_ACK else AlarmState.CLEARED_UNACK
        )
        new = replace(alarm, state=state, value=value, cleared_at=now, restored=False)
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
        new = replace(alarm, state=state, acked_by=user, ack_comment=comment, acked_at=self.clock())
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
        now = self.clock()
        new = replace(alarm, shelved_until=now + duration_s, shelved_by=user, shelved_at=now)
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
        """Write what is still pending (so the next start restores it), then close."""
        if self.db is None:
            return
        rows, self._rows = self._rows, []
        if rows:
            try:
                self.db.call(lambda conn: _write(conn, rows))
            except sqlite3.Error as exc:
                log.error(
                    "alarm rows not written at close", extra={"rows": len(rows), "error": str(exc)}
                )
        self.db.close()


def _write(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(f"INSERT INTO alarm_events ({_COLUMNS}) VALUES ({', '.join('?' * 15)})", rows)
