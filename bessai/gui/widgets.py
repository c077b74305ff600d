"""Reusable widgets: value cards that show their age, the E-stop button, the hold-to-confirm button."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.i18n import t

STALE_AFTER_S = 5.0
RESULT_SHOWN_S = 15.0


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

    def make_compact(self) -> None:
        """A smaller value and margins, for the Overview's side column at 800×480."""
        self.value.setProperty("compact", True)
        self.layout().setContentsMargins(12, 6, 12, 6)  # type: ignore[union-attr]
        self.layout().setSpacing(2)  # type: ignore[union-attr]

    def retranslate(self) -> None:
        self.title.setText(t(self.title_source))


class EStopButton(QPushButton):
    """The emergency stop, on every page; anyone may press it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(t("E-STOP"), parent)
        self.setObjectName("estop")
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def retranslate(self) -> None:
        self.setText(t("E-STOP"))


class HoldButton(QPushButton):
    """Confirms only when held for ``hold_ms`` (a touch screen's safe "are you sure"); it fills
    from the left while held, and a release before the end says so (``released_early``)."""

    confirmed = Signal()
    released_early = Signal()

    def __init__(self, text: str, hold_ms: int = 800, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("primary")
        self.hold_ms = hold_ms
        self.progress = 0.0
        self._clock = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(30)
        self._tick.timeout.connect(self._advance)
        self.pressed.connect(self._start)
        self.released.connect(self._stop)

    def _start(self) -> None:
        self._clock.start()
        self.progress = 0.0
        self._tick.start()

    def _advance(self) -> None:
        self.progress = min(1.0, self._clock.elapsed() / self.hold_ms)
        self.update()
        if self.progress >= 1.0:
            self._tick.stop()
            self.confirmed.emit()

    def _stop(self) -> None:
        if self._tick.isActive():
            self._tick.stop()
            self.progress = 0.0
            self.update()
            self.released_early.emit()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if self.progress > 0:
            p = QPainter(self)
            fill = QColor(255, 255, 255, 90)
            p.fillRect(QRectF(0, 0, self.width() * self.progress, self.height()), fill)
            p.end()


class ConfirmDialog(QDialog):
    """A two-step confirmation: what changes (old → new, and what it does now), then a hold."""

    def __init__(self, title: str, lines: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        heading = QLabel(title)
        heading.setObjectName("header")
        self.text = QLabel("\n".join(lines))
        self.text.setWordWrap(True)
        self.hint = QLabel("")
        self.hint.setObjectName("interlock")
        self.hold = HoldButton(t("Hold to confirm"))
        self.hold.setMinimumHeight(64)
        self.hold.confirmed.connect(self.accept)
        self.hold.released_early.connect(
            lambda: self.hint.setText(t("Keep holding until the button is full"))
        )
        cancel = QPushButton(t("Cancel"))
        cancel.setMinimumHeight(64)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(cancel)
        buttons.addWidget(self.hold, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.text)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)


def said(result: object) -> str:
    """A result given as a callable is said anew at each render, so that a message shown
    before a language switch follows it; anything else is shown as it is."""
    return str(result()) if callable(result) else str(result)


class ResultLabel(QLabel):
    """A command's result, rendered in the screen's language at each refresh, gone after
    ``RESULT_SHOWN_S``: a message must not outlive what it is about."""

    def __init__(self, render: Callable[[object], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.text_of = render
        self.result: object = None
        self.shown_at = 0.0

    def show_result(self, result: object) -> None:
        self.result, self.shown_at = result, time.monotonic()
        self.render_now()

    def render_now(self) -> None:
        fresh = self.result is not None and time.monotonic() - self.shown_at < RESULT_SHOWN_S
        text = self.text_of(self.result) if fresh else ""
        if text != self.text():
            self.setText(text)
