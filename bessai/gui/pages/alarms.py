"""Alarms and events: active alarms by priority (first-out marked), acknowledge, shelve, history, audit."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import (
    Alarm,
    AlarmState,
    CoreBridge,
    Permission,
    Priority,
    Reason,
    result_text,
)
from bessai.gui.i18n import is_spanish, t
from bessai.gui.reasons import alarm_text, cause_text, reason_text
from bessai.gui.status import priority_severity
from bessai.gui.theme import current_palette

VIEWS = ["Active alarms", "Alarm history", "Audit trail"]
ROW_HEIGHT_PX = 56  # two lines: what, then the value that raised it
#: Alarms whose value is an interlock of their device: worded from its reason, in the
#: screen's language, rather than from the core's English detail.
INTERLOCK_OF = {
    "safety_trip": Reason.INTERLOCK_TRIP,
    "measurement_invalid": Reason.INTERLOCK_MEASUREMENT,
    "battery_interlock": Reason.INTERLOCK_BATTERY,
    "estop": Reason.INTERLOCK_ESTOP,
}
#: The unit of the value of the alarms raised by a threshold (the value is shown with it).
UNITS = {"battery_temp_high": "°C", "soc_low": "%", "soc_high": "%"}
STATES = {
    AlarmState.ACTIVE_UNACK: "Active, not acknowledged",
    AlarmState.ACTIVE_ACK: "Active, acknowledged",
    AlarmState.CLEARED_UNACK: "Cleared, not acknowledged",
    AlarmState.NORMAL: "Normal",
}
PRIORITIES = {
    Priority.CRITICAL: "Critical",
    Priority.HIGH: "High",
    Priority.MEDIUM: "Medium",
    Priority.LOW: "Low",
}

EVENTS = {
    "raised": "raised",
    "cleared": "cleared",
    "acknowledged": "acknowledged",
    "shelved": "shelved",
    "unshelved": "unshelved",
    "restored": "restored after a restart",
    "confirmed": "confirmed after a restart",
    "removed": "device removed",
}


#: The audit trail's actions and outcomes in words (anything else is shown as its code).
ACTIONS = {
    "mode": "Mode",
    "setpoint": "Setpoint",
    "reactive_setpoint": "Reactive setpoint",
    "estop": "Emergency stop",
    "estop_reset": "E-stop reset",
    "maintenance": "Maintenance",
    "limits": "Limits",
    "register_write": "Register write",
    "alarm_ack": "Alarm acknowledged",
    "alarm_ack_all": "All alarms acknowledged",
    "alarm_shelve": "Alarm shelved",
    "site_mode": "Site mode",
    "site_setpoint": "Site setpoint",
    "site_reactive_setpoint": "Site reactive setpoint",
    "login": "Log in",
    "logout": "Log out",
    "clock_stepped": "Clock stepped",
    "setpoint_write": "Setpoint write",
    "remote_control_leave": "Remote control left",
    "profile_loaded": "Profile loaded",
}
OUTCOMES = {
    "ok": "done",
    "refused": "refused",
    "forced": "forced",
    "latched": "latched",
    "clamped": "clamped",
    "failed": "failed",
    "detected": "detected",
    "partial": "partly done",
}


def _value_text(value: object) -> str:
    """A detail's value in words: lists joined, numbers short, codes read as words."""
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_value_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if value is None:
        return "—"
    text = str(value)
    return text.replace("interlock_", "").replace("_", " ") if text.isidentifier() else text


def detail_text(detail: dict[str, object]) -> str:
    """An audit record's detail as "key: value" pairs in words, not a Python dict or codes."""
    return ", ".join(
        f"{key.replace('_', ' ')}: {_value_text(value)}" for key, value in detail.items()
    )


def short_stamp(ts: float | None, now: float | None = None) -> str:
    """The time alone when it is today's, else the date too: the kiosk's width goes to the text."""
    if ts is None:
        return ""
    today = time.localtime(time.time() if now is None else now)[:3]
    shown = time.localtime(ts)
    return time.strftime("%H:%M:%S" if shown[:3] == today else "%Y-%m-%d %H:%M", shown)


def stamp(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def state_text(alarm: Alarm, *, whole: bool = False) -> str:
    """The state in words with who acknowledged or shelved it and when, and whether it came
    back from before a restart and its source has not yet confirmed it; ``whole`` with
    full dates and the comment (the tooltip)."""
    when = stamp if whole else short_stamp
    parts = [t(STATES[alarm.state])]
    if alarm.acked_by is not None:
        parts.append(t("by {0} at {1}").format(alarm.acked_by, when(alarm.acked_at)))
        if whole and alarm.ack_comment:
            parts.append(f"“{alarm.ack_comment}”")
    if alarm.shelved(time.time()):
        parts.append(
            t("shelved by {0} until {1}").format(alarm.shelved_by, when(alarm.shelved_until))
        )
    if alarm.restored:
        parts.append(t("restored after a restart, not yet confirmed"))
    return " · ".join(parts)


def value_text(alarm: Alarm, interlocks: dict[tuple[str | None, Reason], object]) -> str:
    """What raised the alarm (the value, the cause) in the screen's language where the core
    gives it as a reason, else the core's detail, codes read as words."""
    reason = INTERLOCK_OF.get(alarm.id)
    entry = interlocks.get((alarm.device, reason)) if reason is not None else None
    if reason is Reason.INTERLOCK_ESTOP and entry is not None:
        by = getattr(entry, "by", None)  # the presser, kept across restarts with the press time
        return t("by {0}").format(by) if by else _value_text(alarm.detail)
    if reason is not None and entry is not None:
        params = getattr(entry, "params", ())
        return (
            cause_text(params) if reason is Reason.INTERLOCK_TRIP else reason_text(reason, params)
        )
    if alarm.id in UNITS and alarm.value is not None:
        return f"{alarm.value:.1f} {UNITS[alarm.id]}"
    return _value_text(alarm.detail) if alarm.detail else ""


class AlarmsPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.view = QComboBox()
        self.view.currentIndexChanged.connect(self.refresh)
        self.table = QTableWidget(0, 6)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT_PX)
        self.table.verticalHeader().setMinimumSectionSize(ROW_HEIGHT_PX)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.comment = QLineEdit()
        self.ack = QPushButton()
        self.ack.clicked.connect(self._ack)
        self.ack_all = QPushButton()
        self.ack_all.clicked.connect(self._ack_all)
        self.shelve = QPushButton()
        self.shelve.clicked.connect(self._shelve)
        self.action_row = QWidget()
        actions = QHBoxLayout(self.action_row)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.comment, 2)
        actions.addWidget(self.ack)
        actions.addWidget(self.ack_all)
        actions.addWidget(self.shelve)
        self.hint = QLabel()
        self.hint.setObjectName("muted")  # a result or a hint: not a warning
        self.title = QLabel()
        self.title.setObjectName("header")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.view)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.action_row)
        layout.addWidget(self.hint)
        self.retranslate()
        self.table.itemSelectionChanged.connect(self._selection_changed)
        bridge.alarms_changed.connect(self.refresh)
        bridge.session_changed.connect(self.refresh)
        bridge.command_done.connect(self._done)
        # The snapshot the rows come from is composed once per control cycle: what changed in
        # it after an alarm event (an acknowledgement, a confirmation) is shown at the next
        # text frame, the table rebuilt only when the instances shown differ.
        self._shown: tuple[object, ...] = ()
        bridge.text_frame.connect(self._follow)

    def _signature(self) -> tuple[object, ...]:
        return tuple(
            (a.ref, a.state, a.acked_by, a.restored, a.detail, a.shelved_until)
            for a in self.bridge.active_alarms()
        )

    def _follow(self) -> None:
        if self.isVisible() and self.view.currentIndex() <= 0 and self._signature() != self._shown:
            self.refresh()

    def _done(self, action: str, result: object) -> None:
        """An acknowledgement or a shelve said: refused with its reason, or done."""
        if action in ("ack", "shelve"):
            self.hint.setText(result_text(result, self.spanish()))

    def spanish(self) -> bool:
        return is_spanish(self)

    def selected_alarm(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 5) if rows else None
        return None if item is None else item.text()

    def _selection_changed(self) -> None:
        """Acknowledge and shelve act on the row chosen: without one they do nothing, and look it."""
        chosen = self.view.currentIndex() <= 0 and self.selected_alarm() is not None
        self.ack.setEnabled(chosen and self.bridge.may(Permission.CONTROL))
        self.shelve.setEnabled(chosen and self.bridge.may(Permission.ENGINEER))
        self.ack.setToolTip("" if chosen else t("Select an alarm first"))

    def _ack(self) -> None:
        alarm = self.selected_alarm()
        if alarm is None:
            self.hint.setText(t("Select an alarm first"))
            return
        self.hint.clear()
        self.bridge.acknowledge(alarm, self.comment.text() or None)
        self.comment.clear()

    def _ack_all(self) -> None:
        """Every unacknowledged alarm at once, with the comment typed (one audit row)."""
        self.hint.clear()
        self.bridge.acknowledge_all(self.comment.text() or None)
        self.comment.clear()

    def _shelve(self) -> None:
        alarm = self.selected_alarm()
        if alarm is None:
            self.hint.setText(t("Select an alarm first"))
            return
        self.hint.clear()
        self.bridge.shelve(alarm, 3600)

    def _fill(
        self,
        headers: list[str],
        rows: list[list[str]],
        severities: list[str] | None = None,
        tips: dict[tuple[int, int], str] | None = None,
        stretch: int | None = None,
    ) -> None:
        """The rows; ``stretch`` is the column that takes the width left (elided, whole in its
        tooltip) so that the table never scrolls sideways for one long text."""
        self.table.setColumnCount(len(headers))
        self.table.setColumnHidden(5, False)
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        palette = current_palette()
        colours = {"warning": palette.warn, "trip": palette.bad}
        for r, row in enumerate(rows):
            colour = colours.get(severities[r]) if severities else None
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                tip = (tips or {}).get((r, c)) or (text if c == stretch else "")
                if tip:
                    item.setToolTip(tip)
                if colour is not None:
                    item.setForeground(QBrush(QColor(colour)))
                self.table.setItem(r, c, item)
            self.table.setRowHeight(r, ROW_HEIGHT_PX)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(stretch is None)
        for c in range(len(headers)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
        self.table.resizeColumnsToContents()
        if stretch is not None:
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)

    def refresh(self) -> None:
        view = self.view.currentIndex()
        active_view = view <= 0
        self.ack_all.setEnabled(active_view and self.bridge.may(Permission.CONTROL))
        self._selection_changed()
        self.action_row.setVisible(active_view)  # acknowledge and shelve act on active alarms
        if active_view:
            chosen = self.selected_alarm() if self.table.columnCount() > 5 else None
            alarms = self.bridge.active_alarms()
            self._shown = self._signature()
            interlocks: dict[tuple[str | None, Reason], object] = {
                (i.device, i.reason): i
                for d in self.bridge.snapshot().devices
                for i in d.interlocks
            }
            values = {a.ref: value_text(a, interlocks) for a in alarms}
            texts = {
                a.ref: alarm_text(a) + (f"\n{values[a.ref]}" if values[a.ref] else "")
                for a in alarms
            }
            rows = [
                [
                    "★" if a.first_out else ("↳" if a.group else ""),
                    t(PRIORITIES[a.definition.priority]),
                    state_text(a),
                    texts[a.ref],
                    short_stamp(a.raised_at),
                    a.ref,
                ]
                for a in alarms
            ]
            # The marker says which alarm came first; its tooltip names the one it followed.
            tips = {
                (r, 0): t("First out")
                if a.first_out
                else t("After: {0}").format(texts.get(a.group or "", "").split("\n")[0])
                for r, a in enumerate(alarms)
                if a.first_out or a.group
            }
            tips.update({(r, 4): stamp(a.raised_at) for r, a in enumerate(alarms)})
            tips.update({(r, 2): state_text(a, whole=True) for r, a in enumerate(alarms)})
            # Unacknowledged alarms in their priority's colour; acknowledged ones calm.
            severities = [
                priority_severity(a.definition.priority)
                if a.state in (AlarmState.ACTIVE_UNACK, AlarmState.CLEARED_UNACK)
                else "normal"
                for a in alarms
            ]
            self._fill(
                ["★", t("Priority"), t("State"), t("Alarm"), t("Raised"), "id"],
                rows,
                severities,
                tips,
                stretch=3,
            )
            self.table.setColumnHidden(5, True)  # the id picks the alarm; people read its text
            # The state in two short lines, so that the alarm and its value keep the width.
            self.table.setColumnWidth(
                2, min(self.table.columnWidth(2), max(120, self.width() // 5))
            )
            for r, a in enumerate(alarms):
                if a.ref == chosen:
                    self.table.selectRow(r)
        elif view == 1:
            self.bridge.fetch_alarm_log(300, self._show_log)
        else:
            self.bridge.fetch_audit(300, self._show_audit)

    def _show_log(self, history: object) -> None:
        if self.view.currentIndex() != 1 or not isinstance(history, list):
            return
        rows = [
            [
                short_stamp(float(r[0])),
                f"{r[11] if len(r) > 11 else 'site'}/{r[1]}",
                t(EVENTS.get(str(r[2]), str(r[2]))),
                str(r[7] or ""),
                # The operator's comment, then what the source said: one column, the width
                # left, so that the kiosk reads both.
                " · ".join(f"{x}" for x in (r[8], _value_text(r[6]) if r[6] else None) if x),
            ]
            for r in history
        ]
        self._fill(
            [t("Time"), t("Alarm"), t("Event"), t("User"), t("Detail")],
            rows,
            tips={(r, 0): stamp(float(h[0])) for r, h in enumerate(history)},
            stretch=4,
        )

    def _show_audit(self, records: object) -> None:
        if self.view.currentIndex() != 2 or not isinstance(records, list):
            return
        rows = [
            [
                short_stamp(r.ts),
                r.user,
                t(ACTIONS[r.action]) if r.action in ACTIONS else r.action,
                t(OUTCOMES[r.outcome]) if r.outcome in OUTCOMES else r.outcome,
                detail_text(r.detail),
                str(r.seq),
            ]
            for r in records
        ]
        self._fill(
            [t("Time"), t("User"), t("Action"), t("Outcome"), t("Detail"), "#"],
            rows,
            tips={(r, 0): stamp(rec.ts) for r, rec in enumerate(records)},
            stretch=4,
        )

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
        self.ack_all.setText(t("Acknowledge all"))
        self.shelve.setText(t("Shelve 1 h (engineer)"))
        self.refresh()
