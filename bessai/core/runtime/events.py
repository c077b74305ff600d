"""Events on the core's bus: what happened, in the past tense."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Quality(StrEnum):
    """How far a sample can be trusted."""

    GOOD = "good"
    PARTIAL = "partial"
    BAD = "bad"


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll of one device: decoded values at a wall-clock time.

    ``values`` maps register names to engineering values (None where the
    device had no data); ``roles`` maps semantic roles to the same values;
    ``refused`` names the registers whose read the device answered with an
    exception (their value is None too).
    """

    device: str
    ts: float
    values: dict[str, float | None]
    roles: dict[str, float | None]
    quality: Quality
    texts: dict[str, str] = field(default_factory=dict)
    poll_duration_s: float = 0.0
    requests: int = 0
    errors: tuple[str, ...] = ()
    refused: frozenset[str] = frozenset()

    def age_s(self, now: float) -> float:
        return max(0.0, now - self.ts)


@dataclass(frozen=True, slots=True)
class SampleTaken:
    sample: Sample


@dataclass(frozen=True, slots=True)
class DeviceConnected:
    device: str
    ts: float
    endpoint: str
    reconnect: bool


@dataclass(frozen=True, slots=True)
class DeviceDisconnected:
    """The link to a device went down; ``since`` is when the last good sample was taken."""

    device: str
    ts: float
    reason: str
    last_sample_ts: float | None


@dataclass(frozen=True, slots=True)
class PollFailed:
    device: str
    ts: float
    reason: str


@dataclass(frozen=True, slots=True)
class CommsGap:
    """Recorded when a device comes back: the span with no data."""

    device: str
    start_ts: float
    end_ts: float

    @property
    def duration_s(self) -> float:
        return self.end_ts - self.start_ts
