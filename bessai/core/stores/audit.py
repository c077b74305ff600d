"""The audit trail: every command, refusal, mode change, login and limit change, hash-chained.

Each row's hash covers its content and the previous row's hash, and a head
row keeps the last sequence number and hash, so that ``bessai audit verify``
finds a changed, inserted or deleted row. The head is also anchored outside
the file (``audit.anchor`` beside it, rewritten after every record, and the
events topic when the cloud is on), so that truncating, rolling back or
deleting the whole file is found too: the chain must reach the anchor and
agree with it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bessai.core.runtime.files import replace_file
from bessai.core.stores.database import open_store

log = logging.getLogger(__name__)

GENESIS = "0" * 64

AUDIT_RECOVERY = (
    "keep it for the auditors, then move it aside by hand (mv audit.db audit.db.bad) to start "
    "a new chain; the anchor file still says where the old chain ended"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    ts: float
    user: str
    action: str
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    problem: str | None = None
    first_bad_seq: int | None = None


def _digest(
    prev_hash: str, seq: int, ts: float, user: str, action: str, outcome: str, detail: str
) -> str:
    body = json.dumps([prev_hash, seq, repr(ts), user, action, outcome, detail], ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AuditTrail:
    """Append-only, hash-chained record of what was asked, done and refused."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], float] = time.time,
        on_head: Callable[[int, str], None] | None = None,
    ) -> None:
        self.anchor_path = Path(path).with_suffix(".anchor")
        # Read before the file is opened (and maybe created): a missing chain must be seen.
        self.anchor_at_start = read_anchor(self.anchor_path)
        self.on_head = on_head
        self._anchor_failed = False
        self.db, self.open_problem = open_store(
            Path(path),
            _SCHEMA,
            what="audit trail",
            recovery=AUDIT_RECOVERY,
        )
        self.clock = clock

    def _append(
        self,
        conn: sqlite3.Connection,
        user: str,
        action: str,
        outcome: str,
        detail: dict[str, Any],
        ts: float | None = None,
    ) -> AuditRecord:
        ts = self.clock() if ts is None else ts
        text = json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str)
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
            digest = _digest(prev, seq, ts, user, action, outcome, text)
            conn.execute(
                "INSERT INTO audit (seq, ts, user, action, outcome, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                (seq, ts, user, action, outcome, text, prev, digest),
            )
            conn.execute(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (seq, digest),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT has already rolled back
                conn.execute("ROLLBACK")
            raise
        self._anchor(seq, digest)
        return AuditRecord(seq, ts, user, action, outcome, detail, prev, digest)

    def _anchor(self, seq: int, digest: str) -> None:
        """Write the head outside the chain's file (and hand it to the cloud, if on)."""
        try:
            write_anchor(self.anchor_path, seq, digest)
            if self._anchor_failed:
                log.info("audit anchor written again", extra={"file": str(self.anchor_path)})
            self._anchor_failed = False
        except OSError as exc:
            if not self._anchor_failed:
                log.error(
                    "audit anchor not written",
                    extra={"file": str(self.anchor_path), "error": str(exc)},
                )
            self._anchor_failed = True
        if self.on_head is not None:
            self.on_head(seq, digest)

    async def append(
        self, user: str, action: str, outcome: str, _ts: float | None = None, **detail: Any
    ) -> AuditRecord:
        """Append a record (durable when this returns); ``_ts`` when it happened, if earlier."""
        return await self.db.run(lambda c: self._append(c, user, action, outcome, detail, _ts))

    def append_now(self, user: str, action: str, outcome: str, **detail: Any) -> AuditRecord:
        """Append from synchronous code (CLI tools)."""
        return self.db.call(lambda c: self._append(c, user, action, outcome, detail))

    def records(self, limit: int | None = None, since_seq: int = 0) -> list[AuditRecord]:
        sql = "SELECT seq, ts, user, action, outcome, detail, prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self.db.query(sql, (since_seq,))
        return [
            AuditRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
        ]

    def records_since(self, ts: float, actions: tuple[str, ...]) -> list[AuditRecord]:
        """The records of these actions at or after ``ts``, oldest first (chart markers)."""
        marks = ",".join("?" * len(actions))
        rows = self.db.query(
            "SELECT seq, ts, user, action, outcome, detail, prev_hash, hash FROM audit "
            f"WHERE ts >= ? AND action IN ({marks}) ORDER BY seq",
            (ts, *actions),
        )
        return [
            AuditRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
        ]

    def verify(self) -> VerifyResult:
        """Walk the chain; report the first row that does not fit."""
        rows = self.db.query(
            "SELECT seq, ts, user, action, outcome, detail, prev_hash, hash FROM audit ORDER BY seq"
        )
        prev, expected_seq = GENESIS, 1
        for seq, ts, user, action, outcome, detail, prev_hash, digest in rows:
            if seq != expected_seq:
                return VerifyResult(
                    False, len(rows), f"row {expected_seq} is missing (next is {seq})", expected_seq
                )
            if prev_hash != prev:
                return VerifyResult(
                    False, len(rows), f"row {seq} does not follow row {seq - 1}", seq
                )
            if _digest(prev_hash, seq, ts, user, action, outcome, detail) != digest:
                return VerifyResult(
                    False, len(rows), f"row {seq} was changed after it was written", seq
                )
            prev, expected_seq = digest, seq + 1
        head = self.db.query("SELECT seq, hash FROM audit_head WHERE id = 1")
        last_seq = expected_seq - 1
        if head and (head[0][0] != last_seq or head[0][1] != prev):
            return VerifyResult(
                False,
                len(rows),
                f"rows after {last_seq} were deleted (head says {head[0][0]})",
                last_seq + 1,
            )
        if not head and rows:
            return VerifyResult(False, len(rows), "the chain head is missing", None)
        return self._against_anchor(len(rows), last_seq, prev)

    def _against_anchor(self, rows: int, last_seq: int, last_hash: str) -> VerifyResult:
        """The chain must reach the anchored head and agree with it."""
        anchor = read_anchor(self.anchor_path)
        if anchor is None:
            if self.anchor_path.exists():
                return VerifyResult(False, rows, f"the anchor {self.anchor_path} is unreadable")
            return VerifyResult(True, rows)
        seq, digest = anchor
        if last_seq < seq:
            return VerifyResult(
                False,
                rows,
                f"the chain ends at row {last_seq} but was anchored at row {seq}: "
                "rows were deleted or the file rolled back",
                last_seq + 1,
            )
        at = self.db.query("SELECT hash FROM audit WHERE seq = ?", (seq,))
        if seq > 0 and (not at or at[0][0] != digest):
            return VerifyResult(
                False,
                rows,
                f"row {seq} does not match its anchored hash: the chain was rewritten",
                seq,
            )
        return VerifyResult(True, rows)

    def head(self) -> tuple[int, str]:
        """The last sequence number and hash (0 and the genesis hash when empty)."""
        row = self.db.query("SELECT seq, hash FROM audit_head WHERE id = 1")
        return (int(row[0][0]), str(row[0][1])) if row else (0, GENESIS)

    def export_csv(self, out: TextIO) -> int:
        writer = csv.writer(out)
        writer.writerow(["seq", "time_utc", "user", "action", "outcome", "detail", "hash"])
        n = 0
        for rec in self.records():
            stamp = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(rec.ts))
                + f".{int(rec.ts % 1 * 1000):03d}Z"
            )
            writer.writerow(
                [
                    rec.seq,
                    stamp,
                    rec.user,
                    rec.action,
                    rec.outcome,
                    json.dumps(rec.detail, ensure_ascii=False),
                    rec.hash,
                ]
            )
            n += 1
        return n

    def close(self) -> None:
        self.db.close()


def read_anchor(path: Path) -> tuple[int, str] | None:
    """The anchored (sequence, hash); None when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["seq"]), str(data["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_anchor(path: Path, seq: int, digest: str) -> None:
    """Anchor the chain's head: replaced whole, so concurrent writers never clash."""
    replace_file(path, json.dumps({"seq": seq, "hash": digest, "ts": time.time()}))
