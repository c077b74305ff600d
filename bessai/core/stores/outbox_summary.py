"""The cloud outbox's depth, age and link, as the screens and /health read it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


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
