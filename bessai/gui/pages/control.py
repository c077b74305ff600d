"""Control: the mode, the interlock checklist, and the setpoint pad inside the live window.

Every control that does nothing now looks disabled and says why. A
setpoint, arming Auto and resetting the E-stop all take the same two-step
confirmation: what changes (old → new, and what the guard makes of it), then
a hold.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QScroller,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import (
    ControlMode,
    ControlState,
    CoreBridge,
    InterlockEntry,
    Permission,
    Reason,
    result_text,
)
from bessai.gui.formatting import duration_text, power_text
from bessai.gui.i18n import is_spanish, t
from bessai.gui.keypad import SetpointPad
from bessai.gui.reasons import of, reason_text
from bessai.gui.status import mode_text
from bessai.gui.widgets import ConfirmDialog, ResultLabel

# Every interlock, in the order the checklist shows them, with who or what clears it.
INTERLOCKS: list[tuple[Reason, str, str]] = [
    (Reason.INTERLOCK_ESTOP, "Emergency stop", "An engineer resets it (hold to confirm)"),
    (Reason.INTERLOCK_COMMS, "Communication", "Clears when the device answers"),
    (Reason.INTERLOCK_STALE, "Fresh data", "Clears with a fresh sample"),
    (Reason.INTERLOCK_TRIP, "Protection trip", "Clears when the value is back within limits"),
    (Reason.INTERLOCK_MEASUREMENT, "Valid measurements", "Clears when the value is valid again"),
    (
        Reason.INTERLOCK_INTRUSION,
        "Intrusion lockout",
        "Clears below the lockout score; an engineer reviews the traffic",
    ),
    (Reason.INTERLOCK_MAINTENANCE, "Maintenance", "An engineer ends maintenance"),
    (
        Reason.INTERLOCK_BATTERY,
        "Battery (BMS)",
        "Clears when the BMS answers with valid values, contactor closed, no alarm",
    ),
]

TRIPS = (
    Reason.INTERLOCK_ESTOP,
    Reason.INTERLOCK_TRIP,
    Reason.INTERLOCK_COMMS,
    Reason.INTERLOCK_INTRUSION,
    Reason.INTERLOCK_BATTERY,
)


def source_text(source: str) -> str:
    """Who proposed, in words."""
    return {"model": t("model"), "frequency": t("frequency response")}.get(source, t("rules"))


def _restyle(widget: QWidget, severity: str) -> None:
    if widget.property("severity") != severity:
        widget.setProperty("severity", severity)
        for w in (widget, *widget.findChildren(QLabel)):
            w.style().unpolish(w)
            w.style().polish(w)


class InterlockChecklist(QFrame):
    """The interlocks of each commanded device, grouped under its name: grey rows when clear;
    amber or red, with since-when and who clears it, when active. With several devices each
    group shows its active rows and one line for the rest, so that the site fits the panel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[tuple[str, Reason], QFrame] = {}
        self.names: dict[tuple[str, Reason], QLabel] = {}
        self.details: dict[tuple[str, Reason], QLabel] = {}
        self.states: dict[tuple[str, Reason], QLabel] = {}
        self.headers: dict[str, QLabel] = {}
        self._devices: tuple[str, ...] = ()
        self._compact = False
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(4)
        self.heading = QLabel()
        self.heading.setObjectName("muted")
        self.box.addWidget(self.heading)
        self.body = QVBoxLayout()
        self.body.setSpacing(4)
        self.box.addLayout(self.body)
        self.box.addStretch(1)

    def _build(self, devices: tuple[str, ...]) -> None:
        while self.body.count():
            item = self.body.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.rows.clear()
        self.names.clear()
        self.details.clear()
        self.states.clear()
        self.headers.clear()
        self._devices = devices
        self._compact = len(devices) > 1
        for device in devices:
            header = QLabel()
            header.setObjectName("groupHeader")
            self.headers[device] = header
            self.body.addWidget(header)
            for reason, _, _ in INTERLOCKS:
                row = QFrame()
                row.setObjectName("checkRow")
                name, state, detail = QLabel(), QLabel(), QLabel()
                name.setWordWrap(True)  # a long name wraps beside its state, never into it
                detail.setWordWrap(True)
                detail.setVisible(False)
                top = QHBoxLayout()
                top.addWidget(name, 1)
                top.addWidget(state)
                lines = QVBoxLayout(row)
                lines.setContentsMargins(8, 3, 8, 3)
                lines.setSpacing(0)
                lines.addLayout(top)
                lines.addWidget(detail)
                self.body.addWidget(row)
                key = (device, reason)
                self.rows[key], self.names[key], self.details[key] = row, name, detail
                self.states[key] = state

    def show_state(self, entries: list[InterlockEntry], devices: list[str], spanish: bool) -> None:
        if tuple(devices) != self._devices:
            self._build(tuple(devices))
        self.heading.setText(t("Interlocks"))
        active = {(e.device, e.reason): e for e in entries}
        for device in self._devices:
            count = sum(1 for d, _ in active if d == device)
            self.headers[device].setText(
                f"{device} · " + (t("{0} ACTIVE").format(count) if count else t("all clear"))
            )
            _restyle(self.headers[device], "trip" if count else "normal")
            for reason, name, clears in INTERLOCKS:
                key = (device, reason)
                entry = active.get(key)
                mark = "●" if entry is not None else "○"
                self.names[key].setText(f"{mark} {t(name)}")
                self.states[key].setText(t("clear") if entry is None else t("ACTIVE"))
                self.details[key].setVisible(entry is not None)
                # With several devices a clear row stays folded into its group's header.
                self.rows[key].setVisible(entry is not None or not self._compact)
                if entry is None:
                    self.details[key].clear()
                    _restyle(self.rows[key], "normal")
                    continue
                when = time.strftime("%H:%M:%S", time.localtime(entry.since))
                since = t("since {0} · {1}").format(when, t(clears))
                if entry.by:
                    since = t("since {0} by {1} · {2}").format(when, entry.by, t(clears))
                self.details[key].setText(f"{reason_text(entry.reason, entry.params)}\n{since}")
                _restyle(self.rows[key], "trip" if reason in TRIPS else "warning")

    def active(self) -> list[Reason]:
        return [
            r
            for (_, r), row in self.rows.items()
            if row.property("severity") not in (None, "normal")
        ]

    def active_by_device(self) -> dict[str, list[Reason]]:
        found: dict[str, list[Reason]] = {}
        for (device, reason), row in self.rows.items():
            if row.property("severity") not in (None, "normal"):
                found.setdefault(device, []).append(reason)
        return found

    def text(self) -> str:
        return "\n".join(
            f"{k[0]} {self.names[k].text()}: {self.details[k].text()}" for k in self.rows
        )


class ControlPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.mode_buttons: dict[ControlMode, QPushButton] = {}
        self.target_buttons: dict[str, QPushButton] = {}
        self.targets_row = QHBoxLayout()
        self.target_label = QLabel()
        self.target_label.setObjectName("muted")
        self.targets_row.addWidget(self.target_label)
        modes = QHBoxLayout()
        for mode in ControlMode:
            button = QPushButton()
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, m=mode: self.choose_mode(m))
            self.mode_buttons[mode] = button
            modes.addWidget(button)
        self.window_label = QLabel()
        self.window_label.setObjectName("muted")
        self.window_label.setWordWrap(True)
        self.pad = SetpointPad()
        self.apply = QPushButton()
        self.apply.setObjectName("primary")
        self.apply.setMinimumHeight(56)
        self.apply.clicked.connect(self.ask_confirmation)
        self.why = QLabel()
        self.why.setObjectName("interlock")
        self.why.setWordWrap(True)
        # The target's unverified power registers: Manual only, after an engineer confirms.
        self.doubt = QLabel()
        self.doubt.setObjectName("interlock")
        self.doubt.setWordWrap(True)
        self.doubt.setProperty("severity", "warning")
        self.lease = QLabel()
        self.lease.setObjectName("muted")
        self.lease.setWordWrap(True)
        self.status = ResultLabel(lambda r: result_text(r, self.spanish()))
        self.dispatch = QLabel()
        self.dispatch.setObjectName("muted")
        self.dispatch.setWordWrap(True)
        self.checklist = InterlockChecklist()
        self.reset = QPushButton()
        self.reset.clicked.connect(self.ask_reset)
        self.pad.top.addWidget(self.apply, 1)  # Apply beside the value it applies
        self.apply.setMinimumHeight(64)
        left_widget = QWidget()
        left = QVBoxLayout(left_widget)
        left.setContentsMargins(0, 0, 0, 0)
        left.addLayout(self.targets_row)
        left.addLayout(modes)
        left.addWidget(self.doubt)
        left.addWidget(self.window_label)
        left.addWidget(self.pad)
        left.addWidget(self.why)
        left.addWidget(self.lease)
        left.addWidget(self.status)
        left.addWidget(self.dispatch)
        left.addStretch(1)
        right = QVBoxLayout()
        # The checklist scrolls (by touch too) when a site's rows outgrow the panel: its rows
        # keep their height instead of being pressed into each other.
        self.checklist_area = QScrollArea()
        self.checklist_area.setWidgetResizable(True)
        self.checklist_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.checklist_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.checklist_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.checklist_area.setWidget(self.checklist)
        QScroller.grabGesture(
            self.checklist_area.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture
        )
        right.addWidget(self.checklist_area, 1)
        right.addWidget(self.reset)
        # At 800×480 the explanations below the pad scroll; the controls above them never do.
        left_area = self.left_area = QScrollArea()
        left_area.setWidgetResizable(True)
        left_area.setFrameShape(QScrollArea.Shape.NoFrame)
        left_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Scrolled by touch (the scroller) or the wheel: the panel's width goes to the pad.
        left_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_area.setWidget(left_widget)
        QScroller.grabGesture(
            left_area.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture
        )
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(left_area, 0, 0)
        layout.addLayout(right, 0, 1)
        layout.setColumnStretch(0, 1)
        layout.setColumnStretch(1, 0)
        self.dialog: ConfirmDialog | None = None
        self.retranslate()
        bridge.text_frame.connect(self.refresh)

    def spanish(self) -> bool:
        return is_spanish(self)

    def _show_result(self, result: object) -> None:
        self.pad.edited = False  # the pad follows the applied setpoint again
        self.status.show_result(result)

    def why_disabled(self, state: ControlState | None) -> str:
        """Why the setpoint cannot be applied now, or "" when it can."""
        if state is None:
            return t("No device with a setpoint register: control is not available.")
        if not self.bridge.may(Permission.CONTROL):
            return t("Log in as an operator to command the battery")
        if state.estop_latched:
            return t("Emergency stop latched: an engineer must reset it")
        if state.interlocks:
            return t("An interlock is active: see the checklist")
        if state.mode is not ControlMode.MANUAL:
            return t("Choose Manual to enter a setpoint")
        return ""

    def target_text(self, target: str | None) -> str:
        if target is None:
            return "–"
        if target == "site":
            return t("Site")
        return target

    def _show_targets(self) -> None:
        """One segmented button per target (the site, then each device); the chosen one checked."""
        targets = self.bridge.targets()
        if list(self.target_buttons) != targets:
            for button in self.target_buttons.values():
                self.targets_row.removeWidget(button)
                button.deleteLater()
            self.target_buttons = {}
            for target in targets:
                button = QPushButton(self.target_text(target))
                button.setCheckable(True)
                button.setMinimumHeight(44)
                button.setToolTip(t("Site (all batteries)") if target == "site" else target)
                button.clicked.connect(lambda _=False, name=target: self.choose_target(name))
                self.targets_row.addWidget(button)
                self.target_buttons[target] = button
        self.target_label.setText(t("Command:"))
        self.target_label.setVisible(False)  # the buttons say it; the panel needs the width
        doubtful = self.bridge.unverified_devices() if len(targets) > 1 else {}
        for target, button in self.target_buttons.items():
            marked = target in doubtful or (target == "site" and bool(doubtful))
            button.setText(self.target_text(target) + (" ⚠" if marked else ""))
            button.setChecked(target == self.bridge.target)
            button.setVisible(len(targets) > 1)

    def choose_target(self, target: str) -> None:
        self.bridge.set_target(target)
        self.pad.edited = False
        self.refresh()

    def refresh(self) -> None:
        if not self.isVisible():
            return
        self._show_targets()
        state = self.bridge.state()
        may = self.bridge.may(Permission.CONTROL)
        self.status.render_now()
        self.checklist.show_state(
            self.bridge.interlocks_of_target(),
            [d.name for d in self.bridge.target_devices()],
            self.spanish(),
        )
        why = self.why_disabled(state)
        self.why.setText(why)
        doubt = self.bridge.unverified_of_target()
        self.doubt.setVisible(bool(doubt))
        self.doubt.setText(self.doubt_text(doubt))
        tripped = state is not None and any(i.reason in TRIPS for i in state.interlocks)
        _restyle(self.why, "trip" if tripped else "normal")  # red under a trip, never amber
        if state is None:
            for widget in (*self.mode_buttons.values(), self.pad, self.apply):
                widget.setEnabled(False)
            self.reset.setVisible(False)
            return
        mixed = self.bridge.target == "site" and self.bridge.snapshot().mode is None
        for mode, button in self.mode_buttons.items():
            button.setChecked(mode is state.mode and not mixed)  # mixed: no mode is the site's
            button.setEnabled(may and (mode is ControlMode.STANDBY or not state.interlocks))
        manual = not why
        self.pad.setEnabled(manual)
        self.apply.setEnabled(manual)
        w = state.window
        self.pad.set_window(w.min_kw, w.max_kw)
        self.pad.follow(state.applied_kw)
        if state.interlocks:
            self.window_label.setText(t("Allowed now: 0 kW (interlock)"))
        else:
            self.window_label.setText(
                t("Allowed now: {0} … {1} kW (charge … discharge)").format(
                    power_text(w.min_kw), power_text(w.max_kw)
                )
            )
        remaining = state.lease_remaining_s(time.time())
        parts = [t("Setpoint applied: {0} kW").format(power_text(state.applied_kw))]
        if remaining is not None:
            parts.append(t("Manual lease: {0} left").format(duration_text(remaining)))
        self.lease.setText("  ·  ".join(parts))
        self.reset.setVisible(state.estop_latched)
        self.reset.setEnabled(self.bridge.may(Permission.ENGINEER))
        self.dispatch.setText(self._dispatch_text(state))

    def _dispatch_text(self, state: ControlState) -> str:
        """Who proposes in Auto, and the last proposal with what the guard made of it."""
        info = self.bridge.dispatch_summary()
        version, error = info.model_version, info.model_error
        if info.mode == "rules":
            lines = [t("Auto dispatch: rules (time of use, peak shaving)")]
        elif info.mode == "frequency":
            lines = [t("Auto dispatch: primary frequency response (droop on the grid frequency)")]
        elif error:
            lines = [t("Auto dispatch: rules — the model is not usable: {0}").format(error)]
        elif info.mode == "shadow":
            lines = [
                t(
                    "Auto dispatch: rules; model {0} in shadow mode (recorded, never written)"
                ).format(version)
            ]
        else:
            lines = [t("Auto dispatch: model {0}, rules as fallback").format(version)]
        proposal = state.proposal
        if state.mode is ControlMode.AUTO and proposal is not None:
            line = t("Proposal {0} kW").format(power_text(proposal.setpoint_kw))
            line += f" ({source_text(proposal.source)})"
            verdict = state.last_verdict
            if verdict is not None and verdict.reason.value not in ("ok", "done"):
                line += " → " + t("guard {0} kW ({1})").format(
                    power_text(verdict.value_kw),
                    of(verdict),
                )
            if proposal.fallback is not None:
                line += " · " + t("fallback: {0}").format(proposal.fallback.detail)
            lines.append(line)
            lines.append(self._inputs_text(proposal.inputs))
        shadow = state.shadow_proposal
        if shadow is not None:
            lines.append(t("The model would do {0} kW").format(power_text(shadow.setpoint_kw)))
            lines.append(self._inputs_text(shadow.inputs))
        return "\n".join(lines)

    @staticmethod
    def _inputs_text(inputs: dict[str, float | None]) -> str:
        def shown(key: str, digits: int) -> str:
            value = inputs.get(key)
            return "–" if value is None else f"{value:.{digits}f}"

        return t("Inputs: {0} h, SoC {1} %, PV {2} kW, load {3} kW, {4} USD/MWh").format(
            shown("hour_local", 1),
            shown("soc_pct", 0),
            shown("pv_kw", 0),
            shown("load_kw", 0),
            shown("price_usd_mwh", 0),
        )

    @staticmethod
    def doubt_text(doubt: dict[str, tuple[str, ...]]) -> str:
        """The unverified power registers of each device, and what that allows."""
        if not doubt:
            return ""
        lines = [
            t("{0}: power registers not verified ({1})").format(device, ", ".join(registers))
            for device, registers in doubt.items()
        ]
        lines.append(
            t(
                "Manual only after an engineer confirms; Auto and remote control are refused "
                "until a commissioning run measures the power's sign and scale."
            )
        )
        return "\n".join(lines)

    def confirm_unverified(self) -> None:
        """Manual on a target with unverified power registers: the engineer confirms them,
        named in the dialog and in the audit row."""
        self.refresh()
        lines = [
            t("Target: {0}").format(self.target_text(self.bridge.target)),
            f"{mode_text(self.bridge.snapshot())}  →  {t('Manual')}",
            self.doubt_text(self.bridge.unverified_of_target()),
            t("Confirmed by {0}: on the audit record.").format(
                self.bridge.session.user if self.bridge.session else "–"
            ),
        ]
        self._confirm(
            t("Confirm unverified power registers"),
            lines,
            lambda: self.bridge.set_mode(
                ControlMode.MANUAL, self._show_result, confirm_unverified=True
            ),
        )

    def choose_mode(self, mode: ControlMode) -> None:
        """Standby and Manual at once (neither moves the battery); Auto after a confirmation.
        Unverified power registers: Manual after an engineer's confirmation, Auto refused by
        the core (its reason is shown)."""
        state = self.bridge.state()
        doubt = self.bridge.unverified_of_target()
        if (
            mode is ControlMode.MANUAL
            and doubt
            and state is not None
            and self.bridge.may(Permission.ENGINEER)
        ):
            self.confirm_unverified()
            return
        if mode is not ControlMode.AUTO or state is None or doubt:
            self.bridge.set_mode(mode, self._show_result)
            return
        self.refresh()  # the button's checked state follows the mode, not the tap
        lines = [
            t("Target: {0}").format(self.target_text(self.bridge.target)),
            f"{mode_text(self.bridge.snapshot())}  →  {t('Auto')}",
            t("The dispatcher proposes setpoints from now on; the safety guard clamps each."),
            self._dispatch_text(state).split("\n")[0],
        ]
        self._confirm(t("Arm Auto"), lines, lambda: self.bridge.set_mode(mode, self._show_result))

    def ask_confirmation(self) -> None:
        value = self.pad.value_kw
        preview = self.bridge.preview(value)
        state = self.bridge.state()
        if preview is None or state is None:
            return
        v = preview.verdict
        lines = [
            t("Target: {0}").format(self.target_text(self.bridge.target)),
            f"{power_text(state.applied_kw)} kW  →  {power_text(v.requested_kw)} kW",
            t("After the safety guard: {0} kW").format(power_text(v.value_kw)),
            of(v),
            t("Time to SoC limit at this power: {0}").format(
                duration_text(preview.seconds_to_soc_limit)
            ),
        ]
        self._confirm(
            t("Confirm setpoint"),
            lines,
            lambda: self.bridge.command_setpoint(value, self._show_result),
        )

    def ask_reset(self) -> None:
        presses = [
            e for e in self.bridge.interlocks_of_target() if e.reason is Reason.INTERLOCK_ESTOP
        ]
        first = min(presses, key=lambda e: e.since, default=None)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(first.since)) if first else "--"
        pressed = t("Emergency stop latched since {0}").format(when)
        if first is not None and first.by:
            pressed += " · " + t("by {0}").format(first.by)
        lines = [
            t("Target: {0}").format(self.target_text(self.bridge.target)),
            pressed,
            t("After the reset the battery stays in Standby: nothing resumes by itself."),
        ]
        self._confirm(t("Reset E-stop"), lines, lambda: self.bridge.reset_estop(self._show_result))

    def _confirm(self, title: str, lines: list[str], action: object) -> None:
        self.dialog = ConfirmDialog(title, lines, self)
        self.dialog.accepted.connect(action)
        self.dialog.open()

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        # The pad keeps the room a gloved hand needs; the checklist takes a third at most.
        self.checklist_area.setFixedWidth(max(230, min(420, self.width() // 3)))
        super().resizeEvent(event)  # type: ignore[arg-type]

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        self.left_area.verticalScrollBar().setValue(0)  # the mode buttons whole, every time
        self.refresh()

    def retranslate(self) -> None:
        for mode, text in (
            (ControlMode.STANDBY, "Standby"),
            (ControlMode.MANUAL, "Manual"),
            (ControlMode.AUTO, "Auto…"),
        ):
            self.mode_buttons[mode].setText(t(text))
        self.apply.setText(t("Apply…"))
        self.reset.setText(t("Reset E-stop (engineer)…"))
        self.pad.retranslate()
        self.refresh()
