"""The app's event loop: qasync's, with timers that keep Qt's millisecond accuracy.

qasync arms every ``call_later`` (so every ``asyncio.sleep`` and every
timeout) with ``QObject.startTimer``, whose default type is Qt's coarse timer:
within 5 % of the interval. For the poller's 100 ms grid that is up to 5 ms
early or late on every tick, which was most of the poll jitter measured under
the GUI. Here the same timers are started as precise timers and rounded up to
the next millisecond, so a sleep never ends early.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import qasync
from PySide6.QtCore import QObject, Qt, QTimerEvent


class PreciseTimers(QObject):
    """Runs asyncio handles from single-shot precise Qt timers (qasync's timer interface)."""

    def __init__(self) -> None:
        super().__init__()
        self._handles: dict[int, asyncio.Handle] = {}
        self._stopped = False

    def add_callback(self, handle: asyncio.Handle, delay: float = 0.0) -> asyncio.Handle:
        ms = math.ceil(delay * 1000) if delay > 0 else 0
        self._handles[self.startTimer(ms, Qt.TimerType.PreciseTimer)] = handle
        return handle

    def timerEvent(self, event: QTimerEvent) -> None:  # noqa: N802 - Qt's name
        timer_id = event.timerId()
        self.killTimer(timer_id)
        handle = self._handles.pop(timer_id, None)
        if handle is not None and not self._stopped and not handle.cancelled():
            handle._run()  # what asyncio's own loop does with a due handle

    def stop(self) -> None:
        """The loop closes: no timer of this object may fire after it (nor outlive it in Qt)."""
        self._stopped = True
        for timer_id in self._handles:
            self.killTimer(timer_id)
        self._handles.clear()

    def set_debug(self, enabled: bool) -> None:
        """qasync's debug hook; slow-callback logging is left to asyncio's own loop."""


class AppEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's QEventLoop with precise timers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer = PreciseTimers()
