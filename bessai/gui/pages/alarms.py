"""Alarms and events: active alarms by priority (first-out marked), acknowledge, shelve, history, audit."""

from __future__ import annotations

import time

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission
from bessai.gui.i18n import is_spanish, t

VIEWS = ["Active alarms", "Alarm history", "Audit trail"]


def stamp(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


class AlarmsPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.view = QComboBox()
        self.view.currentIndexChanged.connect(self.refresh)
        self.table = QTableWidget(0, 6)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.comment = QLineEdit()
        self.ack = QPushButton()
        self.ack.clicked.connect(self._ack)
        self.shelve = QPushButton()
        self.shelve.clicked.connect(self._shelve)
        actions = QHBoxLayout()
        actions.addWidget(self.comment, 2)
        actions.addWidget(self.ack)
        actions.addWidget(self.shelve)
        self.title = QLabel()
        self.title.setObjectName("header")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.view)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        self.retranslate()
        bridge.alarms_changed.connect(self.refresh)
        bridge.session_changed.connect(self.refresh)

    def spanish(self) -> bool:
        return is_spanish(self)

    def selected_alarm(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 5) if row >= 0 else None
        return None if item is None else item.text()

    def _ack(self) -> None:
        alarm = self.selected_alarm()
        if alarm is not None:
            self.bridge.acknowledge(alarm, self.comment.text() or None)
            self.comment.clear()

    def _shelve(self) -> None:
        alarm = self.selected_alarm()
        if alarm is not None:
            self.bridge.shelve(alarm, 3600)

    def _fill(self, headers: list[str], rows: list[list[str]]) -> None:
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def refresh(self) -> None:
        view = self.view.currentIndex()
        active_view = view <= 0
        self.ack.setEnabled(active_view and self.bridge.may(Permission.CONTROL))
        self.shelve.setEnabled(active_view and self.bridge.may(Permission.ENGINEER))
        if active_view:
            rows = [
                [
                    "★" if a.first_out else ("↳ " + a.group if a.group else ""),
                    a.definition.priority.name.lower(),
                    a.state.value,
                    a.definition.text_es if self.spanish() else a.definition.text_en,
                    stamp(a.raised_at),
                    a.id,
                ]
                for a in self.bridge.active_alarms()
            ]
            self._fill(
                [t("First out"), t("Priority"), t("State"), t("Alarm"), t("Raised"), "id"], rows
            )
        elif view == 1:
            self.bridge.fetch_alarm_log(300, self._show_log)
        else:
            self.bridge.fetch_audit(300, self._show_audit)

    def _show_log(self, history: object) -> None:
        if self.view.currentIndex() != 1 or not isinstance(history, list):
            return
        rows = [
            [
                stamp(float(r[0])),
                str(r[1]),
                str(r[2]),
                str(r[7] or ""),
                str(r[8] or ""),
                str(r[6] or ""),
            ]
            for r in history
        ]
        self._fill([t("Time"), t("Alarm"), t("Event"), t("User"), t("Comment"), t("Detail")], rows)

    def _show_audit(self, records: object) -> None:
        if self.view.currentIndex() != 2 or not isinstance(records, list):
            return
        rows = [
            [stamp(r.ts), r.user, r.action, r.outcome, str(r.detail), str(r.seq)] for r in records
        ]
        self._fill([t("Time"), t("User"), t("Action"), t("Outcome"), t("Detail"), "#"], rows)

    def retranslate(self) -> None:
        self.title.setText(t("Alarms and events"))
        current = max(0, self.view.currentIndex())
        self.view.blockSignals(True)
        self.view.clear()
        self.view.addItems([t(v) for v in VIEWS])
        self.view.setCurrentIndex(current)
        self.view.blockSignals(False)
        self.comment.setPlaceholderText(t("Comment (optional)"))
        self.ack.setText(t("Acknowledge"))
        self.shelve.setText(t("Shelve 1 h (engineer)"))
        self.refresh()
