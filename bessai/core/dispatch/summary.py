"""Who proposes in Auto, as the screens and /health read it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class DispatchSummary:
    """Who proposes in Auto: the mode, the model in use, or why none is."""

    mode: str
    model_version: str | None
    model_error: str | None

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)
