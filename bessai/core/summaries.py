"""Typed summaries of the site's parts, for the screens and (as dicts) for /health."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceIntrusion:
    """One device's intrusion detection: learning, scoring (with its score) or off."""

    state: str
    score: float | None = None
    driver: str | None = None
    learning_left_s: float | None = None  # while learning: time until the baseline is fitted


@dataclass(frozen=True)
class IntrusionSummary:
    """The site's intrusion state: the highest score and each device's."""

    state: str  # unknown | learning | scoring | off
    score: float | None
    alarm_threshold: float
    lockout_threshold: float
    devices: dict[str, DeviceIntrusion]

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DispatchSummary:
    """Who proposes in Auto: the mode, the model in use, or why none is."""

    mode: str
    model_version: str | None
    model_error: str | None

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class OutboxSummary:
    """The cloud outbox: its depth and oldest age, and the link's state."""

    depth: int
    oldest_age_s: float | None
    dropped: int
    link_up: bool
    published: int
    last_error: str | None

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)
