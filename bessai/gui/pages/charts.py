"""Charts: SoC, power against setpoint, temperature and intrusion score, live and from history."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QTimer
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
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], start: float, end: float, width_px: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """At most two points per pixel (each bucket's min and max), missing values dropped.

    Done here rather than left to pyqtgraph so that a day of samples costs the
    painter a few thousand points, and a series with no data costs nothing.
    """
    finite = np.isfinite(y)
    if not finite.all():
        x, y = x[finite], y[finite]
    if len(x) <= 2 * width_px:
        return x, y
    bucket = (end - start) / width_px
    starts = np.flatnonzero(np.diff(((x - start) // bucket).astype(np.int64), prepend=-1))
    lows = np.minimum.reduceat(y, starts)
    highs = np.maximum.reduceat(y, starts)
    xs = np.repeat(x[starts], 2)
    xs[1::2] += bucket / 2
    ys = np.empty(2 * len(starts))
    ys[0::2], ys[1::2] = lows, highs
    return xs, ys


class ChartsPage(QWidget):
    def __init__(
        self, bridge: CoreBridge, redraw_hz: float = 10.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.buffers = {name: RingBuffer(CAPACITY) for name in SERIES}
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
        self.timer = QTimer(self)
        self.base_interval_ms = round(1000 / redraw_hz)
        self.timer.setInterval(self.base_interval_ms)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
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
        self.timer.setInterval(REDRAW_MS.get(seconds, self.base_interval_ms))
        for label, button in self.range_buttons.items():
            button.setChecked(RANGES_S[label] == seconds)
        if seconds > 86400:
            self._load_history(seconds)
        self.redraw()

    def _load_history(self, seconds: int) -> None:
        """Ranges longer than the live buffer are drawn from local history (min/max per pixel)."""
        device = next(iter(self.bridge.latest), None)
        if device is None:
            return
        end = time.time()
        width = max(200, self.plots.width())
        for name, (role, _) in SERIES.items():
            if role == "setpoint_power_kw":
                continue
            series = self.bridge.gateway.history.query(device, role, end - seconds, end, width)
            self.history = getattr(self, "history", {})
            self.history[name] = (series.ts, series.values)

    def _toggle_follow(self, paused: bool) -> None:
        self.follow = not paused
        self.pause.setText(t("Follow") if paused else t("Pause"))

    def redraw(self) -> None:
        if not self.isVisible() or not self.follow:
            return
        now = time.time()
        since = now - self.range_s
        long_range = self.range_s > 86400 and getattr(self, "history", None)
        for name, curve in self.curves.items():
            if long_range and name in self.history:
                x, y = self.history[name]
            else:
                x, y = self.buffers[name].view(since)
            x, y = envelope(x, y, since, now, max(100, self.plots.width()))
            curve.setData(x, y)
        self.soc_plot.setXRange(since, now, padding=0)
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
