"""The event loop's own lateness: when the gateway itself was too busy to read its sockets.

A tick every ``interval_s``; a tick that runs more than ``tolerance_s`` after it
was due means the loop was held (a long callback, a fit, a swap-in, the GC), and
the span since the tick before is kept as a stall. A request whose time on the
wire overlaps a stall has a latency that is partly the gateway's own, so the
intrusion detector leaves its latency out rather than take its own stall for a
slowed device. The tolerance (4 ms) is below the interpreter's switch interval (5 ms), what
a loop waits for a thread holding the GIL, so that contention counts as a stall, and above
the lateness of a loop that is only busy, which the baseline learnt.
Times are the loop's clock (``time.monotonic``).
"""

from __future__ import annotations

import asyncio
from collections import deque


class LoopLag:
    """Measures the running loop's lateness and remembers its recent stalls."""

    def __init__(
        self, *, interval_s: float = 0.01, tolerance_s: float = 0.004, keep: int = 512
    ) -> None:
        self.interval_s = interval_s
        self.tolerance_s = tolerance_s
        self.stalls: deque[tuple[float, float]] = deque(maxlen=keep)  # (from, to), oldest first
        self.worst_s = 0.0  # the largest lateness seen since start
        self.last_s = 0.0  # the last tick's lateness
        self.ticks = 0
        self.late_ticks = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._last_tick = 0.0
        self._due = 0.0

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        """Tick on the running loop until ``stop``."""
        if self._handle is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._last_tick = self._loop.time()
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        assert self._loop is not None
        self._due = self._last_tick + self.interval_s
        self._handle = self._loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        late = now - self._due
        self.last_s = max(0.0, late)
        self.worst_s = max(self.worst_s, late)
        self.ticks += 1
        if late > self.tolerance_s:
            self.late_ticks += 1
            self.stalls.append((self._last_tick, now))
        self._last_tick = now
        self._schedule()

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    def stalled(self, start: float, end: float) -> bool:
        """Whether the loop stalled at some moment between ``start`` and ``end``.

        A stall still under way, or over but not yet ticked (its tick waits behind
        the callback asking), counts too.
        """
        if self._handle is None or self._loop is None:
            return False
        if self._loop.time() - self._due > self.tolerance_s and end > self._last_tick:
            return True
        for stall_from, stall_to in reversed(self.stalls):
            if stall_to <= start:
                return False  # the stalls are in order: the rest ended earlier still
            if stall_from < end:
                return True
        return False
