"""Spontaneous events kept while no master is started: bounded, the oldest dropped and counted."""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class EventBuffer(Generic[T]):
    def __init__(self, size: int) -> None:
        self.size = size
        self.dropped = 0
        self._events: deque[T] = deque()

    def add(self, event: T) -> None:
        if len(self._events) >= self.size:
            self._events.popleft()
            self.dropped += 1
        self._events.append(event)

    def take(self) -> list[T]:
        """Everything kept, oldest first; the buffer is empty afterwards."""
        events = list(self._events)
        self._events.clear()
        return events

    def put_back(self, events: list[T]) -> None:
        """Events not sent after all go back in front, in order (still bounded)."""
        room = max(0, self.size - len(self._events))
        keep = events[len(events) - room :] if room else []
        self.dropped += len(events) - len(keep)
        self._events.extendleft(reversed(keep))

    def __len__(self) -> int:
        return len(self._events)
