"""SQLite for the core: one connection per file, used from a worker thread so the loop never blocks.

``open_store`` opens a store the way the gateway needs at start: a corrupt
file of a store that can be rebuilt (history, outbox, dispatch record,
alarm log) is moved aside and replaced; one that cannot (users, audit) is
never silently replaced but refused with the file and the way to recover;
a file that cannot be opened at all is refused with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class StoreUnusable(RuntimeError):
    """A store the gateway cannot open: one line naming the file, the problem and the way out."""


class Database:
    """A SQLite file in WAL mode; ``run`` executes a function with the connection in a thread.

    A file that cannot be opened for now (a full disk cannot take the WAL, a
    locked directory ...) does not stop the program: ``unavailable`` says why,
    and each later call tries to open it again, raising ``sqlite3.OperationalError``
    while it still cannot (its caller keeps the rows and says so). A corrupt
    file raises at once.
    """

    def __init__(self, path: Path | str, schema: str) -> None:
        self.path = Path(path)
        self._schema = schema
        self._memory = str(path) == ":memory:"
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.unavailable: str | None = None
        with self._lock:
            try:
                self._open()
            except (sqlite3.OperationalError, OSError) as exc:
                self.unavailable = str(exc)
                log.error(
                    "store cannot be opened for now; retried on each use",
                    extra={"file": str(self.path), "error": self.unavailable},
                )

    def _open(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not self._memory:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.path.exists():
                # Private from birth: users.db holds PIN hashes, the others site data.
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(self._schema)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        if self.unavailable is not None:
            log.info("store opened", extra={"file": str(self.path)})
            self.unavailable = None
        return conn

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` with the connection, in this thread (for CLI tools and start-up)."""
        with self._lock:
            try:
                conn = self._open()
            except OSError as exc:
                raise sqlite3.OperationalError(f"cannot open {self.path}: {exc}") from None
            return fn(conn)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` with the connection in a worker thread."""
        return await asyncio.to_thread(self.call, fn)

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self.call(lambda c: c.execute(sql, tuple(params)).fetchall())

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            src.rename(Path(str(aside) + suffix))
    return aside


# The stores' schema version (PRAGMA user_version). A store from a newer release is
# refused; an older one is migrated forward here (version 1 is the first release's).
SCHEMA_VERSION = 1


def _check_version(db: Database, what: str, path: Path) -> None:
    (found,) = db.query("PRAGMA user_version")[0]
    if found > SCHEMA_VERSION:
        db.close()
        raise StoreUnusable(
            f"{what} {path} was written by a newer bessai (schema {found}, this one reads "
            f"{SCHEMA_VERSION}): install that version again, or restore a backup"
        )
    if found < SCHEMA_VERSION:
        db.call(lambda c: c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}"))


def open_store(
    path: Path, schema: str, *, what: str, recovery: str | None = None
) -> tuple[Database, str | None]:
    """Open a store, checking it; returns the database and what was wrong with it, if anything.

    With ``recovery`` (users, audit) a corrupt file is refused, naming that
    command; without, it is moved aside and a fresh file takes its place.
    """
    problem: str | None = None
    try:
        db = Database(path, schema)
        if db.unavailable is not None:
            return db, None  # not now (a full disk): its writes fail and are reported
        verdict = db.query("PRAGMA quick_check")
        if verdict and verdict[0][0] == "ok":
            _check_version(db, what, path)
            return db, None
        db.close()
        problem = str(verdict[0][0]) if verdict else "no answer to an integrity check"
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
            raise StoreUnusable(f"{what} {path}: cannot be opened: {exc}") from None
        problem = str(exc)
    if recovery is not None:
        raise StoreUnusable(f"{what} {path} is corrupt ({problem}): it is not replaced; {recovery}")
    aside = _move_aside(path)
    log.error("%s %s is corrupt (%s): moved to %s, a fresh one started", what, path, problem, aside)
    try:
        return Database(path, schema), f"{path} was corrupt ({problem}); kept as {aside.name}"
    except sqlite3.Error as exc:
        raise StoreUnusable(f"{what} {path}: cannot be opened: {exc}") from None
