"""Traffic records: one per Modbus request, for metrics and intrusion detection."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Outcome(StrEnum):
    OK = "ok"
    EXCEPTION = "exception"
    TIMEOUT = "timeout"
    ERROR = "error"


class TrafficRecord(NamedTuple):
    """What one request asked and how it ended.

    Immutable, and a named tuple rather than a frozen dataclass: one is made
    per request, and a frozen dataclass costs several times more to build.
    """

    ts: float
    device: str
    function_code: int
    unit_id: int
    address: int
    count: int  # type: ignore[assignment]  # shadows tuple.count, as a field should
    latency_s: float
    outcome: Outcome
    exception_code: int | None
    bytes_sent: int
    bytes_received: int
    read_back: bool = False  # the read that verifies a write, not part of a poll

    @property
    def is_write(self) -> bool:
        return self.function_code in (5, 6, 15, 16)
