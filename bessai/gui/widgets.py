"""Reusable widgets: value cards that show their age, the E-stop button and its overlay above
every dialog, the hold-to-confirm button, segmented choices."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QPoint, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QButtonGroup,
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
SETTLE_MS = 100  # the E-stop window waits this long at a time for a held button's release
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


class EStopOverlay(QWidget):
    """The E-stop again, as a window of its own laid exactly over ``anchor`` (the header's
    button) while a modal dialog is open: no dialog is its transient parent, so no
    window-modal dialog, keypad or login blocks it, and it is raised above each window shown
    (there is no window manager on the kiosk to keep it on top). With no dialog open the
    anchor itself is live and this window is hidden (on a laptop it never floats over other
    programs). A press on the anchor's place while a dropdown or menu is open (which takes the
    press to close itself) stops too. It acts on the press, not the release.

    The app's dialogs must be window-modal (``open()``), never application-modal (``exec()``,
    static ``QFileDialog``/``QMessageBox`` helpers): those block every window, this one too.
    """

    def __init__(self, anchor: QPushButton) -> None:
        flags = (
            Qt.WindowType.Window
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus
        )
        super().__init__(None, flags)
        self.anchor: QPushButton | None = anchor
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.button = EStopButton(self)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.pressed.connect(self.fire)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        self.fired = 0
        self.setWindowTitle(t("E-STOP"))
        anchor.installEventFilter(self)
        anchor.destroyed.connect(self._anchor_gone)
        self._window: QWidget | None = None
        self._follow_window()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def fire(self) -> None:
        self.fired += 1
        if self.anchor is not None:
            self.anchor.click()  # the anchor's clicked is what stops the battery

    def _follow_window(self) -> None:
        if self.anchor is None:
            return
        window = self.anchor.window()
        if window is not self._window and window is not self.anchor:
            if self._window is not None:
                self._window.removeEventFilter(self)
            self._window = window
            window.installEventFilter(self)

    def _anchor_gone(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.anchor = None
        self.hide()
        self.deleteLater()

    def anchor_rect(self) -> QRect:
        """Where the anchor is on the screen (empty when it is not shown)."""
        anchor = self.anchor
        if anchor is None or not anchor.isVisible():
            return QRect()
        return QRect(anchor.mapToGlobal(QPoint(0, 0)), anchor.size())

    def place(self, *, rise: bool = False) -> None:
        """Over the anchor while a modal dialog is open and the anchor's window is on screen,
        hidden otherwise; ``rise``: above every other window, too."""
        anchor = self.anchor
        if anchor is None:
            return
        window = anchor.window()
        wanted = (
            anchor.isVisible()
            and window.isVisible()
            and not window.isMinimized()
            and QApplication.activeModalWidget() is not None
        )
        if wanted != self.isVisible() and QApplication.mouseButtons() != Qt.MouseButton.NoButton:
            # Showing a window releases a button held down (a hold-to-confirm would stop):
            # after the finger lifts, then.
            QTimer.singleShot(SETTLE_MS, self, lambda: self.place(rise=rise))
            return
        if not wanted:
            if self.isVisible():
                self.hide()
            return
        rect = self.anchor_rect()
        if self.geometry() != rect:
            self.setGeometry(rect)
        if not self.isVisible():
            self.show()
            rise = True
        if rise:
            self.raise_()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.button.retranslate()
        super().changeEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if watched is self.anchor or watched is self._window:
            if kind in (
                QEvent.Type.Move,
                QEvent.Type.Resize,
                QEvent.Type.Show,
                QEvent.Type.Hide,
                QEvent.Type.WindowStateChange,
                QEvent.Type.ParentChange,
            ):
                if watched is self.anchor:
                    self._follow_window()  # the anchor's window is known once it is shown
                QTimer.singleShot(0, self, self.place)
            return False
        if (
            kind in (QEvent.Type.Show, QEvent.Type.Hide)
            and isinstance(watched, QWidget)
            and watched.isWindow()
            and watched is not self
        ):
            # A dialog opens or closes: shown (and on top: no window manager keeps it there)
            # or hidden, once Qt has settled which window is modal.
            QTimer.singleShot(0, self, lambda: self.place(rise=True))
            return False
        if (
            kind == QEvent.Type.MouseButtonPress
            and isinstance(event, QMouseEvent)
            and QApplication.activePopupWidget() is not None
            and self.anchor_rect().contains(event.globalPosition().toPoint())
        ):
            popup = QApplication.activePopupWidget()
            if popup is not None:
                popup.close()
            self.fire()
            return True
        return False


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
        self.hint.setObjectName("muted")  # an ordinary hint: amber is for warnings only
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


class Segmented(QWidget):
    """A few exclusive choices side by side, each a button of its own (a dropdown reopens with
    the current choice under the finger, so that the same tap picks another). Its interface is
    the part of ``QComboBox``'s the pages use: items with data, the current index, and
    ``currentIndexChanged`` when a tap changes it."""

    currentIndexChanged = Signal(int)  # noqa: N815 - QComboBox's name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QAbstractButton] = []
        self.data: list[object] = []
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.group.idClicked.connect(self._clicked)
        self._current = -1

    def addItem(self, text: str, data: object = None) -> None:  # noqa: N802 - QComboBox's name
        button = QPushButton(text)
        button.setCheckable(True)
        button.setObjectName("segment")
        button.setMinimumSize(64, 48)
        self.group.addButton(button, len(self.buttons))
        self.row.addWidget(button)
        self.buttons.append(button)
        self.data.append(data)
        if self._current < 0:
            self.setCurrentIndex(0)

    def count(self) -> int:
        return len(self.buttons)

    def itemData(self, index: int) -> Any:  # noqa: N802 - QComboBox's name (and its Any)
        return self.data[index] if 0 <= index < len(self.data) else None

    def itemText(self, index: int) -> str:  # noqa: N802 - QComboBox's name
        return self.buttons[index].text()

    def setItemText(self, index: int, text: str) -> None:  # noqa: N802 - QComboBox's name
        self.buttons[index].setText(text)

    def findData(self, data: object) -> int:  # noqa: N802 - QComboBox's name
        return self.data.index(data) if data in self.data else -1

    def currentIndex(self) -> int:  # noqa: N802 - QComboBox's name
        return self._current

    def currentData(self) -> Any:  # noqa: N802 - QComboBox's name
        return self.itemData(self._current)

    def currentText(self) -> str:  # noqa: N802 - QComboBox's name
        return self.buttons[self._current].text() if self._current >= 0 else ""

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802 - QComboBox's name
        if not 0 <= index < len(self.buttons) or index == self._current:
            return
        self.buttons[index].setChecked(True)
        self._current = index
        if not self.signalsBlocked():
            self.currentIndexChanged.emit(index)

    def _clicked(self, index: int) -> None:
        self.setCurrentIndex(index)
