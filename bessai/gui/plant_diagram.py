"""The plant as a single-line diagram: the grid, the POI meter, the site's bus, each PCS and
the battery racks under it, each element in its ISA-101 state with its values, and the
energy's direction drawn on every line (an arrow toward where the power goes).

The Overview fills it from the site snapshot (``PlantElement``s); it computes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from bessai.gui.theme import current_palette


@dataclass(frozen=True)
class PlantElement:
    """One box: what it is, its lines of text, its state, and the power on its line to the
    bus (kW; + flows up, toward the grid: a discharging PCS, an importing... see ``up``)."""

    name: str
    kind: str  # "grid" | "meter" | "pcs" | "bms"
    lines: tuple[str, ...]
    severity: str = "normal"
    flow_kw: float | None = None
    parent: str | None = None  # a BMS's PCS


@dataclass(frozen=True)
class PlantPicture:
    elements: tuple[PlantElement, ...]
    limited_by: str = ""
    deadband_kw: float = 0.5


BOX_PEN_PX = 3  # the widest box outline (a trip), drawn half outside the box


def _direction(flow_kw: float | None, deadband_kw: float) -> int:
    if flow_kw is None or abs(flow_kw) < deadband_kw:
        return 0
    return 1 if flow_kw > 0 else -1


def _dirty_names(old: PlantPicture | None, new: PlantPicture) -> list[str] | None:
    """The elements whose boxes must be drawn again, or None when the whole picture must."""
    if old is None or old.limited_by != new.limited_by or old.deadband_kw != new.deadband_kw:
        return None
    if len(old.elements) != len(new.elements):
        return None
    dirty = []
    for a, b in zip(old.elements, new.elements, strict=True):
        if (a.name, a.kind, a.parent) != (b.name, b.kind, b.parent):
            return None
        band = new.deadband_kw
        if _direction(a.flow_kw, band) != _direction(b.flow_kw, band):
            return None  # an arrow turns: the lines are drawn with the whole picture
        if (a.lines, a.severity) != (b.lines, b.severity):
            dirty.append(b.name)
    return dirty


class PlantDiagram(QWidget):
    """Draws a ``PlantPicture``: grid on top, the POI meter, the bus, PCS, racks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picture: PlantPicture | None = None
        self.setMinimumSize(280, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_picture(self, picture: PlantPicture) -> None:
        """Show this picture, repainting only what it changes: the boxes whose words or state
        changed (a meter's reading moves every frame), everything when the layout or an
        arrow changes."""
        old, self.picture = self.picture, picture
        if old == picture:
            return
        dirty = _dirty_names(old, picture)
        if dirty is None:
            self.update()
            return
        boxes = self.boxes()
        for name in dirty:
            self.update(
                boxes[name]
                .adjusted(-BOX_PEN_PX, -BOX_PEN_PX, BOX_PEN_PX, BOX_PEN_PX)
                .toAlignedRect()
            )

    def boxes(self) -> dict[str, QRectF]:
        """Where each element is drawn at the widget's size (also for tests)."""
        pic = self.picture
        if pic is None:
            return {}
        w, h = float(self.width()), float(self.height())
        pcs = [e for e in pic.elements if e.kind == "pcs"]
        racks = {p.name: [e for e in pic.elements if e.parent == p.name] for p in pcs}
        top = [e for e in pic.elements if e.kind in ("grid", "meter")]
        rows = 4
        row_h = (h - 20) / rows
        box_h = min(54.0, row_h - 14)
        found: dict[str, QRectF] = {}
        for i, e in enumerate(top):
            bw = min(150.0, w / 2.6)
            found[e.name] = QRectF(w / 2 - bw / 2, 4 + i * row_h, bw, box_h)
        n = max(1, len(pcs))
        col_w = w / n
        bw = min(150.0, col_w - 12)
        for i, p in enumerate(pcs):
            cx = col_w * (i + 0.5)
            found[p.name] = QRectF(cx - bw / 2, 4 + 2 * row_h, bw, box_h)
            under = racks[p.name]
            rack_w = min(bw, (col_w - 8) / max(1, len(under)) - 4)
            for j, r in enumerate(under):
                x = cx - (len(under) * (rack_w + 4)) / 2 + j * (rack_w + 4) + 2
                found[r.name] = QRectF(x, 4 + 3 * row_h, rack_w, box_h)
        return found

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        pic, pal = self.picture, current_palette()
        if pic is None:
            return
        boxes = self.boxes()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        ink, muted = QColor(pal.text), QColor(pal.muted)
        colours = {
            "normal": QColor(pal.muted),
            "warning": QColor(pal.warn),
            "trip": QColor(pal.bad),
        }
        by_name = {e.name: e for e in pic.elements}
        pcs = [e for e in pic.elements if e.kind == "pcs"]
        bus_y = (boxes[pcs[0].name].top() - 14) if pcs else float(self.height()) / 2
        if pcs:
            left = min(boxes[e.name].center().x() for e in pcs)
            right = max(boxes[e.name].center().x() for e in pcs)
            p.setPen(QPen(ink, 3))
            p.drawLine(
                QPointF(min(left, self.width() / 2), bus_y),
                QPointF(max(right, self.width() / 2), bus_y),
            )
        # Lines: grid → meter → bus; bus → each PCS; PCS → each rack.
        chain = [e for e in pic.elements if e.kind in ("grid", "meter")]
        for upper, lower in pairwise(chain):
            self._line(
                p,
                boxes[upper.name].center().x(),
                boxes[upper.name].bottom(),
                boxes[lower.name].top(),
                lower.flow_kw,
                pic.deadband_kw,
                muted,
            )
        if chain:
            last = chain[-1]
            self._line(
                p,
                boxes[last.name].center().x(),
                boxes[last.name].bottom(),
                bus_y,
                last.flow_kw,
                pic.deadband_kw,
                muted,
            )
        for e in pcs:
            box = boxes[e.name]
            self._line(
                p,
                box.center().x(),
                bus_y,
                box.top(),
                e.flow_kw,
                pic.deadband_kw,
                muted,
                up_is_positive=True,
            )
        for e in pic.elements:
            if e.kind == "bms" and e.parent in boxes:
                parent = boxes[e.parent]
                box = boxes[e.name]
                self._line(
                    p,
                    box.center().x(),
                    parent.bottom(),
                    box.top(),
                    e.flow_kw,
                    pic.deadband_kw,
                    muted,
                    up_is_positive=True,
                )
        font = QFont(self.font())
        exposed = QRectF(event.rect())
        for name, box in boxes.items():
            if not exposed.intersects(box):
                continue
            e = by_name[name]
            colour = colours.get(e.severity, colours["normal"])
            p.setPen(QPen(colour, 3 if e.severity == "trip" else 1.5))
            p.setBrush(QColor(pal.panel))
            p.drawRoundedRect(box, 6, 6)
            p.setPen(ink if e.severity == "normal" else colour)
            font.setBold(True)
            font.setPixelSize(max(10, min(14, int(box.height() / 3.6))))
            p.setFont(font)
            head = QRectF(box.left() + 4, box.top() + 2, box.width() - 8, box.height() / 2 - 2)
            p.drawText(head, Qt.AlignmentFlag.AlignCenter, e.lines[0] if e.lines else e.name)
            font.setBold(False)
            p.setFont(font)
            rest = QRectF(box.left() + 4, box.center().y(), box.width() - 8, box.height() / 2 - 2)
            p.drawText(rest, Qt.AlignmentFlag.AlignCenter, "  ".join(e.lines[1:]))
        if pic.limited_by:
            p.setPen(QColor(pal.warn))
            font.setPixelSize(12)
            p.setFont(font)
            p.drawText(
                QRectF(4, self.height() - 18, self.width() - 8, 16),
                Qt.AlignmentFlag.AlignCenter,
                pic.limited_by,
            )
        p.end()

    @staticmethod
    def _line(
        p: QPainter,
        x: float,
        y_top: float,
        y_bottom: float,
        flow_kw: float | None,
        deadband_kw: float,
        colour: QColor,
        *,
        up_is_positive: bool = False,
    ) -> None:
        """A vertical line with an arrow toward where the energy goes (none in the dead band).

        Grid and meter lines carry import as positive (energy flows down, into the site);
        PCS and rack lines carry discharge as positive (energy flows up, toward the bus)."""
        p.setPen(QPen(colour, 2))
        p.drawLine(QPointF(x, y_top), QPointF(x, y_bottom))
        if flow_kw is None or abs(flow_kw) < deadband_kw:
            return
        up = flow_kw > 0 if up_is_positive else flow_kw < 0
        mid = (y_top + y_bottom) / 2
        tip = -7.0 if up else 7.0
        arrow = QPolygonF(
            [QPointF(x, mid + tip), QPointF(x - 6, mid - tip), QPointF(x + 6, mid - tip)]
        )
        p.setBrush(colour)
        p.drawPolygon(arrow)
