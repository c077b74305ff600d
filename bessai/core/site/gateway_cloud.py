"""The gateway's cloud side: the outbox and its publisher, the topic check, the site's
status message for the fleet view, alarm events to the events topic. A part of ``Gateway``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bessai.core.alarms.manager import (
    Alarm,
    AlarmCleared,
    AlarmManager,
    AlarmRaised,
)
from bessai.core.cloud.pubsub import PubSubPublisher
from bessai.core.cloud.topics import TopicCheck, check_topics
from bessai.core.observe.health import alarm_json
from bessai.core.observe.metrics import GatewayMetrics
from bessai.core.plant.snapshot import SiteSnapshot
from bessai.core.runtime.bus import EventBus
from bessai.core.stores.outbox import Outbox
from bessai.core.stores.outbox_summary import OutboxSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CloudConfig:
    """Where telemetry goes: a Pub/Sub project and topic (and an optional events topic)."""

    project_id: str
    topic: str
    events_topic: str | None = None
    max_rows: int = 1_000_000
    max_bytes: int = 512 * 1024 * 1024
    retry_max_s: float = 30.0
    publish_timeout_s: float = 10.0
    drain_on_stop_s: float = 5.0


class GatewayCloud:
    """Mixed into ``Gateway`` (which holds the stores and the bus)."""

    site_id: str
    bus: EventBus
    alarms: AlarmManager
    metrics: GatewayMetrics
    cloud: CloudConfig | None
    outbox: Outbox | None
    publisher: PubSubPublisher | None
    cloud_problems: list[str]
    topic_recheck_s: float
    status_every_s: float
    data_dir: Path
    wall_clock: Callable[[], float]
    _housekeeping: asyncio.Task[None] | None
    _topic_check: asyncio.Task[None] | None
    current_snapshot: Callable[[], SiteSnapshot]
    _store_replaced: Callable[[str, str | None], None]
    _store_failure: Callable[[str, str | None], None]

    def _start_cloud(self, cloud: CloudConfig) -> None:
        self.outbox = Outbox(
            self.data_dir / "outbox.db",
            self.site_id,
            topic=cloud.topic,
            events_topic=cloud.events_topic,
            max_rows=cloud.max_rows,
            max_bytes=cloud.max_bytes,
            on_drop=self._outbox_dropped,
            clock=self.wall_clock,
        )
        self._store_replaced("outbox", self.outbox.open_problem)
        self.outbox.attach(self.bus)
        if cloud.events_topic:
            self.bus.subscribe(AlarmRaised, lambda e: self._event_to_cloud("alarm", e.alarm))
            self.bus.subscribe(AlarmCleared, lambda e: self._event_to_cloud("alarm", e.alarm))
        self.outbox.start(self._store_failure)
        self.publisher = PubSubPublisher(
            self.outbox,
            cloud.project_id,
            backoff_max_s=cloud.retry_max_s,
            publish_timeout_s=cloud.publish_timeout_s,
            on_published=lambda topic, n: self.metrics.published.labels(self.site_id, topic).inc(n),
            on_failed=lambda topic, n: self.metrics.publish_failed.labels(self.site_id, topic).inc(
                n
            ),
        )
        self.publisher.start()
        self._housekeeping = asyncio.create_task(self._outbox_housekeeping(), name="outbox-alarm")
        self._topic_check = asyncio.create_task(self._check_topics(cloud), name="topic-check")
        log.info(
            "cloud outbox on",
            extra={"project": cloud.project_id, "topic": cloud.topic, "depth": self.outbox.depth},
        )

    async def _check_topics(self, cloud: CloudConfig) -> None:
        """At start, and every ``topic_recheck_s`` while something is wrong: each topic exists
        and this identity may publish to it. Each problem is one log line and a /health
        problem, until it is fixed (then it is logged as fixed)."""
        topics = [cloud.topic, *([cloud.events_topic] if cloud.events_topic else [])]
        found: dict[str, str] = {}  # topic -> its problem, as last decided
        while True:
            try:
                checks = await asyncio.to_thread(check_topics, cloud.project_id, topics)
            except Exception as exc:  # no credentials at all, a broken client ...
                checks = [TopicCheck(cloud.topic, f"Pub/Sub cannot be used: {exc}", True)]
            had = bool(found)
            for check in checks:
                if not check.decided:
                    continue  # unreachable now: the publisher's backoff handles the link
                if check.problem is None:
                    found.pop(check.topic, None)
                elif found.get(check.topic) != check.problem:
                    found[check.topic] = check.problem
                    log.error("cloud topic check failed", extra={"problem": check.problem})
            self.cloud_problems = list(found.values())
            if had and not found:
                log.info("cloud topic check passed", extra={"topics": topics})
            if not found and all(c.decided for c in checks):
                return
            await asyncio.sleep(self.topic_recheck_s)

    def _outbox_dropped(self, count: int) -> None:
        self.alarms.update(
            "outbox_full", True, f"{count} oldest messages dropped (raw samples first)"
        )

    def _event_to_cloud(self, kind: str, alarm: Alarm) -> None:
        assert self.outbox is not None
        self.outbox.add_event(
            kind,
            alarm.id,
            {
                "id": f"{self.site_id}:alarm:{alarm.ref}:{alarm.state.value}:{alarm.raised_at}:{alarm.cleared_at}",
                "alarm": alarm.id,
                "device": alarm.device,
                "state": alarm.state.value,
                "priority": int(alarm.definition.priority),
                "class": alarm.definition.alarm_class.value,
                "text_en": alarm.definition.message,
                "detail": alarm.detail,
                "raised_at": alarm.raised_at,
                "cleared_at": alarm.cleared_at,
            },
        )

    def status_message(self, now: float) -> dict[str, Any]:
        """The site at a glance for the fleet view, from the site's snapshot: each device's
        link, mode and interlocks, the active alarm instances (each naming its device), the
        worst condition and this outbox's backlog."""
        snapshot = self.current_snapshot()
        devices: dict[str, Any] = {
            d.name: {
                "up": d.up,
                "mode": None if d.mode is None else d.mode.value,
                "interlocks": len(d.interlocks),
                "temp_c": d.temp_c,
                "soc_pct": d.soc_pct,
            }
            for d in snapshot.devices
        }
        active = snapshot.active_alarms
        outbox = self.outbox_summary()
        worst = snapshot.worst
        return {
            "id": f"{self.site_id}:status:{round(now * 1000)}",
            "ts": now,
            "devices": devices,
            "alarms": {
                "active": len(active),
                "highest_priority": min((int(a.definition.priority) for a in active), default=None),
                "instances": [alarm_json(a) for a in active],
            },
            "worst": None
            if worst is None
            else {"code": worst.code, "device": worst.device, "message": worst.message_en},
            "outbox": {
                "depth": 0 if outbox is None else outbox.depth,
                "oldest_age_s": None if outbox is None else outbox.oldest_age_s,
            },
        }

    async def _outbox_housekeeping(self) -> None:
        last_status = -math.inf
        while True:
            await asyncio.sleep(1.0)
            now = time.time()
            if self.outbox is not None and now - last_status >= self.status_every_s:
                last_status = now
                self.outbox.add_status(self.status_message(now))
            full = self.outbox is not None and self.cloud is not None
            if full and self.outbox.depth < 0.9 * self.cloud.max_rows:  # type: ignore[union-attr]
                self.alarms.update("outbox_full", False)

    def outbox_summary(self) -> OutboxSummary | None:
        """The cloud outbox's depth and oldest age; None while there is no outbox."""
        if self.outbox is None:
            return None
        age = self.outbox.oldest_age_s()
        state = self.publisher.state if self.publisher else None
        return OutboxSummary(
            depth=self.outbox.depth,
            oldest_age_s=None if age is None else round(age, 3),
            dropped=self.outbox.stats.dropped,
            link_up=bool(state and state.up),
            published=state.published if state else 0,
            last_error=state.last_error if state else None,
        )
