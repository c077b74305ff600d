"""The gateway's books and alarm commands: the audit anchor check and head, stores that
were replaced or fail (an alarm and a /health problem), acknowledging and shelving alarm
instances. A part of ``Gateway``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from bessai.core.alarms.manager import (
    AlarmError,
    AlarmManager,
    AlarmState,
)
from bessai.core.control.books import Books
from bessai.core.control.events import (
    COMMAND_BOOKS_WAIT_S,
    SYSTEM_USER,
    CommandRefused,
    CommandResult,
    refuse_role,
)
from bessai.core.guard.safety import Reason
from bessai.core.runtime.bus import EventBus
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import Permission, Session
from bessai.core.stores.outbox import Outbox

log = logging.getLogger(__name__)


class GatewayBooks:
    """Mixed into ``Gateway``."""

    site_id: str
    bus: EventBus
    alarms: AlarmManager
    books: Books
    audit: AuditTrail
    outbox: Outbox | None
    store_failures: dict[str, str]
    stores_replaced: dict[str, str]
    _loop: asyncio.AbstractEventLoop | None
    _head_published_at: float

    def _check_audit_anchor(self) -> None:
        """The anchor says the chain went further than the file does: deleted or rolled back."""
        anchor = self.audit.anchor_at_start
        if anchor is None:
            return
        try:
            seq, _ = self.audit.head()
        except sqlite3.OperationalError as exc:
            log.error("audit chain not checked against its anchor", extra={"error": str(exc)})
            return
        if seq >= anchor[0]:
            return
        detail = (
            f"audit.db ends at row {seq} but its anchor says {anchor[0]} "
            f"(hash {anchor[1][:16]}…): the chain was deleted, truncated or rolled back"
        )
        log.error("audit chain shorter than its anchor", extra={"detail": detail})
        self.alarms.update("audit_chain_short", True, detail)
        self.books.record(
            SYSTEM_USER,
            "audit_chain_short",
            "detected",
            chain_seq=seq,
            anchor_seq=anchor[0],
            anchor_hash=anchor[1],
        )

    def _audit_head(self, seq: int, digest: str) -> None:
        """From the audit's writer thread: the new head, to the events topic (at most once a minute)."""
        loop = self._loop
        if loop is None or self.outbox is None or self.outbox.events_topic is None:
            return
        now = time.monotonic()
        if now - self._head_published_at < 60.0:
            return
        self._head_published_at = now
        body = {"id": f"{self.site_id}:audit_head:{seq}", "seq": seq, "hash": digest}
        loop.call_soon_threadsafe(self.outbox.add_event, "audit_head", "audit", body)

    def _store_replaced(self, what: str, problem: str | None) -> None:
        """A corrupt store was moved aside and started afresh: said until the next start."""
        if problem is None:
            return
        self.stores_replaced[what] = problem
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(self.stores_replaced.items()))
        self.alarms.update("store_replaced", True, detail)

    def _store_failure(self, store: str, error: str | None) -> None:
        """A store started (error) or stopped (None) failing: an alarm and a /health problem."""
        if error is None:
            self.store_failures.pop(store, None)
        else:
            self.store_failures[store] = error
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(self.store_failures.items()))
        self.alarms.update("store_failed", bool(self.store_failures), detail)

    async def acknowledge_alarm(
        self, session: Session | None, alarm_id: str, comment: str | None = None
    ) -> CommandResult:
        """Acknowledge an alarm (operator): alarms belong to the site, not to a battery."""
        return await self._alarm_command(
            session,
            Permission.CONTROL,
            "acknowledge alarms",
            "alarm_ack",
            lambda user: self.alarms.acknowledge(alarm_id, user, comment),
            alarm=alarm_id,
            comment=comment,
        )

    async def acknowledge_all_alarms(
        self, session: Session | None, comment: str | None = None
    ) -> CommandResult:
        """Acknowledge every unacknowledged instance at once, with one comment (operator)."""
        waiting = [
            a.ref
            for a in self.alarms.active(include_shelved=True)
            if a.state in (AlarmState.ACTIVE_UNACK, AlarmState.CLEARED_UNACK)
        ]

        def change(user: str) -> None:
            for ref in waiting:
                self.alarms.acknowledge(ref, user, comment)

        return await self._alarm_command(
            session,
            Permission.CONTROL,
            "acknowledge alarms",
            "alarm_ack_all",
            change,
            alarms=waiting,
            comment=comment,
        )

    async def shelve_alarm(
        self, session: Session | None, alarm_id: str, duration_s: float, comment: str | None = None
    ) -> CommandResult:
        """Shelve an alarm for a bounded time (engineer)."""
        return await self._alarm_command(
            session,
            Permission.ENGINEER,
            "shelve alarms",
            "alarm_shelve",
            lambda user: self.alarms.shelve(alarm_id, user, duration_s, comment),
            alarm=alarm_id,
            duration_s=duration_s,
        )

    async def _alarm_command(
        self,
        session: Session | None,
        need: Permission,
        what: str,
        action: str,
        change: Callable[[str], object],
        **detail: Any,
    ) -> CommandResult:
        """Check the role, change the alarm, audit the outcome (a refusal is also an event)."""
        user = session.user if session else "anonymous"
        refused = refuse_role(session, need, what)
        if refused is None:
            try:
                change(user)
            except AlarmError as exc:
                refused = CommandResult.of(False, Reason.REFUSED, detail=str(exc))
        outcome = "ok" if refused is None else "refused"
        if refused is not None:
            detail["reason"] = refused.reason.value
            self.bus.publish(CommandRefused("site", action, refused.reason.value))
        self.books.record(user, action, outcome, **detail)
        self.books.flush_alarms()
        await self.books.settled(COMMAND_BOOKS_WAIT_S)
        return refused or CommandResult.of(True, Reason.DONE)
