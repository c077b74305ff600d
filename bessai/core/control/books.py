"""The books: audit and alarm rows written after the device, never before it.

The control path only queues a record (with the time it happened) and goes
on; one task writes the queue in order. A store that fails (locked, full,
read-only, corrupt) keeps its rows queued, is retried, and is reported once
per outage through ``on_failure`` (an alarm and a /health problem in the
gateway): a failing store can never delay or prevent a zero-power write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bessai.core.alarms.manager import AlarmManager
from bessai.core.stores.audit import AuditTrail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    ts: float
    user: str
    action: str
    outcome: str
    detail: dict[str, Any]


class Books:
    """An ordered, non-blocking writer of audit records and alarm rows."""

    def __init__(
        self,
        audit: AuditTrail,
        alarms: AlarmManager,
        *,
        on_failure: Callable[[str, str | None], None] | None = None,
        clock: Callable[[], float] = time.time,
        retry_s: float = 1.0,
        max_pending: int = 100_000,
    ) -> None:
        self.audit = audit
        self.alarms = alarms
        self.on_failure = on_failure
        self.clock = clock
        self.retry_s = retry_s
        self.max_pending = max_pending
        self.pending: deque[_Entry] = deque()
        self.dropped = 0
        self.failing: dict[str, str] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._alarm_rows_due = False

    def record(
        self, user: str, action: str, outcome: str, _ts: float | None = None, **detail: Any
    ) -> None:
        """Queue an audit record (``_ts``: when it happened, if earlier than now)."""
        if len(self.pending) >= self.max_pending:
            self.pending.popleft()
            self.dropped += 1
        ts = self.clock() if _ts is None else _ts
        self.pending.append(_Entry(ts, user, action, outcome, detail))
        self._kick()

    def flush_alarms(self) -> None:
        """Ask for the alarm manager's pending rows to be written."""
        if self.alarms.db is not None:
            self._alarm_rows_due = True
            self._kick()

    def _kick(self) -> None:
        """Start the writer if it is not running; it ends by itself once all is written."""
        self._idle.clear()
        if self._task is None or self._task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._task = loop.create_task(self._run(), name="books")

    async def settled(self, timeout_s: float = 10.0, *, even_if_failing: bool = False) -> bool:
        """Wait (bounded) until everything queued is written; False if a store still fails.

        Unless ``even_if_failing``, it stops waiting as soon as a store fails:
        an operator's command is not held up by a disk that said no.
        """
        if self.pending or self._alarm_rows_due:
            self._kick()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._idle.is_set():
            if self.failing and not even_if_failing:
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        return True

    async def _run(self) -> None:
        while self.pending or self._alarm_rows_due:
            if not await self._write_one():
                await asyncio.sleep(self.retry_s)
        self._idle.set()
        self._changed.set()

    async def _write_one(self) -> bool:
        if self.pending:
            entry = self.pending[0]
            try:
                await self.audit.append(
                    entry.user, entry.action, entry.outcome, _ts=entry.ts, **entry.detail
                )
            except Exception as exc:
                self._failed("audit", exc)
                return False
            self.pending.popleft()
            self._recovered("audit")
            return True
        self._alarm_rows_due = False
        try:
            await self.alarms.flush()
        except Exception as exc:
            self._alarm_rows_due = True
            self._failed("alarms", exc)
            return False
        self._recovered("alarms")
        return True

    def _failed(self, store: str, exc: Exception) -> None:
        detail = f"{type(exc).__name__}: {exc}"
        if store not in self.failing:
            log.error(
                "store write failed; rows kept and retried",
                extra={"store": store, "error": detail, "pending": len(self.pending)},
            )
            self.failing[store] = detail
            self._changed.set()
            if self.on_failure is not None:
                self.on_failure(store, detail)

    def _recovered(self, store: str) -> None:
        if self.failing.pop(store, None) is not None:
            log.info("store writes again", extra={"store": store})
            if self.on_failure is not None:
                self.on_failure(store, None)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (bounded wait), then end the writer."""
        if not await self.settled(timeout_s, even_if_failing=True):
            log.error(
                "books not written at stop",
                extra={"pending": len(self.pending), "failing": dict(self.failing)},
            )
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
