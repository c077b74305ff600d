"""Steps of the wall clock, seen against the monotonic one.

An edge box without a battery-backed clock boots on its last saved time and
NTP steps it later, by hours or days. Durations run on the monotonic clock
(they do not notice); the records do, so a step beyond a few seconds is said
once: logged, alarmed, audited with the old and new time, shown on /health.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockStep:
    """The wall clock jumped by ``step_s`` (+ forward) at ``at`` (monotonic), from ``old_wall``."""

    at: float
    step_s: float
    old_wall: float
    new_wall: float


class ClockWatch:
    """Compares the wall clock's offset to the monotonic clock at each look."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
        threshold_s: float = 2.0,
    ) -> None:
        self.wall, self.mono, self.threshold_s = wall, mono, threshold_s
        self._offset: float | None = None
        self.steps: list[ClockStep] = []

    def look(self) -> ClockStep | None:
        """A step since the last look, or None (the first look only sets the offset)."""
        wall, mono = self.wall(), self.mono()
        offset = wall - mono
        last, self._offset = self._offset, offset
        if last is None or abs(offset - last) <= self.threshold_s:
            return None
        step = ClockStep(mono, offset - last, mono + last, wall)
        self.steps = [*self.steps[-4:], step]
        return step

    def recent(self, within_s: float = 600.0) -> ClockStep | None:
        """The latest step if it was less than ``within_s`` ago."""
        if not self.steps:
            return None
        last = self.steps[-1]
        return last if self.mono() - last.at <= within_s else None
