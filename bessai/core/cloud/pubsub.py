"""Drain the outbox to Google Cloud Pub/Sub, in order per device, removing only what was acknowledged.

Messages carry attributes ``site_id``, ``device``, ``schema_version`` and a
deterministic ``sample_id`` so that the subscriber can drop the duplicates a
crash between Pub/Sub's acknowledgement and the outbox's delete can cause.
Each device is an ordering key. While the service is unreachable the
publisher backs off exponentially (with jitter) and resumes the paused
ordering keys before trying again. ``PUBSUB_EMULATOR_HOST`` points the client
at a local emulator; ``GOOGLE_APPLICATION_CREDENTIALS`` at production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import Any

from bessai.core.stores.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)


@dataclass
class PublisherState:
    up: bool = False
    published: int = 0
    failed: int = 0
    last_error: str | None = None
    last_success: float | None = None
    consecutive_failures: int = 0
    per_topic: dict[str, int] = field(default_factory=dict)


def default_client() -> Any:
    from google.cloud import pubsub_v1  # only with a cloud: it costs the app ~50 MB

    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(
            max_messages=500, max_bytes=1_000_000, max_latency=0.02
        ),
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
    )


class PubSubPublisher:
    """Publishes outbox rows to their topics and acknowledges them back to the outbox."""

    def __init__(
        self,
        outbox: Outbox,
        project_id: str,
        *,
        batch_size: int = 1000,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        client_factory: Callable[[], Any] = default_client,
        on_published: Callable[[str, int], None] | None = None,
        on_failed: Callable[[str, int], None] | None = None,
        seed: int | None = None,
        publish_timeout_s: float = 10.0,
        max_in_flight: int = 8,
        link_down_after_s: float = 2.0,
    ) -> None:
        self.outbox = outbox
        self.project_id = project_id
        self.batch_size = batch_size
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.client_factory = client_factory
        self.on_published = on_published
        self.on_failed = on_failed
        self.state = PublisherState()
        self.publish_timeout_s = publish_timeout_s
        self.max_in_flight = max_in_flight
        self.link_down_after_s = link_down_after_s
        self._progress = asyncio.Event()  # something was settled, or the link changed
        # Batches being settled in worker threads: a stop waits (bounded) for them, since a
        # thread cannot be cancelled and its task would outlive the publisher.
        self._settling: set[asyncio.Task[list[Any]]] = set()
        self._running = asyncio.Event()
        self._running.set()
        self._client: Any = None
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def _topic_path(self, topic: str) -> str:
        return f"projects/{self.project_id}/topics/{topic}"

    def ensure_client(self) -> Any:
        """The client, made on first use (blocking: call from a worker thread)."""
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def _publish_rows(self, rows: list[OutboxRow]) -> list[Future[Any] | Exception]:
        """Hand rows to the client (in a worker thread: publish() does real work)."""
        client = self.ensure_client()
        paths = {topic: self._topic_path(topic) for topic in {row.topic for row in rows}}
        futures: list[Future[Any] | Exception] = []
        for row in rows:
            try:
                futures.append(
                    client.publish(
                        paths[row.topic],
                        row.payload,
                        ordering_key=row.ordering_key,
                        timeout=self.publish_timeout_s,
                        **row.attributes,
                    )
                )
            except Exception as exc:  # a paused ordering key, a closed client ...
                futures.append(exc)
        return futures

    async def _hand(self, rows: list[OutboxRow]) -> list[Future[Any] | Exception]:
        try:
            return await asyncio.to_thread(self._publish_rows, rows)
        except Exception as exc:  # the client could not even be made (credentials ...)
            return [exc] * len(rows)

    async def _settle(self, handed: list[Future[Any] | Exception]) -> list[Any]:
        """Wait (in a worker thread, one wake-up per batch) for the client to settle a batch."""
        futures = [f for f in handed if isinstance(f, Future)]
        pending = await asyncio.to_thread(_unsettled, futures, self.publish_timeout_s + 2.0)
        if pending and self._client is not None:
            # The client did not settle these in time (it can retry an unreachable service
            # for minutes): count them failed and start a fresh client, whose ordering keys
            # are not stuck behind the old batch. The old one's channel is closed so that its
            # retries stop; should one still get through, the subscriber sees a duplicate
            # with the same sample_id, which it drops.
            old, self._client = self._client, None
            with contextlib.suppress(Exception):
                old.transport.close()
        return [_settled(f) for f in handed]

    async def _account(self, rows: list[OutboxRow], results: list[Any]) -> tuple[int, int]:
        """Remove what Pub/Sub acknowledged from the outbox; note what failed."""
        acked = [
            row for row, r in zip(rows, results, strict=True) if not isinstance(r, BaseException)
        ]
        failed = [
            (row, r) for row, r in zip(rows, results, strict=True) if isinstance(r, BaseException)
        ]
        await self.outbox.ack(acked)
        self._progress.set()
        for topic, count in Counter(row.topic for row in acked).items():
            self.state.per_topic[topic] = self.state.per_topic.get(topic, 0) + count
            if self.on_published is not None:
                self.on_published(topic, count)
        self.state.published += len(acked)
        if failed:
            self._failed([r for r, _ in failed], [e for _, e in failed])
        elif acked:
            if not self.state.up:
                log.info("pubsub reachable again", extra={"published": len(acked)})
            self.state.up = True
            self.state.consecutive_failures = 0
            self.state.last_success = time.time()
        return len(acked), len(failed)

    def _failed(self, rows: list[OutboxRow], errors: list[BaseException]) -> None:
        self.state.failed += len(rows)
        self.state.consecutive_failures += 1
        message = f"{type(errors[0]).__name__}: {errors[0]}"
        if self.state.up or self.state.last_error is None:
            log.warning(
                "pubsub publish failed; keeping %d+ messages in the outbox: %s", len(rows), message
            )
        self.state.up = False
        self.state.last_error = message
        self._progress.set()
        for topic in {r.topic for r in rows}:
            if self.on_failed is not None:
                self.on_failed(topic, sum(1 for r in rows if r.topic == topic))
        if self._client is not None:
            for row in rows:
                try:
                    self._client.resume_publish(self._topic_path(row.topic), row.ordering_key)
                except Exception:  # resume is best effort; the next attempt resumes again
                    log.debug("resume_publish failed", exc_info=True)

    def backoff_s(self) -> float:
        attempt = min(self.state.consecutive_failures, 20)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** max(0, attempt - 1))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def pause(self) -> None:
        """Hold publishing (the outbox keeps filling), e.g. on a metered link or for maintenance."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    async def run(self) -> None:
        """Keep up to ``max_in_flight`` batches with the client; settle them in order.

        On a failure the batches still in flight are settled, what succeeded is
        acknowledged, and after the backoff reading starts again from the
        oldest message still in the outbox.
        """
        last_id = 0
        in_flight: deque[tuple[list[OutboxRow], asyncio.Task[list[Any]]]] = deque()
        ahead: asyncio.Task[list[OutboxRow]] | None = None  # the next batch, read meanwhile
        try:
            while not self._stopping:
                await self._running.wait()
                if len(in_flight) < self.max_in_flight:
                    reading = ahead or asyncio.create_task(
                        self.outbox.batch(self.batch_size, after_id=last_id)
                    )
                    ahead = None
                    rows = await reading
                    if rows:
                        last_id = rows[-1].id
                        # The store reads the next batch while the client takes this one.
                        ahead = asyncio.create_task(
                            self.outbox.batch(self.batch_size, after_id=last_id)
                        )
                        handed = await self._hand(rows)
                        settle = asyncio.create_task(self._settle(handed))
                        self._settling.add(settle)
                        settle.add_done_callback(self._settling.discard)
                        in_flight.append((rows, settle))
                        continue
                if not in_flight:
                    with contextlib.suppress(TimeoutError):
                        # Not wait_for: on 3.11 it can swallow a stop's cancel (see outstation).
                        async with asyncio.timeout(1.0):
                            await self.outbox.wait_committed()
                    continue
                rows, task = in_flight.popleft()
                await self._watch_link(task)
                _, failed = await self._account(rows, await task)
                if failed:
                    while in_flight:
                        rows, task = in_flight.popleft()
                        await self._account(rows, await task)
                    last_id = 0
                    await _dropped(ahead)
                    ahead = None
                    await asyncio.sleep(self.backoff_s())
        finally:
            for _, task in in_flight:
                task.cancel()
            if ahead is not None:
                ahead.cancel()

    async def _watch_link(self, task: asyncio.Task[list[Any]]) -> None:
        """A batch with no answer after ``link_down_after_s`` says the link is down, well
        before the client gives the batch up (the outbox keeps it either way)."""
        done, _ = await asyncio.wait({task}, timeout=self.link_down_after_s)
        if not done and self.state.up:
            self.state.up = False
            self.state.last_error = f"no answer from Pub/Sub within {self.link_down_after_s:g} s"
            log.warning("pubsub link down: %s", self.state.last_error)
            self._progress.set()

    async def drain(self, timeout_s: float) -> bool:
        """On a graceful stop: wait (bounded) until the outbox is empty, if the link is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        await self.outbox.commit()
        while self.outbox.depth and self.state.up:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._progress.wait()
        return self.outbox.depth == 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="pubsub")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            client, self._client = self._client, None
            # stop() flushes what the client still holds; with the link down that can
            # take its full retry time, so it is left to finish in its thread.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.to_thread(client.stop), 5.0)
        if self._settling:
            # The client's stop settles what it held: their waiting threads return then.
            await asyncio.wait(set(self._settling), timeout=5.0)


def _unsettled(futures: list[Future[Any]], timeout_s: float) -> list[Future[Any]]:
    """Wait up to ``timeout_s`` for the futures, in order; those still pending then.

    One future at a time, as a plain client's caller does: ``concurrent.futures.wait``
    hangs a waiter on every future, which the client's threads then notify one by one.
    """
    deadline = time.monotonic() + timeout_s
    for future in futures:
        try:
            future.exception(timeout=max(0.0, deadline - time.monotonic()))
        except CancelledError:
            continue
        except TimeoutError:
            break
    return [f for f in futures if not f.done()]


async def _dropped(task: asyncio.Task[list[OutboxRow]] | None) -> None:
    """A batch read ahead that is no longer wanted (a failure starts again from the oldest)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _settled(future: Future[Any] | Exception) -> Any:
    """A future's result if it finished well, else the reason it did not."""
    if isinstance(future, Exception):
        return future
    if not future.done():
        return TimeoutError("no answer from Pub/Sub in time")
    error = future.exception()
    return error if error is not None else future.result()
