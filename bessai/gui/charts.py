"""Live charts: numpy ring buffers filled as samples arrive, redrawn on a timer with pyqtgraph.

Each curve appends to a preallocated ring (no per-sample allocation); the
redraw, at most at the screen's rate, hands pyqtgraph a contiguous view with
peak downsampling and clip-to-view, so a day of 1 Hz data in three curves
redraws in a few milliseconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class RingBuffer:
    """A fixed-capacity time series: append in O(1), read in time order."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._t = np.full(2 * capacity, np.nan)
        self._v = np.full(2 * capacity, np.nan)
        self._start = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, ts: float, value: float | None) -> None:
        # Each point is written twice, capacity apart, so that the window
        # [start, start + size) is always contiguous: reads need no copy.
        end = (self._start + self._size) % self.capacity
        v = np.nan if value is None else value
        self._t[end] = self._t[end + self.capacity] = ts
        self._v[end] = self._v[end + self.capacity] = v
        if self._size < self.capacity:
            self._size += 1
        else:
            self._start = (self._start + 1) % self.capacity

    def extend(self, ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> None:
        for a, b in zip(ts, values, strict=True):
            self.append(float(a), float(b))

    def view(
        self, since: float | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Times and values in order (optionally only from ``since`` on), without copying."""
        t = self._t[self._start : self._start + self._size]
        v = self._v[self._start : self._start + self._size]
        if since is not None and self._size:
            first = int(np.searchsorted(t, since))
            t, v = t[first:], v[first:]
        return t, v
