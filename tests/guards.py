"""The asyncio leak guard, for the test folders whose tests run on pytest-asyncio's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    """Fail an async test that leaves asyncio tasks running."""
    yield
    current = asyncio.current_task()
    for _ in range(20):
        leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not leftover:
            return
        await asyncio.sleep(0.05)
    for task in leftover:
        task.cancel()
    pytest.fail(f"test left tasks running: {leftover}")
