"""Local history: raw samples at poll rate and per-minute aggregates, in SQLite (WAL).

Raw rows are kept for a configurable time (7 days by default), minute
aggregates for a year; writes are batched and go through a worker thread so
the loop never waits on the disk. A chart query for a time range and a pixel
width returns at most two points per pixel (the min and max of each bucket),
from the minute table when a bucket spans 15 s or more. The file's size
is bounded: past the limit the oldest raw rows go first, then the oldest
minutes. Each raw row has a sequence number beside its time stamp, so that
the order samples arrived in survives a step of the wall clock; retention
runs on the injected wall clock, so a test or bench can pass a month in minutes.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import SampleTaken
from bessai.core.runtime.periodic import Periodic
from bessai.core.stores.aggregate import QUANTITIES, MinuteAggregate, MinuteAggregator
from bessai.core.stores.database import open_store

log = logging.getLogger(__name__)

_COLUMNS = ", ".join(QUANTITIES)
# Raw rows kept in memory while the file refuses them (about ten minutes of 10 devices at 10 Hz).
MAX_PENDING_ROWS = 60_000
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS raw (
    device TEXT NOT NULL,
    ts REAL NOT NULL,
    quality TEXT NOT NULL,
    {", ".join(f"{q} REAL" for q in QUANTITIES)},
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS raw_device_ts ON raw (device, ts);
CREATE TABLE IF NOT EXISTS minute (
    device TEXT NOT NULL,
    ts REAL NOT NULL,
    quantity TEXT NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    mean REAL NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (device, quantity, ts)
);
"""


@dataclass(frozen=True)
class Series:
    """Points for a chart: times (unix s) and values, at most two per pixel."""

    ts: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    source: str


def _add_sequence(conn: sqlite3.Connection) -> int:
    """Give a raw table of an older release its sequence column (in arrival order); the last number."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(raw)")}
    if "seq" not in columns:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("ALTER TABLE raw ADD COLUMN seq INTEGER")
            conn.execute(
                "UPDATE raw SET seq = rowid"
            )  # before any VACUUM, rowid is insertion order
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("history: raw samples numbered in place (sequence column added)")
    conn.execute("CREATE INDEX IF NOT EXISTS raw_seq ON raw (seq)")
    last: int = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM raw").fetchone()[0]
    return last


class History:
    """Writes samples and minute aggregates; answers range queries for charts and exports."""

    def __init__(
        self,
        path: Path | str,
        *,
        raw_retention_s: float = 7 * 86400.0,
        minute_retention_s: float = 365 * 86400.0,
        max_bytes: int = 512 * 1024 * 1024,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        prune_interval_s: float = 3600.0,
    ) -> None:
        self.db, self.open_problem = open_store(Path(path), _SCHEMA, what="history")
        try:
            self._seq = self.db.call(_add_sequence)
        except sqlite3.OperationalError:
            self._seq = 0  # the file cannot be opened now; numbered when it can (see flush)
            self._seq_known = False
        else:
            self._seq_known = True
        self.clock = clock  # the wall clock: retention runs on it, like the samples' stamps
        self.prune_interval_s = prune_interval_s
        self.raw_retention_s = raw_retention_s
        self.minute_retention_s = minute_retention_s
        self.max_bytes = max_bytes
        self.flush_interval_s = flush_interval_s
        self._raw: list[tuple[object, ...]] = []
        self._minutes: list[MinuteAggregate] = []
        self._aggregators: dict[str, MinuteAggregator] = {}
        self._writer = Periodic(
            "history",
            flush_interval_s,
            self.flush,
            errors=(sqlite3.Error,),
            failure="history write failed",
        )
        self._last_prune = -math.inf
        self.prunes = 0
        self.rows_written = 0
        # A bucket this wide is drawn from minute aggregates: the envelope is the same
        # (min and max are kept per minute) and it reads ~60x fewer rows.
        self.minute_bucket_s = 15.0
        # The intrusion score is not a device's measurement: the gateway says where it comes
        # from, so that charts of the score can be drawn from history too.
        self.score_of: Callable[[str], float | None] | None = None

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(SampleTaken, self._on_sample)

    def _on_sample(self, event: SampleTaken) -> None:
        s = event.sample
        roles = s.roles
        if self.score_of is not None:
            roles = {**roles, "intrusion_score": self.score_of(s.device)}
        self.add(s.device, s.ts, s.quality.value, roles)

    def add(self, device: str, ts: float, quality: str, roles: dict[str, float | None]) -> None:
        """Queue one sample (cheap; the write happens on the next flush)."""
        self._seq += 1
        self._raw.append((device, ts, quality, *(roles.get(q) for q in QUANTITIES), self._seq))
        agg = self._aggregators.setdefault(device, MinuteAggregator(device))
        finished = agg.add(ts, roles)
        if finished is not None:
            self._minutes.append(finished)

    def _write(
        self,
        conn: sqlite3.Connection,
        raw: list[tuple[object, ...]],
        minutes: list[MinuteAggregate],
    ) -> None:
        conn.execute("BEGIN")
        try:
            conn.executemany(
                f"INSERT INTO raw (device, ts, quality, {_COLUMNS}, seq) "
                f"VALUES ({', '.join('?' * (4 + len(QUANTITIES)))})",
                raw,
            )
            conn.executemany(
                "INSERT OR REPLACE INTO minute (device, ts, quantity, min, max, mean, n) VALUES (?,?,?,?,?,?,?)",
                [
                    (m.device, m.minute_ts, q, st.min, st.max, st.mean, st.n)
                    for m in minutes
                    for q, st in m.stats.items()
                ],
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT has already rolled back
                conn.execute("ROLLBACK")
            raise

    async def flush(self) -> int:
        """Write what is queued (in a worker thread); returns the raw rows written."""
        raw, self._raw = self._raw, []
        minutes, self._minutes = self._minutes, []
        if not self._seq_known:
            raw = await self._renumber(raw)
        if raw or minutes:
            try:
                await self.db.run(lambda c: self._write(c, raw, minutes))
            except sqlite3.Error:
                # Kept for the next try (bounded: the newest rows win).
                self._raw[0:0] = raw[-MAX_PENDING_ROWS:]
                self._minutes[0:0] = minutes
                raise
            self.rows_written += len(raw)
        now = self.clock()
        if abs(now - self._last_prune) >= self.prune_interval_s:  # a step back prunes too
            self._last_prune = now
            await self.db.run(lambda c: self._prune(c, now))
            self.prunes += 1
        return len(raw)

    async def _renumber(self, raw: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        """The file opened late: number what was queued after what it already holds."""
        try:
            last = await self.db.run(_add_sequence)
        except sqlite3.Error:
            self._raw[0:0] = raw
            raise
        self._seq_known = True
        renumbered = [(*row[:-1], last + i) for i, row in enumerate(raw, 1)]
        self._seq = last + len(raw)
        return renumbered

    def _size_bytes(self, conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size: int = (pages - free) * conn.execute("PRAGMA page_size").fetchone()[0]
        return size

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute("DELETE FROM raw WHERE ts < ?", (now - self.raw_retention_s,))
        conn.execute("DELETE FROM minute WHERE ts < ?", (now - self.minute_retention_s,))
        while self._size_bytes(conn) > self.max_bytes:
            oldest = conn.execute("SELECT MIN(ts), MAX(ts) FROM raw").fetchone()
            if oldest[0] is None:
                break
            cut = oldest[0] + max(3600.0, (oldest[1] - oldest[0]) / 10)
            conn.execute("DELETE FROM raw WHERE ts < ?", (cut,))
            log.warning("history over its size limit: raw samples before %s dropped", cut)
        while self._size_bytes(conn) > self.max_bytes:
            oldest = conn.execute("SELECT MIN(ts), MAX(ts) FROM minute").fetchone()
            if oldest[0] is None:
                break
            cut = oldest[0] + max(86400.0, (oldest[1] - oldest[0]) / 10)
            conn.execute("DELETE FROM minute WHERE ts < ?", (cut,))
            log.warning("history over its size limit: minute aggregates before %s dropped", cut)

    def start(self, on_failure: Callable[[str, str | None], None] | None = None) -> None:
        """Start the periodic writer; ``on_failure`` hears when writing fails and recovers."""
        self._writer.on_failure = on_failure
        self._writer.start()

    async def stop(self) -> None:
        await self._writer.stop()
        for agg in self._aggregators.values():
            done = agg.flush()
            if done is not None:
                self._minutes.append(done)
        try:
            await self.flush()
        finally:
            self.db.close()

    def query(self, device: str, quantity: str, start: float, end: float, width_px: int) -> Series:
        """Min/max per pixel bucket over [start, end): at most 2 * width_px points, in time order."""
        if quantity not in QUANTITIES:
            raise ValueError(f"unknown quantity {quantity!r}; known: {', '.join(QUANTITIES)}")
        width_px = max(1, width_px)
        bucket = (end - start) / width_px
        if bucket >= self.minute_bucket_s:
            rows = self.db.query(
                "SELECT CAST((ts - ?) / ? AS INTEGER) AS b, MIN(ts), MIN(min), MAX(max) FROM minute "
                "WHERE device = ? AND quantity = ? AND ts >= ? AND ts < ? GROUP BY b ORDER BY b",
                (start, bucket, device, quantity, start, end),
            )
            source = "minute"
        else:
            rows = self.db.query(
                f"SELECT CAST((ts - ?) / ? AS INTEGER) AS b, MIN(ts), MIN({quantity}), MAX({quantity}) FROM raw "
                f"WHERE device = ? AND ts >= ? AND ts < ? AND {quantity} IS NOT NULL GROUP BY b ORDER BY b",
                (start, bucket, device, start, end),
            )
            source = "raw"
        if not rows:
            return Series(np.empty(0), np.empty(0), source)
        data = np.asarray([(r[1], r[2], r[3]) for r in rows], dtype=np.float64)
        ts = np.repeat(data[:, 0], 2)
        ts[1::2] += bucket / 2
        values = data[:, 1:].reshape(-1)
        return Series(ts, values, source)

    async def fetch(
        self, device: str, quantity: str, start: float, end: float, width_px: int
    ) -> Series:
        """``query`` in a worker thread, for callers on the event loop."""
        return await asyncio.to_thread(self.query, device, quantity, start, end, width_px)

    def export_csv(self, out: TextIO, device: str | None, start: float, end: float) -> int:
        writer = csv.writer(out)
        writer.writerow(["device", "time_utc", "ts", "quality", *QUANTITIES])
        sql = f"SELECT device, ts, quality, {_COLUMNS} FROM raw WHERE ts >= ? AND ts < ?"
        params: list[object] = [start, end]
        if device is not None:
            sql += " AND device = ?"
            params.append(device)
        n = 0
        # In the order the samples arrived: a step of the wall clock does not reorder them.
        for row in self.db.query(sql + " ORDER BY device, seq", params):
            stamp = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row[1]))
                + f".{int(row[1] % 1 * 1000):03d}Z"
            )
            writer.writerow(
                [row[0], stamp, f"{row[1]:.3f}", row[2], *("" if v is None else v for v in row[3:])]
            )
            n += 1
        return n
