"""Traffic records: one per Modbus request, for metrics and intrusion detection."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    OK = "ok"
    EXCEPTION = "exception"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class TrafficRecord:
    """What one request asked and how it ended."""

    ts: float
    device: str
    function_code: int
    unit_id: int
    address: int
    count: int
    latency_s: float
    outcome: Outcome
    exception_code: int | None
    bytes_sent: int
    bytes_received: int
    read_back: bool = False  # the read that verifies a write, not part of a poll

    @property
    def is_write(self) -> bool:
        return self.function_code in (5, 6, 15, 16)
