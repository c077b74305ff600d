"""The site's intrusion state as the screens and /health read it."""

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
