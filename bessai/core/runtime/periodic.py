"""A coroutine run every N seconds as a task, whose failures are logged once and counted, not fatal."""

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
        self.failures = 0
        # Told when the job starts failing (with the error) and when it works again (None).
        self.on_failure: Callable[[str, str | None], None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.run_once()

    async def run_once(self) -> None:
        try:
            await self.job()
        except self.errors as exc:
            self.failures += 1
            if self.failures == 1:
                error = f"{type(exc).__name__}: {exc}"
                log.error(self.failure, extra={"job": self.name, "error": error})
                if self.on_failure is not None:
                    self.on_failure(self.name, error)
            return
        if self.failures:
            log.info("works again", extra={"job": self.name, "failed_runs": self.failures})
            self.failures = 0
            if self.on_failure is not None:
                self.on_failure(self.name, None)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def cancel_and_wait(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel tasks and wait until they have ended.

    Cancels again while a task lives on: on Python 3.11 ``asyncio.wait_for``
    (used inside pymodbus) can swallow a cancellation that arrives just as
    its inner future completes.
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.2)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "task ended with an error",
                extra={"task": task.get_name(), "error": repr(task.exception())},
            )
