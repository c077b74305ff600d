"""Polling: one task per device, on its own interval, without drift and without overlap.

Ticks are laid on a fixed grid (start + k * interval), so the schedule does
not drift with poll time. A poll that overruns its slot skips the missed
ticks instead of queueing them: a poll never overlaps the next, and a slow
device never delays another (each has its own task). Each device's grid has
its own phase (from its name), so that a hundred devices started together do
not poll in one burst each interval: a burst queues the answers behind one
another and holds the loop, and every device's latency would be the site's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace

from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import (
    CommsGap,
    DeviceConnected,
    DeviceDisconnected,
    PollFailed,
    Quality,
    Sample,
    SampleTaken,
)
from bessai.drivers.device import DeviceUnavailable, ModbusDevice, PollResult

log = logging.getLogger(__name__)


@dataclass
class DeviceStatus:
    """What the gateway knows about a device's link and its latest data."""

    name: str
    endpoint: str
    profile_id: str
    interval_s: float
    up: bool = False
    last_sample: Sample | None = None
    last_error: str | None = None
    polls_ok: int = 0
    polls_failed: int = 0
    overruns: int = 0
    gaps: list[CommsGap] = field(default_factory=list)
    poll_latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    down_since: float | None = None
    sample_mono: float | None = None  # when the last sample came, on the monotonic clock

    def sample_age_mono_s(self) -> float | None:
        """The last sample's age as a duration (immune to steps of the wall clock)."""
        return None if self.sample_mono is None else time.monotonic() - self.sample_mono

    def last_sample_age_s(self, now: float | None = None) -> float | None:
        if self.last_sample is None:
            return None
        return self.last_sample.age_s(time.time() if now is None else now)

    def latency_quantile_s(self, q: float) -> float | None:
        if not self.poll_latencies_s:
            return None
        ordered = sorted(self.poll_latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sample_from(device: ModbusDevice, result: PollResult, ts: float) -> Sample:
    roles = device.profile.roles_of(result.values)
    if result.complete:
        quality = Quality.GOOD
    elif any(v is not None for v in result.values.values()):
        quality = Quality.PARTIAL
    else:
        quality = Quality.BAD
    return Sample(
        device=device.name,
        ts=ts,
        values=result.values,
        roles=roles,
        quality=quality,
        texts=result.texts,
        poll_duration_s=result.duration_s,
        requests=result.requests,
        errors=tuple(result.errors),
        refused=frozenset(result.refused),
    )


class DevicePoller:
    """Polls one device on a fixed grid and publishes what it finds on the bus."""

    def __init__(
        self,
        device: ModbusDevice,
        interval_s: float,
        bus: EventBus,
        *,
        wall_clock: Callable[[], float] = time.time,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.tracer = tracer or trace.get_tracer("bessai.poll")
        self.device = device
        self.interval_s = interval_s
        self.bus = bus
        self.wall_clock = wall_clock
        self.status = DeviceStatus(
            name=device.name,
            endpoint=str(device.endpoint),
            profile_id=device.profile.id,
            interval_s=interval_s,
        )
        self.stopping = False
        self.next_at: float | None = None  # loop time of the next poll, while running
        self.polling = False
        # The first poll at once; the second within one interval, on this device's phase.
        self.phase_s = interval_s * (zlib.crc32(device.name.encode()) % 1000 + 1) / 1000

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = started = loop.time()
        step_s = self.phase_s
        try:
            while not self.stopping:
                self.next_at = next_at
                delay = next_at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.polling = True
                try:
                    await self.poll_once()
                finally:
                    self.polling = False
                next_at += step_s
                step_s = self.interval_s
                late = loop.time() - next_at
                if late > 0:
                    missed = math.floor(late / self.interval_s) + 1
                    # A first poll past its phase but within its interval did not overrun.
                    if loop.time() > started + self.interval_s:
                        self.status.overruns += missed
                    next_at += missed * self.interval_s
        finally:
            self.next_at = None

    async def poll_once(self) -> Sample | None:
        """One poll cycle, traced: read, decode, then the sample to the bus (or the loss of the link)."""
        name = self.device.name
        with self.tracer.start_as_current_span("poll", attributes={"device": name}) as span:
            started = time.perf_counter()
            try:
                with self.tracer.start_as_current_span(
                    "read", attributes={"device": name}
                ) as read_span:
                    result, read = await self.device.read_all()
                    read_span.set_attribute("modbus.requests", result.requests)
            except DeviceUnavailable as exc:
                span.set_attribute("outcome", "unavailable")
                span.set_status(trace.StatusCode.ERROR, str(exc))
                self._went_down(str(exc) or self.device.last_error or "unavailable")
                return None
            except Exception as exc:  # a driver bug must not end the poller
                log.exception("poll crashed", extra={"device": name})
                span.set_status(trace.StatusCode.ERROR, repr(exc))
                self._went_down(f"internal error: {exc!r}")
                return None
            with self.tracer.start_as_current_span("decode", attributes={"device": name}):
                self.device.decode_all(result, read)
            result.duration_s = time.perf_counter() - started
            if result.empty:
                # A device that answers every read with an exception (or only "no data")
                # is not a live device: its link counts as down and its age keeps growing.
                reason = result.errors[0] if result.errors else "no value decoded"
                span.set_attribute("outcome", "empty")
                span.set_status(trace.StatusCode.ERROR, reason)
                self._went_down(f"every read refused or empty: {reason}")
                return None
            sample = self._publish(result)
            span.set_attribute("modbus.requests", result.requests)
            span.set_attribute("outcome", sample.quality.value)
            return sample

    def _publish(self, result: PollResult) -> Sample:
        status = self.status
        now = self.wall_clock()
        if not status.up:
            self._came_up(now)
        sample = sample_from(self.device, result, now)
        status.last_sample = sample
        status.sample_mono = time.monotonic()
        status.polls_ok += 1
        status.last_error = "; ".join(result.errors) or None
        status.poll_latencies_s.append(result.duration_s)
        # The fan-out is timed by a span that is not made current, so that what the
        # subscribers trace (safety, dispatch ...) hangs directly off the poll span.
        publish_span = self.tracer.start_span("publish", attributes={"device": self.device.name})
        try:
            self.bus.publish(SampleTaken(sample))
        finally:
            publish_span.end()
        return sample

    def _went_down(self, reason: str) -> None:
        status = self.status
        now = self.wall_clock()
        status.polls_failed += 1
        status.last_error = reason
        self.bus.publish(PollFailed(self.device.name, now, reason))
        if status.up or status.down_since is None:
            status.up = False
            status.down_since = status.last_sample.ts if status.last_sample else now
            log.warning("device down", extra={"device": self.device.name, "reason": reason})
            self.bus.publish(
                DeviceDisconnected(
                    self.device.name,
                    now,
                    reason,
                    status.last_sample.ts if status.last_sample else None,
                )
            )

    def _came_up(self, now: float) -> None:
        status = self.status
        reconnect = status.down_since is not None and status.last_sample is not None
        if reconnect and status.down_since is not None:
            gap = CommsGap(self.device.name, status.down_since, now)
            status.gaps.append(gap)
            self.bus.publish(gap)
            log.info(
                "device back",
                extra={"device": self.device.name, "gap_s": round(gap.duration_s, 3)},
            )
        status.up = True
        status.down_since = None
        self.bus.publish(
            DeviceConnected(self.device.name, now, str(self.device.endpoint), reconnect)
        )
