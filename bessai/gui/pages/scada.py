"""The grid operator's link on Settings: who holds authority, the masters, the last command,
and the point list a SCADA engineer configures from.

Authority changes in two steps: a tap selects the other side, a second tap on the
confirmation within ``CONFIRM_WINDOW_S`` hands it over; otherwise the choice lapses.
Only an engineer may; the outstation checks the role again and audits either way.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission
from bessai.gui.i18n import t
from bessai.gui.widgets import ResultLabel

#: How long a selected authority waits for its confirmation.
CONFIRM_WINDOW_S = 5
TOUCH_PX = 48

#: What each source or command of the point list means, in words the screen translates.
MAPS = {
    "active_power_kw": "Site active power (kW, + = discharge)",
    "soc_pct": "Site SoC (%)",
    "allowed_discharge_kw": "Allowed discharge now (kW)",
    "allowed_charge_kw": "Allowed charge now (kW)",
    "setpoint_kw": "Active-power setpoint in force (kW)",
    "reactive_power_kvar": "Reactive power (kvar)",
    "grid_frequency_hz": "Grid frequency (Hz)",
    "remote_authority": "Remote authority (1 = remote)",
    "protection_trip": "Protection trip active",
    "estop_latched": "E-stop latched",
    "comms_lost": "A device's communication lost",
    "intrusion_lockout": "Intrusion lockout",
    "remote_control": "Remote control (ON = follow the grid operator)",
    "active_power_setpoint_kw": "Site active-power setpoint (kW)",
    "reactive_power_setpoint_kvar": "Site reactive-power setpoint (kvar)",
}
COLUMNS = ("IOA", "Type", "Maps", "Scale", "Dead band")


def clock_text(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%H:%M:%S", time.localtime(ts))


def reason_text(reason: str) -> str:
    """The outstation's reason in the screen's language where the catalogue has it (the
    guard's own sentences with numbers in them stay as the core worded them)."""
    return t(reason)


class ScadaPanel(QFrame):
    """Authority with its two-step switch, the connected masters, the last command, points."""

    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("scadaPanel")
        self.title = QLabel()
        self.title.setObjectName("header")
        self.authority = QLabel()
        self.authority.setObjectName("deviceCell")  # amber when the link is down
        bold = self.authority.font()
        bold.setBold(True)
        self.authority.setFont(bold)
        self.authority.setWordWrap(True)
        self.select = QPushButton()
        self.select.setMinimumHeight(TOUCH_PX)
        self.select.clicked.connect(self._select)
        self.confirm = QPushButton()
        self.confirm.setObjectName("primary")
        self.confirm.setMinimumHeight(TOUCH_PX)
        self.confirm.clicked.connect(self._confirm)
        self.cancel = QPushButton()
        self.cancel.setMinimumHeight(TOUCH_PX)
        self.cancel.clicked.connect(self._lapse)
        self.hint = QLabel()
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.result = ResultLabel(self._result_text)
        switch_row = QHBoxLayout()
        switch_row.addWidget(self.select, 1)
        switch_row.addWidget(self.confirm, 2)
        switch_row.addWidget(self.cancel, 1)
        self.masters_label = QLabel()
        self.masters_label.setObjectName("groupHeader")
        self.masters = QLabel()
        self.masters.setWordWrap(True)
        self.command_label = QLabel()
        self.command_label.setObjectName("groupHeader")
        self.command = QLabel()
        self.command.setObjectName("deviceCell")  # amber when refused
        self.command.setWordWrap(True)
        self.points_label = QLabel()
        self.points_label.setObjectName("groupHeader")
        self.points = QGridLayout()
        self.points.setHorizontalSpacing(12)
        self.point_cells: list[list[QLabel]] = []
        self.header_cells = [QLabel() for _ in COLUMNS]
        for col, cell in enumerate(self.header_cells):
            cell.setObjectName("muted")
            self.points.addWidget(cell, 0, col)
        self.points.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.authority)
        layout.addLayout(switch_row)
        layout.addWidget(self.hint)
        layout.addWidget(self.result)
        layout.addWidget(self.masters_label)
        layout.addWidget(self.masters)
        layout.addWidget(self.command_label)
        layout.addWidget(self.command)
        layout.addWidget(self.points_label)
        layout.addLayout(self.points)
        self.wanted: bool | None = None  # the selected authority (True: remote) awaiting confirm
        self.window_s: float = CONFIRM_WINDOW_S
        self.deadline = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self._tick)
        self.summary: dict[str, Any] | None = None
        self._fill_points()
        bridge.text_frame.connect(self.refresh)
        bridge.session_changed.connect(self.refresh)
        self.retranslate()

    def _fill_points(self) -> None:
        for row, (ioa, kind, maps, scale, deadband) in enumerate(self.bridge.scada_points(), 1):
            analog = kind in ("M_ME_NC_1", "M_ME_TF_1", "C_SE_NC_1")
            cells = [
                QLabel(str(ioa)),
                QLabel(kind),
                QLabel(),
                QLabel(f"{scale:g}" if analog else "-"),
            ]
            cells.append(QLabel(f"{deadband:g}" if kind.startswith("M_ME") else "-"))
            cells[2].setProperty("maps", maps)
            cells[2].setWordWrap(True)
            for col, cell in enumerate(cells):
                self.points.addWidget(cell, row, col)
            self.point_cells.append(cells)

    def _remote(self) -> bool:
        return bool(self.summary and self.summary.get("authority") == "remote")

    def _select(self) -> None:
        """Step one: the other side is chosen; the confirmation waits CONFIRM_WINDOW_S."""
        if self.summary is None or not self.bridge.may(Permission.ENGINEER):
            return
        self.wanted = not self._remote()
        self.deadline = time.monotonic() + self.window_s
        self.timer.start()
        self.refresh()

    def _confirm(self) -> None:
        """Step two, inside the window: the outstation hands authority over."""
        wanted = self.wanted
        if wanted is None or time.monotonic() > self.deadline:
            self._lapse()
            return
        self._stop()
        self.bridge.set_scada_authority(wanted, self._switched)
        self.refresh()

    def _lapse(self) -> None:
        self._stop()
        self.refresh()

    def _stop(self) -> None:
        self.wanted = None
        self.timer.stop()

    def _tick(self) -> None:
        if self.wanted is not None and time.monotonic() > self.deadline:
            self.result.show_result(lambda: t("Not confirmed in time: authority unchanged"))
            self._lapse()
            return
        self._show_switch()

    def _switched(self, result: object) -> None:
        self.result.show_result(result)
        self.refresh()

    def _result_text(self, result: object) -> str:
        if isinstance(result, tuple) and len(result) == 2:
            ok, reason = result
            if ok and str(reason) in ("authority remote", "authority local"):
                holder = t("Remote (grid operator)") if self._remote() else t("Local (this screen)")
                return t("Authority is now {0}").format(holder)
            text = reason_text(str(reason))
            return text if ok else t("Refused: {detail}").format(detail=text)
        return str(result()) if callable(result) else str(result)

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._stop()
        super().hideEvent(event)

    def refresh(self) -> None:
        self.summary = self.bridge.scada_summary()
        self.result.render_now()
        self._show_authority()
        self._show_switch()
        self._show_masters()
        self._show_command()

    def _show_authority(self) -> None:
        s = self.summary
        if s is None:
            self.authority.setText(t("The grid operator's link is not running"))
            self.authority.setProperty("severity", "warning")
        else:
            holder = t("Remote (grid operator)") if self._remote() else t("Local (this screen)")
            by = str(s.get("authority_by", ""))
            self.authority.setText(
                t("Authority: {0} since {1}, by {2}").format(
                    holder, clock_text(s.get("authority_since")), t(by) if by == "site file" else by
                )
            )
            self.authority.setProperty("severity", "")
        self.authority.style().polish(self.authority)

    def _show_switch(self) -> None:
        engineer = self.bridge.may(Permission.ENGINEER)
        running = self.summary is not None
        remote = self._remote()
        self.select.setText(t("Hand to the grid operator") if not remote else t("Take back local"))
        self.select.setEnabled(engineer and running and self.wanted is None)
        pending = self.wanted is not None
        self.confirm.setVisible(pending)
        self.cancel.setVisible(pending)
        if pending:
            left = max(0, int(self.deadline - time.monotonic() + 0.999))
            side = t("Remote") if self.wanted else t("Local")
            self.confirm.setText(t("Confirm: {0} ({1} s)").format(side, left))
        if not engineer:
            self.hint.setText(t("Switching authority needs the engineer role"))
        elif pending:
            self.hint.setText(
                t("Tap Confirm within {0} s, or nothing changes").format(f"{self.window_s:g}")
            )
        else:
            self.hint.setText(
                t("In Remote the grid operator commands mode and setpoint; the E-stop always works")
            )

    def _show_masters(self) -> None:
        s = self.summary
        rows = [] if s is None else list(s.get("connections", []))
        if not rows:
            self.masters.setText(t("No master connected"))
            return
        lines = []
        for c in rows:
            started = c.get("started")
            if started is True:
                state = t("active since {0}").format(clock_text((s or {}).get("active_since")))
            elif started is False:
                state = t("standby (not started)")
            else:
                state = t("one of the group is active")
            connected = t("connected {0}").format(clock_text(c.get("connected_at")))
            lines.append(f"{c.get('address')} · {state} · {connected}")
        self.masters.setText("\n".join(lines))

    def _show_command(self) -> None:
        last = None if self.summary is None else self.summary.get("last_command")
        if not last:
            self.command.setText(t("No command received"))
            self.command.setProperty("severity", "")
            self.command.style().polish(self.command)
            return
        kinds = {ioa: kind for ioa, kind, *_ in self.bridge.scada_points()}
        value = last.get("value")
        shown = ("ON" if value else "OFF") if isinstance(value, bool) else f"{value:.1f}"
        accepted = last.get("outcome") == "accepted"
        outcome = t("accepted") if accepted else t("refused")
        self.command.setText(
            f"{kinds.get(last.get('ioa'), '?')} {last.get('ioa')} = {shown} · {outcome} · "
            f"{clock_text(last.get('at'))} · {last.get('by')}\n{reason_text(str(last.get('reason', '')))}"
        )
        self.command.setProperty("severity", "" if accepted else "warning")
        self.command.style().polish(self.command)

    def retranslate(self) -> None:
        self.title.setText(t("Grid operator's link (IEC 60870-5-104)"))
        self.masters_label.setText(t("Connected masters"))
        self.command_label.setText(t("Last command"))
        self.points_label.setText(t("Point list"))
        self.cancel.setText(t("Cancel"))
        for cell, name in zip(self.header_cells, COLUMNS, strict=True):
            cell.setText(t(name))
        for cells in self.point_cells:
            maps = str(cells[2].property("maps"))
            cells[2].setText(t(MAPS[maps]) if maps in MAPS else maps)
        self.refresh()
