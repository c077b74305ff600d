"""A coroutine run every N seconds as a task, whose failures are logged, not fatal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``job`` every ``interval_s`` until stopped; an ``errors`` exception is logged and survived."""

    def __init__(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[Any]],
        *,
        errors: tuple[type[BaseException], ...] = (Exception,),
        failure: str = "periodic job failed",
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.job = job
        self.errors = errors
        self.failure = failure
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.job()
            except self.errors:
                log.exception(self.failure, extra={"job": self.name})

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
