"""Reusable widgets: value cards that show their age, the SoC gauge, the E-stop button, a PIN pad."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.i18n import t

STALE_AFTER_S = 5.0


def age_text(age_s: float | None) -> str:
    if age_s is None:
        return t("no data")
    if age_s < 60:
        return t("{0:.0f} s ago").format(age_s)
    return t("{0:.0f} min ago").format(age_s / 60)


class ValueCard(QFrame):
    """A titled value with its unit and a detail line; greyed, with its age, when stale."""

    def __init__(self, title: str, unit: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.title_source = title
        self.unit = unit
        self.title = QLabel(t(title))
        self.title.setObjectName("cardTitle")
        self.value = QLabel("--")
        self.value.setObjectName("cardValue")
        self.detail = QLabel("")
        self.detail.setObjectName("cardDetail")
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.stale = False
        self.severity = "normal"

    def show_value(
        self, text: str, detail: str = "", *, stale: bool = False, severity: str = "normal"
    ) -> None:
        """``severity``: "normal" (calm grey), "warning" (amber) or "trip" (red): colour only
        for the abnormal, the same colour meaning everywhere (ISA-101)."""
        self.value.setText(f"{text} {self.unit}".strip())
        self.detail.setText(detail)
        if stale != self.stale:
            self.stale = stale
            for label in (self.value, self.detail):
                label.setProperty("stale", stale)
                label.style().unpolish(label)
                label.style().polish(label)
        if severity != self.severity:
            self.severity = severity
            for widget in (self, self.value):
                widget.setProperty("severity", severity)
                widget.style().unpolish(widget)
                widget.style().polish(widget)

    def retranslate(self) -> None:
        self.title.setText(t(self.title_source))


class SocGauge(QWidget):
    """A 270° arc gauge for the state of charge, grey when the value is stale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value: float | None = None
        self.stale = False
        self.floor, self.ceiling = 5.0, 95.0
        self.setMinimumSize(150, 150)

    def set_value(self, value: float | None, stale: bool) -> None:
        if value != self.value or stale != self.stale:
            self.value, self.stale = value, stale
            self.update()

    def paintEvent(self, _: object) -> None:  # noqa: N802 - Qt's name
        side = min(self.width(), self.height()) - 16
        rect = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor("#3a4552"), 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawArc(rect, 225 * 16, -270 * 16)
        if self.value is not None:
            colour = (
                "#5c6773"
                if self.stale
                else ("#e5484d" if not self.floor < self.value < self.ceiling else "#2bb673")
            )
            p.setPen(QPen(QColor(colour), 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawArc(rect, 225 * 16, round(-270 * 16 * max(0.0, min(100.0, self.value)) / 100))
        p.setPen(QColor("#8a96a3" if self.stale else self.palette().text().color()))
        font = QFont(self.font())
        font.setPointSizeF(max(10.0, side / 7))
        font.setBold(True)
        p.setFont(font)
        text = "--" if self.value is None else f"{self.value:.1f} %"
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        p.end()


class EStopButton(QPushButton):
    """The emergency stop, on every page; anyone may press it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(t("E-STOP"), parent)
        self.setObjectName("estop")
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def retranslate(self) -> None:
        self.setText(t("E-STOP"))


class PinPad(QDialog):
    """Login for touch (a PIN pad) and for the laptop (typing a password works too)."""

    submitted = Signal(str, str)

    def __init__(self, users: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(t("Log in"))
        self.user = QLineEdit()
        self.user.setPlaceholderText(t("User"))
        if users:
            self.user.setText(users[0])
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText(t("PIN or password"))
        self.message = QLabel("")
        self.message.setObjectName("interlock")
        grid = QGridLayout()
        for i, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]):
            button = QPushButton(key)
            button.setMinimumSize(72, 56)
            button.setObjectName("primary" if key == "OK" else "")
            button.clicked.connect(lambda _=False, k=key: self._key(k))
            grid.addWidget(button, i // 3, i % 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.user)
        layout.addWidget(self.secret)
        layout.addLayout(grid)
        layout.addWidget(self.message)
        self.secret.returnPressed.connect(self._submit)

    def _key(self, key: str) -> None:
        if key == "OK":
            self._submit()
        elif key == "⌫":
            self.secret.setText(self.secret.text()[:-1])
        else:
            self.secret.setText(self.secret.text() + key)

    def _submit(self) -> None:
        self.submitted.emit(self.user.text().strip(), self.secret.text())

    def refuse(self, why: str) -> None:
        self.secret.clear()
        self.message.setText(why)
