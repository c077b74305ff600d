"""Charts: SoC, power against setpoint, temperature and intrusion score, live and from history."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from bessai.gui.bridge import CoreBridge, Sample
from bessai.gui.charts import RingBuffer
from bessai.gui.i18n import t

RANGES_S = {"5 min": 300, "1 h": 3600, "24 h": 86400, "7 d": 7 * 86400}
CAPACITY = 86400 * 2  # a day at 2 Hz lives in memory; longer ranges come from history
REDRAW_MS = {300: 100, 3600: 500, 86400: 2000, 7 * 86400: 5000}
SERIES = {
    "soc": ("soc_pct", "#2bb673"),
    "power": ("active_power_kw", "#4aa3ff"),
    "setpoint": ("setpoint_power_kw", "#f5b700"),
    "temp": ("battery_temp_c", "#e5484d"),
    "ids": ("intrusion_score", "#b58cff"),
}


def envelope(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], bucket: float
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]
]:
    """Min and max of each time bucket (aligned to multiples of ``bucket``), missing values dropped.

    Returns the buckets' indices, first times, minima and maxima.
    """
    finite = np.isfinite(y)
    if not finite.all():
        x, y = x[finite], y[finite]
    if not len(x):
        empty = np.empty(0)
        return np.empty(0, dtype=np.int64), empty, empty, empty
    index = (x // bucket).astype(np.int64)
    starts = np.flatnonzero(np.diff(index, prepend=index[0] - 1))
    return index[starts], x[starts], np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)


class EnvelopeCache:
    """Keeps the min/max of finished buckets, so a redraw only reduces the samples since then."""

    def __init__(self) -> None:
        self.bucket = 0.0
        self.index = np.empty(0, dtype=np.int64)
        self.first = np.empty(0)
        self.low = np.empty(0)
        self.high = np.empty(0)
        self.done_until = -np.inf  # samples before this time are in finished buckets

    def points(
        self, ring: RingBuffer, start: float, bucket: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        if bucket != self.bucket:
            self.__init__()  # type: ignore[misc]
            self.bucket = bucket
        # The bucket that straddles ``start`` is reduced afresh (only its visible part counts);
        # finished buckets after it come from the cache; newer samples are reduced now.
        head_end = (start // bucket + 1) * bucket
        hx, hy = ring.view(start)
        cut = int(np.searchsorted(hx, head_end))
        head = envelope(hx[:cut], hy[:cut], bucket)
        x, y = ring.view(max(head_end, self.done_until, start))
        idx, first, low, high = envelope(x, y, bucket)
        keep = (self.index > start // bucket) & (self.index * bucket < max(start, self.done_until))
        index = np.concatenate([head[0], self.index[keep], idx])
        firsts = np.concatenate([head[1], self.first[keep], first])
        lows = np.concatenate([head[2], self.low[keep], low])
        highs = np.concatenate([head[3], self.high[keep], high])
        if len(idx):
            # Everything but the newest bucket is finished: keep it for the next frame.
            finished = index < idx[-1]
            self.index, self.first = index[finished], firsts[finished]
            self.low, self.high = lows[finished], highs[finished]
            self.done_until = float(idx[-1] * bucket)
        xs = np.repeat(firsts, 2)
        xs[1::2] += bucket / 2
        ys = np.empty(2 * len(lows))
        ys[0::2], ys[1::2] = lows, highs
        return xs, ys


class ChartsPage(QWidget):
    def __init__(
        self, bridge: CoreBridge, redraw_hz: float = 10.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.buffers = {name: RingBuffer(CAPACITY) for name in SERIES}
        self.envelopes = {name: EnvelopeCache() for name in SERIES}
        self.history: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
        self.shown_range = (0.0, 0.0)
        self.range_s = 300
        self.follow = True
        self.range_buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for label, seconds in RANGES_S.items():
            button = QPushButton(label)
            button.setCheckable(True)
            button.setChecked(seconds == self.range_s)
            button.clicked.connect(lambda _=False, s=seconds: self.set_range(s))
            self.range_buttons[label] = button
            bar.addWidget(button)
        self.pause = QPushButton()
        self.pause.setCheckable(True)
        self.pause.toggled.connect(self._toggle_follow)
        bar.addStretch(1)
        bar.addWidget(self.pause)
        self.readout = QLabel(" ")
        self.readout.setObjectName("muted")
        self.plots = pg.GraphicsLayoutWidget()
        axis = {"bottom": pg.DateAxisItem()}
        self.soc_plot = self.plots.addPlot(row=0, col=0, axisItems=axis)
        self.power_plot = self.plots.addPlot(row=0, col=1, axisItems={"bottom": pg.DateAxisItem()})
        self.temp_plot = self.plots.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.ids_plot = self.plots.addPlot(row=1, col=1, axisItems={"bottom": pg.DateAxisItem()})
        for plot in (self.power_plot, self.temp_plot, self.ids_plot):
            plot.setXLink(self.soc_plot)
        self.soc_plot.setYRange(0, 100)
        self.ids_plot.setYRange(0, 1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, plot in (
            ("soc", self.soc_plot),
            ("power", self.power_plot),
            ("setpoint", self.power_plot),
            ("temp", self.temp_plot),
            ("ids", self.ids_plot),
        ):
            curve = plot.plot(pen=pg.mkPen(SERIES[name][1], width=1), name=name)
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)  # envelope() drops missing values first
            self.curves[name] = curve
        for plot in (self.soc_plot, self.power_plot, self.temp_plot, self.ids_plot):
            plot.showGrid(x=False, y=False)
        self.crosshair = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#8a96a3", width=1))
        self.soc_plot.addItem(self.crosshair, ignoreBounds=True)
        self.proxy = pg.SignalProxy(
            self.plots.scene().sigMouseMoved, rateLimit=30, slot=self._mouse
        )
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.readout)
        self.retranslate()
        bridge.samples_arrived.connect(self.add_samples)
        # Redraws ride on the bridge's frames (paced clear of the polls), at most
        # at this page's own rate for the range shown.
        self.base_interval_ms = round(1000 / redraw_hz)
        self.redraw_interval_ms = self.base_interval_ms
        self._last_redraw = 0.0
        bridge.frame.connect(self._on_frame)
        self.frames = 0

    def add_samples(self, samples: list[Sample]) -> None:
        for s in samples:
            for name, (role, _) in SERIES.items():
                value = s.roles.get(role)
                if name == "setpoint":
                    state = self.bridge.control.get(s.device)
                    value = state.applied_kw if state is not None else value
                self.buffers[name].append(s.ts, value)

    def set_range(self, seconds: int) -> None:
        self.range_s = seconds
        # A pixel of a day-long chart spans a minute: redrawing it 10 times a second buys
        # nothing and costs the loop the core shares, so long ranges redraw less often.
        self.redraw_interval_ms = REDRAW_MS.get(seconds, self.base_interval_ms)
        for label, button in self.range_buttons.items():
            button.setChecked(RANGES_S[label] == seconds)
        if seconds > 86400:
            self._load_history(seconds)
        self.redraw()

    def _load_history(self, seconds: int) -> None:
        """Ranges longer than the live buffer come from local history (min/max per pixel),
        read in a worker thread; the curves switch over when it arrives."""
        device = next(iter(self.bridge.latest), None)
        if device is None:
            return
        end = time.time()
        roles = {name: role for name, (role, _) in SERIES.items() if role != "setpoint_power_kw"}
        self.bridge.fetch_history(
            device, roles, end - seconds, end, max(200, self.plots.width()), self._history_loaded
        )

    def _history_loaded(self, result: object) -> None:
        if isinstance(result, dict):
            self.history = result
            self.redraw()

    def _toggle_follow(self, paused: bool) -> None:
        self.follow = not paused
        self.pause.setText(t("Follow") if paused else t("Pause"))

    def _on_frame(self) -> None:
        # Half a frame of slack, so that a rate equal to the frame rate is not halved by a
        # frame that lands a little early.
        slack_ms = self.bridge.period_ms / 2
        if (time.monotonic() - self._last_redraw) * 1000 >= self.redraw_interval_ms - slack_ms:
            self.redraw()

    def redraw(self) -> None:
        if not self.isVisible() or not self.follow:
            return
        self._last_redraw = time.monotonic()
        # The window moves in whole buckets (two points per pixel), so the axes, whose
        # ticks are costly to lay out, change only when a bucket is finished.
        bucket = self.range_s / max(100, self.plots.width() // 2)
        end = (time.time() // bucket + 1) * bucket
        since = end - self.range_s
        long_range = self.range_s > 86400 and bool(self.history)
        for name, curve in self.curves.items():
            if long_range and name in self.history:
                x, y = self.history[name]
            else:
                x, y = self.envelopes[name].points(self.buffers[name], since, bucket)
            curve.setData(x, y)
        if (since, end) != self.shown_range:
            self.shown_range = (since, end)
            self.soc_plot.setXRange(since, end, padding=0)
        self.frames += 1

    def _mouse(self, event: tuple[object]) -> None:
        pos = event[0]
        if not self.soc_plot.sceneBoundingRect().contains(pos):
            return
        x = self.soc_plot.vb.mapSceneToView(pos).x()
        self.crosshair.setPos(x)
        parts = [time.strftime("%H:%M:%S", time.localtime(x))]
        for name, buffer in self.buffers.items():
            ts, values = buffer.view()
            if len(ts):
                i = min(len(ts) - 1, int(ts.searchsorted(x)))
                parts.append(f"{t(name)} {values[i]:.2f}")
        self.readout.setText("   ".join(parts))

    def retranslate(self) -> None:
        self.pause.setText(t("Pause") if self.follow else t("Follow"))
        self.soc_plot.setTitle(t("State of charge (%)"))
        self.power_plot.setTitle(t("Power and setpoint (kW)"))
        self.temp_plot.setTitle(t("Battery temperature (°C)"))
        self.ids_plot.setTitle(t("Intrusion score"))
