"""Charts: SoC, power against setpoint, temperature and intrusion score, live and from history.

Each chart carries its limits (SoC floor and ceiling, temperature warning
and trip, intrusion alarm and lockout) and the power chart the allowed
window; a gap in the data is drawn as a gap; the value axis never spans less
than a sensible minimum, so that meter noise is not blown up to full height;
mode changes, E-stops and alarms are marked from the audit trail and the
alarm log. What happened before the app started is read from local history.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from bessai.gui.bridge import CoreBridge, Sample
from bessai.gui.charts import RingBuffer
from bessai.gui.formatting import fmt
from bessai.gui.i18n import t
from bessai.gui.theme import current_palette

RANGES_S = {"5 min": 300, "1 h": 3600, "24 h": 86400, "7 d": 7 * 86400}
CAPACITY = 86400 * 2  # a day at 2 Hz lives in memory; longer ranges come from history
REDRAW_MS = {300: 100, 3600: 500, 86400: 2000, 7 * 86400: 5000}
SERIES = {
    "soc": "soc_pct",
    "power": "active_power_kw",
    "setpoint": "setpoint_power_kw",
    "temp": "battery_temp_c",
    "ids": "intrusion_score",
}
GAP_FACTOR = 3.0  # samples further apart than this many buckets (or poll periods) leave a gap
MIN_SPAN = {"power": 20.0, "temp": 10.0}  # the value axis spans at least this much
EVENTS_EVERY_S = 10.0
MAX_MARKERS = 60


def with_gaps(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], gap_s: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Insert a missing point wherever consecutive points are more than ``gap_s`` apart, so that
    a curve drawn with ``connect="finite"`` breaks there instead of bridging the gap."""
    if len(x) < 2:
        return x, y
    breaks = np.flatnonzero(np.diff(x) > gap_s) + 1
    if not len(breaks):
        return x, y
    return np.insert(x, breaks, x[breaks - 1] + gap_s / 2), np.insert(y, breaks, np.nan)


def padded_range(low: float, high: float, min_span: float) -> tuple[float, float]:
    """[low, high] widened about its middle to at least ``min_span``, with 5 % margins."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return -min_span / 2, min_span / 2
    middle, span = (low + high) / 2, max(high - low, min_span)
    return middle - span * 0.55, middle + span * 0.55


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
        # What the charts show: one device, or the site (its values as the core composes them:
        # summed power and setpoint, capacity-weighted SoC, the hottest temperature).
        self._target: str | None = None
        self.target_buttons: dict[str, QPushButton] = {}
        self.targets_bar = QHBoxLayout()
        bar.addLayout(self.targets_bar)
        self._site_ts = 0.0
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
        self.legend = self.power_plot.addLegend(offset=(8, 4))
        for name, plot in (
            ("soc", self.soc_plot),
            ("power", self.power_plot),
            ("setpoint", self.power_plot),
            ("temp", self.temp_plot),
            ("ids", self.ids_plot),
        ):
            curve = plot.plot(name=name, connect="finite")
            curve.setClipToView(True)
            self.curves[name] = curve
        self.window_band = pg.LinearRegionItem(
            orientation="horizontal", movable=False, brush=pg.mkBrush(0, 0, 0, 0)
        )
        self.window_band.setZValue(-10)
        self.power_plot.addItem(self.window_band, ignoreBounds=True)
        self.limit_lines: dict[str, pg.InfiniteLine] = {}
        # A pair of limits on one chart, their labels at different places along the lines:
        # the SoC's (near the chart's edges) inside the band between them, so that they are
        # not clipped; the temperature's and the intrusion score's (close together, 40 and
        # 45 °C) outside it, so that they never overprint each other.
        for key, plot, upper, inside in (
            ("soc_floor", self.soc_plot, False, True),
            ("soc_ceiling", self.soc_plot, True, True),
            ("temp_warning", self.temp_plot, False, False),
            ("temp_trip", self.temp_plot, True, False),
            ("ids_alarm", self.ids_plot, False, False),
            ("ids_lockout", self.ids_plot, True, False),
        ):
            above = upper != inside
            anchor = (1, 1) if above else (1, 0)
            line = pg.InfiniteLine(
                angle=0,
                movable=False,
                label="",
                labelOpts={"position": 0.7 if upper else 0.98, "anchors": [anchor, anchor]},
            )
            plot.addItem(line, ignoreBounds=True)
            self.limit_lines[key] = line
        self.markers: list[pg.InfiniteLine] = []
        self.events: list[tuple[float, str, str]] = []
        self._events_at = 0.0
        self.y_ranges: dict[str, tuple[float, float]] = {}
        for plot in (self.soc_plot, self.power_plot, self.temp_plot, self.ids_plot):
            plot.showGrid(x=False, y=False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
        self.crosshair = pg.InfiniteLine(angle=90, movable=False)
        self.soc_plot.addItem(self.crosshair, ignoreBounds=True)
        self.proxy = pg.SignalProxy(
            self.plots.scene().sigMouseMoved, rateLimit=30, slot=self._mouse
        )
        self.restyle()
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
        bridge.text_frame.connect(self._on_text_frame)
        self.frames = 0
        self.history_for = 0  # the range the history in self.history was read for
        self.started_at = time.time()
        self._load_history(self.range_s)  # what happened before the app started

    def restyle(self) -> None:
        """Colours from the theme: the light theme draws light charts."""
        pal = current_palette()
        self.plots.setBackground(pal.panel)
        for plot in (self.soc_plot, self.power_plot, self.temp_plot, self.ids_plot):
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(pal.muted))
                axis.setTextPen(pg.mkPen(pal.muted))
            plot.titleLabel.setAttr("color", pal.text)
        for name, curve in self.curves.items():
            if name == "setpoint":
                curve.setPen(pg.mkPen(pal.trace_setpoint, width=2, style=Qt.PenStyle.DashLine))
            else:
                curve.setPen(pg.mkPen(pal.trace, width=1))
        band = QColor(pal.band)
        band.setAlpha(35)
        self.window_band.setBrush(pg.mkBrush(band))
        for line in self.window_band.lines:
            line.setPen(pg.mkPen(band))
        for key, line in self.limit_lines.items():
            colour = pal.bad if key.endswith(("trip", "lockout")) else pal.warn
            line.setPen(pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
            line.label.setColor(colour)
        self.crosshair.setPen(pg.mkPen(pal.muted, width=1))
        for marker in self.markers:
            marker.setPen(pg.mkPen(pal.muted, width=1, style=Qt.PenStyle.DotLine))
        self.legend.setLabelTextColor(pal.text)

    def show_limits(self) -> None:
        """The guard's limits as lines, the allowed window as a band (live, from the core)."""
        target = self.target
        limits = (
            self.bridge.limits_of(target) if target not in (None, "site") else self.bridge.limits()
        )
        summary = self.bridge.intrusion_summary()
        values = {
            "ids_alarm": (summary.alarm_threshold, t("alarm")),
            "ids_lockout": (summary.lockout_threshold, t("lockout")),
        }
        if limits is not None:
            values |= {
                "soc_floor": (limits.soc_floor_pct, t("floor")),
                "soc_ceiling": (limits.soc_ceiling_pct, t("ceiling")),
                "temp_warning": (limits.temp_warning_c, t("warning")),
                "temp_trip": (limits.temp_trip_c, t("trip")),
            }
        for key, line in self.limit_lines.items():
            shown = values.get(key)
            line.setVisible(shown is not None)
            if shown is not None:
                line.setValue(shown[0])
                line.label.setFormat(f"{shown[1]} {fmt(shown[0], 1)}")
        state = None if target is None else self.bridge.snapshot().control_of(target)
        if state is not None:
            window = (state.window.min_kw, state.window.max_kw)
            if tuple(self.window_band.getRegion()) != window:
                self.window_band.setRegion(window)

    def targets(self) -> list[str]:
        names = self.bridge.device_names()
        return (["site"] if len(names) > 1 else []) + names

    @property
    def target(self) -> str | None:
        """The device the charts show, or "site"; the site by default when there are several."""
        targets = self.targets()
        if self._target in targets:
            return self._target
        return targets[0] if targets else None

    def choose_target(self, target: str) -> None:
        if target == self.target:
            return
        self._target = target
        self.buffers = {name: RingBuffer(CAPACITY) for name in SERIES}
        self.envelopes = {name: EnvelopeCache() for name in SERIES}
        self.history = {}
        self._site_ts = 0.0
        self._show_targets()
        self._load_history(self.range_s)
        self.redraw()

    def _show_targets(self) -> None:
        targets = self.targets()
        if list(self.target_buttons) != targets:
            for button in self.target_buttons.values():
                self.targets_bar.removeWidget(button)
                button.deleteLater()
            self.target_buttons = {}
            for name in targets:
                button = QPushButton(t("Site") if name == "site" else name)
                button.setCheckable(True)
                button.clicked.connect(lambda _=False, n=name: self.choose_target(n))
                self.targets_bar.addWidget(button)
                self.target_buttons[name] = button
        for name, button in self.target_buttons.items():
            button.setChecked(name == self.target)
            button.setVisible(len(targets) > 1)

    def _add_site_point(self) -> None:
        """The site's values, once per new snapshot, when the charts show the site."""
        snap = self.bridge.snapshot()
        if snap.ts <= self._site_ts:
            return
        self._site_ts = snap.ts
        values = {
            "soc": snap.soc_pct.value,
            "power": snap.power_kw.value,
            "setpoint": snap.setpoint_kw if snap.controllable else None,
            "temp": snap.hottest_temp_c.value,
            "ids": None if snap.intrusion is None else snap.intrusion.score,
        }
        for name, value in values.items():
            self.buffers[name].append(snap.ts, value)

    def add_samples(self, samples: list[Sample]) -> None:
        target = self.target
        if target == "site":
            self._add_site_point()
            return
        for s in samples:
            if s.device != target:
                continue  # one device's curve: never another's values in between
            for name, role in SERIES.items():
                value = s.roles.get(role)
                if name == "setpoint":
                    state = self.bridge.control.get(s.device)
                    value = state.applied_kw if state is not None else value
                elif name == "ids":
                    value = self.bridge.device_intrusion_score(s.device)
                self.buffers[name].append(s.ts, value)

    def set_range(self, seconds: int) -> None:
        self.range_s = seconds
        # A pixel of a day-long chart spans a minute: redrawing it 10 times a second buys
        # nothing and costs the loop the core shares, so long ranges redraw less often.
        self.redraw_interval_ms = REDRAW_MS.get(seconds, self.base_interval_ms)
        for label, button in self.range_buttons.items():
            button.setChecked(RANGES_S[label] == seconds)
        self._load_history(seconds)
        self.redraw()

    def _load_history(self, seconds: int) -> None:
        """The part of a range before the live buffer comes from local history (min/max per
        pixel), read in a worker thread; it is drawn ahead of the live curve when it arrives."""
        device = self.target
        if device is None or device == "site":
            return  # the site's curve is drawn from the live snapshots only
        end = time.time()
        roles = dict(SERIES)
        self.history_for = 0
        self.bridge.fetch_history(
            device,
            roles,
            end - seconds,
            end,
            max(200, self.plots.width()),
            lambda result: self._history_loaded(seconds, result),
        )

    def _history_loaded(self, seconds: int, result: object) -> None:
        if isinstance(result, dict) and seconds == self.range_s:
            self.history = result
            self.history_for = seconds
            self.redraw()

    def _events_loaded(self, result: object) -> None:
        if not isinstance(result, list):
            return
        self.events = result[-MAX_MARKERS:]
        pal = current_palette()
        for marker in self.markers:
            self.soc_plot.removeItem(marker)
        self.markers = []
        names = {
            "mode": t("mode"),
            "estop": t("E-stop"),
            "estop_reset": t("E-stop reset"),
            "maintenance": t("maintenance"),
            "alarm": t("alarm"),
        }
        # A label only where there is room for it (a marker every line, a word every
        # ``label_gap_s``), staggered in height: close events do not pile up unreadably.
        label_gap_s = self.range_s / (6 if self.width() < 1000 else 12)
        labelled_at = -float("inf")
        for ts, kind, text in self.events:
            label = f"{names.get(kind, kind)} {t(text.capitalize()) if kind == 'mode' else ''}"
            if ts - labelled_at < label_gap_s:
                label = ""
            else:
                labelled_at = ts
            colour = pal.bad if kind in ("estop", "alarm") else pal.muted
            marker = pg.InfiniteLine(
                pos=ts,
                angle=90,
                movable=False,
                pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine),
                label=label.strip(),
                labelOpts={
                    "position": 0.9 - 0.25 * (len(self.markers) % 3),
                    "color": colour,
                    "rotateAxis": (1, 0),
                },
            )
            self.soc_plot.addItem(marker, ignoreBounds=True)
            self.markers.append(marker)

    def _toggle_follow(self, paused: bool) -> None:
        self.follow = not paused
        self.pause.setText(t("Follow") if paused else t("Pause"))

    def _on_text_frame(self) -> None:
        if self.isVisible():
            self._show_targets()
            self.show_limits()

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
        if self._last_redraw - self._events_at > EVENTS_EVERY_S:
            self._events_at = self._last_redraw
            self.bridge.fetch_events(time.time() - 7 * 86400, self._events_loaded)
        # The window moves in whole buckets (two points per pixel), so the axes, whose
        # ticks are costly to lay out, change only when a bucket is finished.
        bucket = self.range_s / max(100, self.plots.width() // 2)
        end = (time.time() // bucket + 1) * bucket
        since = end - self.range_s
        gap_s = GAP_FACTOR * max(bucket, self.bridge.poll_period_s())
        use_history = self.history_for == self.range_s
        for name, curve in self.curves.items():
            x, y = self.envelopes[name].points(self.buffers[name], since, bucket)
            if use_history and name in self.history:
                hx, hy = self.history[name]
                hx, hy = np.asarray(hx, dtype=float), np.asarray(hy, dtype=float)
                live_from = x[0] if len(x) else np.inf
                keep = (hx >= since) & (hx < live_from)
                x, y = np.concatenate([hx[keep], x]), np.concatenate([hy[keep], y])
            x, y = with_gaps(x, y, gap_s)
            curve.setData(x, y, connect="finite")
            if name in MIN_SPAN:
                self._fit_axis(name, y)
        if (since, end) != self.shown_range:
            self.shown_range = (since, end)
            self.soc_plot.setXRange(since, end, padding=0)
        self.frames += 1

    def _fit_axis(self, name: str, y: npt.NDArray[np.float64]) -> None:
        finite = y[np.isfinite(y)]
        plot = self.power_plot if name in ("power", "setpoint") else self.temp_plot
        if name == "power":
            window = self.window_band.getRegion()
            low = min([*window, float(finite.min())] if len(finite) else window)
            high = max([*window, float(finite.max())] if len(finite) else window)
            span = max(MIN_SPAN[name], 0.1 * (self.bridge.rated_kw() or 0.0))
        else:
            limits = self.bridge.limits()
            if not len(finite):
                return
            low, high = float(finite.min()), float(finite.max())
            if limits is not None and high > limits.temp_warning_c - 5:
                high = max(high, limits.temp_trip_c)  # show the limits once near them
            span = MIN_SPAN[name]
        shown = padded_range(low, high, span)
        old = self.y_ranges.get(name)
        # Re-scale only on a real change (a tenth of the span), not on every sample's noise.
        if old is None or max(abs(shown[0] - old[0]), abs(shown[1] - old[1])) > 0.1 * (
            old[1] - old[0]
        ):
            self.y_ranges[name] = shown
            plot.setYRange(*shown, padding=0)

    def _mouse(self, event: tuple[object]) -> None:
        pos = event[0]
        if not self.soc_plot.sceneBoundingRect().contains(pos):
            return
        x = self.soc_plot.vb.mapSceneToView(pos).x()
        self.crosshair.setPos(x)
        parts = [time.strftime("%H:%M:%S", time.localtime(x))]
        labels = {
            "soc": "SoC %",
            "power": t("power kW"),
            "setpoint": t("setpoint kW"),
            "temp": "°C",
            "ids": t("intrusion"),
        }
        for name, buffer in self.buffers.items():
            ts, values = buffer.view()
            if len(ts):
                i = min(len(ts) - 1, int(ts.searchsorted(x)))
                value = float(values[i]) if abs(ts[i] - x) < 60 else None
                parts.append(f"{labels[name]} {fmt(value, 2 if name == 'ids' else 1)}")
        self.readout.setText("   ".join(parts))

    def retranslate(self) -> None:
        self.pause.setText(t("Pause") if self.follow else t("Follow"))
        self.soc_plot.setTitle(t("State of charge (%)"))
        self.power_plot.setTitle(t("Power and setpoint (kW)"))
        self.temp_plot.setTitle(t("Battery temperature (°C)"))
        self.ids_plot.setTitle(t("Intrusion score"))
        for name, key in (("power", "Power"), ("setpoint", "Setpoint")):
            self.legend.removeItem(self.curves[name])
            self.legend.addItem(self.curves[name], t(key))
