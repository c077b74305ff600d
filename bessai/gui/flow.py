"""The Overview's two drawings: the SoC ring and the power flow with the allowed window.

Both are painted, not built of widgets, so that they scale from the 800×480
kiosk to a 1080p laptop, and repaint only when a shown value changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import cos, radians, sin

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from bessai.gui.formatting import fmt, power_text
from bessai.gui.i18n import t
from bessai.gui.theme import current_palette


def _severity_colour(severity: str, normal: str) -> QColor:
    p = current_palette()
    return QColor({"warning": p.warn, "trip": p.bad}.get(severity, normal))


@dataclass(frozen=True)
class RingValues:
    soc_pct: float | None
    floor_pct: float
    ceiling_pct: float
    available_kwh: float | None
    to_limit: str  # "1 h 20 min to the floor", or ""
    severity: str
    stale: bool


class SocRing(QWidget):
    """A 270° ring: the SoC, ticks at the floor and ceiling, kWh available and time to the limit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = RingValues(None, 5.0, 95.0, None, "", "normal", True)
        self.setMinimumSize(170, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_values(self, values: RingValues) -> None:
        if values != self.values:
            self.values = values
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        v, pal = self.values, current_palette()
        side = min(self.width(), self.height()) - 12
        thick = max(10.0, side / 11)
        rect = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        rect.adjust(thick / 2, thick / 2, -thick / 2, -thick / 2)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        cap = Qt.PenCapStyle.FlatCap
        p.setPen(QPen(QColor(pal.window), thick, Qt.PenStyle.SolidLine, cap))
        p.drawArc(rect, 225 * 16, -270 * 16)
        if v.soc_pct is not None:
            normal = pal.stale if v.stale else pal.trace
            colour = QColor(pal.stale) if v.stale else _severity_colour(v.severity, normal)
            p.setPen(QPen(colour, thick, Qt.PenStyle.SolidLine, cap))
            p.drawArc(rect, 225 * 16, round(-270 * 16 * max(0.0, min(100.0, v.soc_pct)) / 100))
        p.setPen(QPen(QColor(pal.warn), 3))
        centre = rect.center()
        for limit in (v.floor_pct, v.ceiling_pct):
            angle = radians(225 - 270 * limit / 100)
            outer, inner = rect.width() / 2 + thick / 2, rect.width() / 2 - thick / 2
            p.drawLine(
                QPointF(centre.x() + outer * cos(angle), centre.y() - outer * sin(angle)),
                QPointF(centre.x() + inner * cos(angle), centre.y() - inner * sin(angle)),
            )
        big = QFont(self.font())
        big.setPointSizeF(max(12.0, side / 8))
        big.setBold(True)
        big.setItalic(v.stale)
        p.setFont(big)
        p.setPen(QColor(pal.stale if v.stale else pal.text))
        text_rect = QRectF(rect.left(), centre.y() - side / 6, rect.width(), side / 5)
        p.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, f"{fmt(v.soc_pct)} %")
        small = QFont(self.font())
        small.setPointSizeF(max(8.0, side / 19))
        p.setFont(small)
        p.setPen(QColor(pal.muted))
        lines = [t("{0} kWh available").format(fmt(v.available_kwh, 0))]
        if v.to_limit:
            lines.append(v.to_limit)
        metrics = p.fontMetrics()
        top = centre.y() + side / 30
        for line in lines:
            width = int(rect.width() - thick)
            shown = metrics.elidedText(line, Qt.TextElideMode.ElideRight, width)
            p.drawText(
                QRectF(centre.x() - width / 2, top, width, metrics.height()),
                Qt.AlignmentFlag.AlignHCenter,
                shown,
            )
            top += metrics.height()
        p.end()


@dataclass(frozen=True)
class FlowValues:
    grid_kw: float | None  # + import
    pv_kw: float | None
    battery_kw: float | None  # + discharge
    load_kw: float | None
    setpoint_kw: float | None
    window_min_kw: float
    window_max_kw: float
    rated_kw: float
    deadband_kw: float
    stale: bool
    window_reason: str  # why the window is zero, or ""


class PowerFlow(QWidget):
    """Grid, PV, site load and battery round a hub, each with its power and direction; the
    battery's bar shows the allowed charge…discharge window, the power and the setpoint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: FlowValues | None = None
        self.setMinimumSize(280, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_values(self, values: FlowValues) -> None:
        if values != self.values:
            self.values = values
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        v, pal = self.values, current_palette()
        if v is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = float(self.width()), float(self.height())
        hub = QPointF(w / 2, h * 0.42)
        node_w, node_h = min(130.0, w / 3.4), 52.0
        nodes = {
            "grid": (QPointF(node_w / 2 + 4, hub.y()), t("Grid"), v.grid_kw, 1),
            "pv": (QPointF(w / 2, node_h / 2 + 2), t("PV"), v.pv_kw, 1),
            "load": (QPointF(w - node_w / 2 - 4, hub.y()), t("Site load"), v.load_kw, -1),
            "battery": (QPointF(w / 2, h - node_h / 2 - 52), t("Battery"), v.battery_kw, 1),
        }
        ink = QColor(pal.stale if v.stale else pal.text)
        line_colour = QColor(pal.muted)
        label_font = QFont(self.font())
        label_font.setPointSizeF(max(8.0, min(11.0, h / 26)))
        value_font = QFont(self.font())
        value_font.setPointSizeF(max(10.0, min(16.0, h / 18)))
        value_font.setBold(True)
        value_font.setItalic(v.stale)
        for centre, _, power, into_hub in nodes.values():
            p.setPen(QPen(line_colour, 2))
            p.drawLine(centre, hub)
            if power is not None and abs(power) >= v.deadband_kw:
                # The arrow points the way the energy goes: into the hub for a positive
                # source (grid import, PV, battery discharge), out of it to the load.
                towards_hub = (power > 0) == (into_hub > 0)
                start, end = (centre, hub) if towards_hub else (hub, centre)
                mid = QPointF((start.x() + end.x()) / 2, (start.y() + end.y()) / 2)
                dx, dy = end.x() - start.x(), end.y() - start.y()
                length = max(1.0, (dx * dx + dy * dy) ** 0.5)
                ux, uy = dx / length, dy / length
                size = 9.0
                tip = QPointF(mid.x() + ux * size, mid.y() + uy * size)
                left = QPointF(mid.x() - uy * size * 0.7, mid.y() + ux * size * 0.7)
                right = QPointF(mid.x() + uy * size * 0.7, mid.y() - ux * size * 0.7)
                p.setBrush(QColor(pal.trace))
                p.setPen(Qt.PenStyle.NoPen)
                p.drawPolygon(QPolygonF([tip, left, right]))
        p.setBrush(QColor(pal.muted))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(hub, 5, 5)
        for key, (centre, title, power, _) in nodes.items():
            box = QRectF(centre.x() - node_w / 2, centre.y() - node_h / 2, node_w, node_h)
            p.setBrush(QColor(pal.panel))
            p.setPen(QPen(QColor(pal.muted), 1))
            p.drawRoundedRect(box, 8, 8)
            p.setFont(label_font)
            p.setPen(QColor(pal.muted))
            p.drawText(box.adjusted(0, 3, 0, 0), Qt.AlignmentFlag.AlignHCenter, title)
            p.setPen(ink)
            shown = power_text(power, v.deadband_kw) if key != "pv" else fmt(power)
            # The whole number always: a value wider than its box gets a smaller font,
            # never a cut sign or unit ("38.0 kV" for -38.0 kW).
            fitted = QFont(value_font)
            while (
                QFontMetricsF(fitted).horizontalAdvance(f"{shown} kW") > box.width() - 8
                and fitted.pointSizeF() > 6.0
            ):
                fitted.setPointSizeF(fitted.pointSizeF() - 0.5)
            p.setFont(fitted)
            p.drawText(
                box.adjusted(0, 0, 0, -4),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                f"{shown} kW",
            )
        self._window_bar(p, QRectF(w * 0.06, h - 30, w * 0.88, 12), v)
        p.end()

    def _window_bar(self, p: QPainter, bar: QRectF, v: FlowValues) -> None:
        """-rated … +rated: the allowed window shaded, a tick at the power and the setpoint."""
        pal = current_palette()
        span = max(v.rated_kw, 1e-6)

        def x(kw: float) -> float:
            return bar.left() + bar.width() * (max(-span, min(span, kw)) + span) / (2 * span)

        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(pal.window))
        p.drawRect(bar)
        band = QColor(pal.band)
        band.setAlpha(170)
        p.setBrush(band)
        p.drawRect(
            QRectF(
                x(v.window_min_kw), bar.top(), x(v.window_max_kw) - x(v.window_min_kw), bar.height()
            )
        )
        p.setPen(QPen(QColor(pal.muted), 1))
        p.drawLine(QPointF(x(0), bar.top() - 3), QPointF(x(0), bar.bottom() + 3))
        if v.setpoint_kw is not None:
            p.setPen(QPen(QColor(pal.trace_setpoint), 3))
            p.drawLine(
                QPointF(x(v.setpoint_kw), bar.top() - 5),
                QPointF(x(v.setpoint_kw), bar.bottom() + 5),
            )
        if v.battery_kw is not None:
            p.setPen(QPen(QColor(pal.stale if v.stale else pal.text), 3))
            p.drawLine(
                QPointF(x(v.battery_kw), bar.top() - 2), QPointF(x(v.battery_kw), bar.bottom() + 2)
            )
        small = QFont(self.font())
        small.setPointSizeF(8.5)
        p.setFont(small)
        above = QRectF(bar.left(), bar.top() - 17, bar.width(), 15)
        below = QRectF(bar.left() - bar.left() + 2, bar.bottom() + 2, self.width() - 4, 15)
        p.setPen(QColor(pal.muted))
        p.drawText(above, Qt.AlignmentFlag.AlignLeft, "◀ " + t("charge"))
        p.drawText(above, Qt.AlignmentFlag.AlignRight, t("discharge") + " ▶")
        p.setPen(QColor(pal.warn if v.window_reason else pal.muted))
        text = (
            t("No power allowed: {0}").format(v.window_reason)
            if v.window_reason
            else t("allowed {0} … {1} kW").format(
                power_text(v.window_min_kw), power_text(v.window_max_kw)
            )
        )
        elided = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(below.width()))
        p.drawText(below, Qt.AlignmentFlag.AlignHCenter, elided)
