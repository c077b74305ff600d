"""The outbox: every message bound for the cloud, on disk until Pub/Sub acknowledged it.

Samples are queued in memory and committed in batches at most every 200 ms;
a message counts as sent only once it is committed here, and it leaves only
when the publisher reports Pub/Sub's acknowledgement. The outbox survives a
SIGKILL (SQLite WAL). It is bounded in rows and bytes: when full, the oldest
raw samples go first, then old status messages, then the oldest per-minute
aggregates; alarm and audit events stay; drops are counted. A corrupt file
is moved aside with a clear log line and a fresh one started, so a bad disk
block cannot put the gateway in a crash loop.
The row id is the message's sequence number (it goes out as the ``seq``
attribute): it keeps the order messages were queued in whatever the wall
clock that stamps ``created`` does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import Sample, SampleTaken
from bessai.core.runtime.periodic import Periodic
from bessai.core.stores.aggregate import MinuteAggregate, MinuteAggregator
from bessai.core.stores.database import open_store

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    ordering_key TEXT NOT NULL,
    created REAL NOT NULL,
    message_id TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, id);
"""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    topic: str
    ordering_key: str
    created: float
    message_id: str
    attributes: dict[str, str]
    payload: bytes


@dataclass
class OutboxStats:
    enqueued: int = 0
    committed: int = 0
    acked: int = 0
    dropped: int = 0
    corrupt_files: int = 0


# What goes when the outbox is full, first to last; alarm and audit events never do.
DROP_ORDER = ("raw", "status", "aggregate")
STATUS_KEY = "_site"  # the ordering key of a site's status messages (no device has this name)


def sample_message(site_id: str, sample: Sample) -> tuple[str, dict[str, Any]]:
    """The message id and JSON body of a raw sample (schema ``telemetry-v1``)."""
    message_id = f"{site_id}:{sample.device}:{round(sample.ts * 1000)}"
    body = {
        "schema_version": SCHEMA_VERSION,
        "kind": "sample",
        "sample_id": message_id,
        "site_id": site_id,
        "device": sample.device,
        "ts": sample.ts,
        "quality": sample.quality.value,
        "roles": _finite(sample.roles),
        "values": _finite(sample.values),
    }
    return message_id, body


def aggregate_message(site_id: str, agg: MinuteAggregate) -> tuple[str, dict[str, Any]]:
    message_id = f"{site_id}:{agg.device}:m{int(agg.minute_ts)}"
    body = {
        "schema_version": SCHEMA_VERSION,
        "kind": "aggregate",
        "sample_id": message_id,
        "site_id": site_id,
        "device": agg.device,
        "ts": agg.minute_ts,
        "period_s": 60,
        "stats": {
            q: {"min": s.min, "max": s.max, "mean": s.mean, "n": s.n} for q, s in agg.stats.items()
        },
    }
    return message_id, body


class Outbox:
    """Durable, bounded queue of cloud messages."""

    def __init__(
        self,
        path: Path | str,
        site_id: str,
        *,
        topic: str = "telemetry",
        events_topic: str | None = None,
        max_rows: int = 1_000_000,
        max_bytes: int = 512 * 1024 * 1024,
        commit_interval_s: float = 0.2,
        on_drop: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.clock = clock  # the wall clock that stamps status and event messages
        self.site_id = site_id
        self.topic = topic
        self.events_topic = events_topic
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.commit_interval_s = commit_interval_s
        self.on_drop = on_drop
        self.stats = OutboxStats()
        self.db, self.open_problem = open_store(self.path, _SCHEMA, what="outbox")
        if self.open_problem is not None:
            self.stats.corrupt_files += 1
        self._pending: list[
            tuple[str, str, str, float, Sample | MinuteAggregate | dict[str, Any]]
        ] = []
        self._aggregators: dict[str, MinuteAggregator] = {}
        self._committer = Periodic(
            "outbox",
            commit_interval_s,
            self.commit,
            errors=(sqlite3.Error,),
            failure="outbox commit failed; samples stay queued in memory",
        )
        self._committed = asyncio.Event()
        self._depth, self._bytes, self._oldest = self._measure()

    def _measure(self) -> tuple[int, int, float | None]:
        try:
            row = self.db.query(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0), MIN(created) FROM outbox"
            )[0]
        except sqlite3.OperationalError:
            return 0, 0, None  # the file cannot be opened now: its backlog is counted once it can
        return int(row[0]), int(row[1]), row[2]

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(SampleTaken, lambda e: self.add_sample(e.sample))

    def add_sample(self, sample: Sample) -> None:
        """Queue a sample (and, at a minute's end, its aggregate). Cheap: encoding happens at commit."""
        self._pending.append(("raw", self.topic, sample.device, sample.ts, sample))
        agg = self._aggregators.setdefault(sample.device, MinuteAggregator(sample.device))
        done = agg.add(sample.ts, sample.roles)
        if done is not None:
            self._pending.append(("aggregate", self.topic, done.device, done.minute_ts, done))
        self.stats.enqueued += 1

    def add_status(self, body: dict[str, Any]) -> None:
        """Queue the site's status (modes, alarms, this outbox's backlog) for the fleet view."""
        self._pending.append(("status", self.topic, STATUS_KEY, self.clock(), body))

    def add_event(self, kind: str, ordering_key: str, body: dict[str, Any]) -> None:
        """Queue an alarm or audit event for the events topic (if one is configured)."""
        if self.events_topic is None:
            return
        self._pending.append((kind, self.events_topic, ordering_key, self.clock(), body))

    def _encode(
        self, item: tuple[str, str, str, float, Any]
    ) -> tuple[str, str, str, float, str, bytes]:
        kind, topic, key, created, obj = item
        if isinstance(obj, Sample):
            message_id, body = sample_message(self.site_id, obj)
        elif isinstance(obj, MinuteAggregate):
            message_id, body = aggregate_message(self.site_id, obj)
        else:
            message_id = str(obj.get("id", f"{self.site_id}:{key}:{kind}:{created}"))
            body = {"schema_version": SCHEMA_VERSION, "kind": kind, "site_id": self.site_id, **obj}
        payload = json.dumps(body, separators=(",", ":"), default=_nan_safe).encode()
        return (kind, topic, key, created, message_id, payload)

    def _commit(
        self,
        conn: sqlite3.Connection,
        items: list[tuple[str, str, str, float, Any]],
        depth: int,
        size: int,
    ) -> tuple[int, int, int, float]:
        """Insert, then enforce the bounds; returns (bytes added, rows dropped, bytes dropped, oldest)."""
        rows = [self._encode(i) for i in items]
        added = sum(len(r[5]) for r in rows)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO outbox (kind, topic, ordering_key, created, message_id, payload) VALUES (?,?,?,?,?,?)",
                rows,
            )
            dropped, dropped_bytes = self._enforce_bounds(conn, depth + len(rows), size + added)
            oldest = conn.execute("SELECT created FROM outbox ORDER BY id LIMIT 1").fetchone()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT has already rolled back
                conn.execute("ROLLBACK")
            raise
        return added, dropped, dropped_bytes, oldest[0] if oldest else self.clock()

    def _enforce_bounds(self, conn: sqlite3.Connection, count: int, size: int) -> tuple[int, int]:
        """Drop the oldest raw samples until both bounds hold, then old status messages, then
        the oldest aggregates (a long outage outgrows the bounds with those too); events stay."""
        dropped = dropped_bytes = 0
        for kind in DROP_ORDER:
            while count - dropped > self.max_rows or size - dropped_bytes > self.max_bytes:
                want = max(
                    count - dropped - self.max_rows,
                    1000 if size - dropped_bytes > self.max_bytes else 0,
                )
                lengths = conn.execute(
                    "DELETE FROM outbox WHERE id IN "
                    "(SELECT id FROM outbox WHERE kind = ? ORDER BY id LIMIT ?) "
                    "RETURNING LENGTH(payload)",
                    (kind, want),
                ).fetchall()
                if not lengths:
                    break
                dropped += len(lengths)
                dropped_bytes += sum(n for (n,) in lengths)
        return dropped, dropped_bytes

    async def commit(self) -> int:
        """Commit what is queued (worker thread); returns how many messages were committed."""
        items, self._pending = self._pending, []
        if not items:
            return 0
        depth, size = self._depth, self._bytes
        try:
            added, dropped, dropped_bytes, oldest = await self.db.run(
                lambda c: self._commit(c, items, depth, size)
            )
        except BaseException:
            self._pending[0:0] = items  # nothing is lost: the next commit tries again
            raise
        self._depth += len(items) - dropped
        self._bytes += added - dropped_bytes
        self._oldest = oldest
        self.stats.committed += len(items)
        if dropped:
            self.stats.dropped += dropped
            log.warning("outbox full: dropped the %d oldest messages (raw samples first)", dropped)
            if self.on_drop is not None:
                self.on_drop(dropped)
        self._committed.set()
        self._committed.clear()
        return len(items)

    async def wait_committed(self) -> None:
        await self._committed.wait()

    def _attributes(self, seq: int, kind: str, key: str, message_id: str) -> dict[str, str]:
        return {
            "seq": str(seq),
            "site_id": self.site_id,
            "device": key,
            "schema_version": str(SCHEMA_VERSION),
            "sample_id": message_id,
            "kind": "sample" if kind == "raw" else kind,
        }

    async def batch(self, limit: int, after_id: int = 0) -> list[OutboxRow]:
        """The oldest committed messages (after ``after_id``), in order."""

        def read(conn: sqlite3.Connection) -> list[OutboxRow]:
            rows = conn.execute(
                "SELECT id, kind, topic, ordering_key, created, message_id, payload FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
            return [
                OutboxRow(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    self._attributes(r[0], r[1], r[3], r[5]),
                    r[6],
                )
                for r in rows
            ]

        return await self.db.run(read)

    async def ack(self, rows: list[OutboxRow]) -> None:
        """Pub/Sub acknowledged these rows (read by ``batch``, in id order): remove them."""
        if not rows:
            return
        # Rows of one batch are neighbours in the table, so runs of them go as id ranges: a
        # range of consecutive ids holds the acknowledged rows and nothing else, and SQLite
        # counts and sizes it without a Python object per row.
        ranges: list[tuple[int, int]] = []
        for row in rows:
            if ranges and ranges[-1][1] == row.id - 1:
                ranges[-1] = (ranges[-1][0], row.id)
            else:
                ranges.append((row.id, row.id))

        def delete(conn: sqlite3.Connection) -> tuple[int, int, float | None]:
            removed = removed_bytes = 0
            conn.execute("BEGIN")
            for low, high in ranges:
                removed_bytes += conn.execute(
                    "SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox WHERE id BETWEEN ? AND ?",
                    (low, high),
                ).fetchone()[0]
                removed += conn.execute(
                    "DELETE FROM outbox WHERE id BETWEEN ? AND ?", (low, high)
                ).rowcount
            oldest = conn.execute("SELECT created FROM outbox ORDER BY id LIMIT 1").fetchone()
            conn.execute("COMMIT")
            return removed, removed_bytes, oldest[0] if oldest else None

        removed, removed_bytes, self._oldest = await self.db.run(delete)
        self._depth -= removed
        self._bytes -= removed_bytes
        self.stats.acked += removed

    @property
    def depth(self) -> int:
        """Committed messages waiting (plus those queued for the next commit)."""
        return self._depth + len(self._pending)

    @property
    def payload_bytes(self) -> int:
        """Bytes of the committed messages waiting (what ``max_bytes`` bounds)."""
        return self._bytes

    def oldest_age_s(self, now: float | None = None) -> float | None:
        if self._oldest is None:
            return None
        return max(0.0, (self.clock() if now is None else now) - self._oldest)

    def start(self, on_failure: Callable[[str, str | None], None] | None = None) -> None:
        """Start the periodic writer; ``on_failure`` hears when writing fails and recovers."""
        self._committer.on_failure = on_failure
        self._committer.start()

    async def stop(self) -> None:
        await self._committer.stop()
        try:
            await self.commit()
        finally:
            self.db.close()


def _nan_safe(obj: object) -> object:
    return str(obj)


def _finite(values: dict[str, float | None]) -> dict[str, float | None]:
    return {k: v if v is None or math.isfinite(v) else None for k, v in values.items()}
