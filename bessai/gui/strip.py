"""The status strip on every page: mode, the site's state in a sentence, alarms, E-stop.

Calm grey while all is normal; amber or red over its whole width when not,
so that an abnormal state is seen from across the container.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from bessai.gui.i18n import t
from bessai.gui.status import SiteStatus

NOTICE_S = 10.0


def _restyle(widget: QWidget, severity: str) -> None:
    if widget.property("severity") != severity:
        widget.setProperty("severity", severity)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        for child in widget.findChildren(QLabel):
            child.style().unpolish(child)
            child.style().polish(child)


class StatusStrip(QFrame):
    """Mode chip, state sentence, alarm badge (a tap opens Alarms), E-stop state."""

    alarms_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("strip")
        self.setMinimumHeight(44)
        self.mode = QLabel()
        self.mode.setObjectName("chip")
        self.sentence = QLabel()
        self.sentence.setMinimumWidth(120)
        self.badge = QLabel()
        self.badge.setObjectName("badge")
        self.estop = QLabel()
        self.estop.setObjectName("chip")
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        self.notice_until = 0.0
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.addWidget(self.mode)
        layout.addWidget(self.sentence, 1)
        layout.addWidget(self.notice, 1)
        layout.addWidget(self.badge)
        layout.addWidget(self.estop)
        self.severity = ""
        self.show_status("--", SiteStatus("", "normal"), 0, "normal", False)

    def show_status(
        self, mode: str, status: SiteStatus, alarms: int, alarm_severity: str, estop: bool
    ) -> None:
        self.mode.setText(mode.upper())
        self.sentence.setText(status.sentence)
        self.badge.setText(t("Alarms: {0}").format(alarms))
        self.estop.setText(t("E-STOP LATCHED"))
        self.estop.setVisible(estop)  # armed is the normal state: nothing to say
        self.severity = status.severity
        if self.notice.isVisible() and time.monotonic() > self.notice_until:
            self.notice.setVisible(False)
        _restyle(self, status.severity)
        _restyle(self.badge, alarm_severity)

    def show_notice(self, text: str, seconds: float = NOTICE_S) -> None:
        """A passing message beside the state sentence (never instead of it)."""
        self.notice.setText(text)
        self.notice_until = time.monotonic() + seconds
        self.notice.setVisible(True)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self.badge.geometry().contains(event.position().toPoint()):
            self.alarms_clicked.emit()
        super().mousePressEvent(event)
