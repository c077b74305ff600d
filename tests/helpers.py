"""Small helpers shared by the integration tests."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

from bessai.core.config import DeviceConfig


async def until(
    predicate: Callable[[], object], timeout_s: float = 3.0, what: str = "condition"
) -> None:
    """Wait (polling every 20 ms) until ``predicate()`` is true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sim_device(port: int, **overrides: Any) -> DeviceConfig:
    """The simulator on 127.0.0.1 as a site device, polled at 10 Hz with a 0.3 s timeout."""
    fields: dict[str, Any] = {
        "name": "bess",
        "profile": "sim_bess",
        "host": "127.0.0.1",
        "port": port,
        "poll_interval_s": 0.1,
        "timeout_s": 0.3,
    }
    fields.update(overrides)
    return DeviceConfig(**fields)
