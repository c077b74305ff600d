"""Control: mode, setpoint inside the live allowed window, confirmation with the guard's answer."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import (
    ControlMode,
    ControlState,
    CoreBridge,
    Permission,
    Preview,
    result_text,
)
from bessai.gui.i18n import is_spanish, t


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


class HoldButton(QPushButton):
    """Confirms only when held for ``hold_ms`` (a touch screen's safe 'are you sure')."""

    confirmed = Signal()

    def __init__(self, text: str, hold_ms: int = 800, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("primary")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(hold_ms)
        self._timer.timeout.connect(self.confirmed.emit)
        self.pressed.connect(self._timer.start)
        self.released.connect(self._timer.stop)


class ConfirmDialog(QDialog):
    """Old → new, the value after the guard's clamping and why, and the time to the SoC limit."""

    def __init__(
        self, old_kw: float, preview: Preview, spanish: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(t("Confirm setpoint"))
        v = preview.verdict
        lines = [
            f"{old_kw:+.1f} kW  →  {v.requested_kw:+.1f} kW",
            t("After the safety guard: {0:+.1f} kW").format(v.value_kw),
            v.message_es if spanish else v.message_en,
            t("Time to SoC limit at this power: {0}").format(
                duration_text(preview.seconds_to_soc_limit)
            ),
        ]
        self.text = QLabel("\n".join(lines))
        self.text.setWordWrap(True)
        self.hold = HoldButton(t("Hold to confirm"))
        self.hold.confirmed.connect(self.accept)
        cancel = QPushButton(t("Cancel"))
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(cancel)
        buttons.addWidget(self.hold)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(buttons)


class ControlPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.title = QLabel()
        self.title.setObjectName("header")
        self.mode_buttons: dict[ControlMode, QPushButton] = {}
        modes = QHBoxLayout()
        for mode in ControlMode:
            button = QPushButton()
            button.setCheckable(True)
            button.clicked.connect(
                lambda _=False, m=mode: self.bridge.set_mode(m, self._show_result)
            )
            self.mode_buttons[mode] = button
            modes.addWidget(button)
        self.window_label = QLabel()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumHeight(48)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(1)
        self.spin.setSuffix(" kW")
        self.spin.setRange(-1000, 1000)
        self.slider.valueChanged.connect(lambda v: self.spin.setValue(v / 10))
        self.spin.valueChanged.connect(self._spin_changed)
        self.apply = QPushButton()
        self.apply.setObjectName("primary")
        self.apply.clicked.connect(self.ask_confirmation)
        row = QHBoxLayout()
        row.addWidget(self.slider, 3)
        row.addWidget(self.spin, 1)
        row.addWidget(self.apply, 1)
        self.lease = QLabel()
        self.lease.setObjectName("muted")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.interlocks = QLabel()
        self.interlocks.setObjectName("interlock")
        self.interlocks.setWordWrap(True)
        self.dispatch = QLabel()
        self.dispatch.setObjectName("muted")
        self.dispatch.setWordWrap(True)
        self.reset = QPushButton()
        self.reset.clicked.connect(lambda: self.bridge.reset_estop(self._show_result))
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(modes)
        layout.addWidget(self.window_label)
        layout.addLayout(row)
        layout.addWidget(self.lease)
        layout.addWidget(self.interlocks)
        layout.addWidget(self.status)
        layout.addWidget(self.dispatch)
        layout.addWidget(self.reset)
        layout.addStretch(1)
        self.dialog: ConfirmDialog | None = None
        self.retranslate()
        bridge.frame.connect(self.refresh)

    def _spin_changed(self, value: float) -> None:
        # A typed value outside the window stays as typed: the confirmation then shows
        # what the guard makes of it, and why.
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * 10))
        self.slider.blockSignals(False)

    def spanish(self) -> bool:
        return is_spanish(self)

    def _show_result(self, result: object) -> None:
        self.status.setText(result_text(result, self.spanish()))

    def refresh(self) -> None:
        state = self.bridge.state()
        may = self.bridge.may(Permission.CONTROL)
        if state is None:
            self.status.setText(t("No device with a setpoint register: control is not available."))
            for widget in (*self.mode_buttons.values(), self.slider, self.spin, self.apply):
                widget.setEnabled(False)
            return
        for mode, button in self.mode_buttons.items():
            button.setChecked(mode is state.mode)
            button.setEnabled(may and (mode is ControlMode.STANDBY or not state.interlocks))
        manual = state.mode is ControlMode.MANUAL and may and not state.interlocks
        for widget in (self.slider, self.spin, self.apply):
            widget.setEnabled(manual)
        w = state.window
        self.window_label.setText(
            t("Allowed now: {0:+.1f} … {1:+.1f} kW (charge … discharge)").format(w.min_kw, w.max_kw)
        )
        low, high = round(w.min_kw * 10), round(w.max_kw * 10)
        if (self.slider.minimum(), self.slider.maximum()) != (low, high):
            self.slider.setRange(low, high)
        remaining = state.lease_remaining_s(time.time())
        parts = [t("Setpoint applied: {0:+.1f} kW").format(state.applied_kw)]
        if remaining is not None:
            parts.append(t("Manual lease: {0} left").format(duration_text(remaining)))
        self.lease.setText("  ·  ".join(parts))
        reasons = [
            f"• {i.message_es if self.spanish() else i.message_en}" for i in state.interlocks
        ]
        if not may:
            reasons.append("• " + t("Log in as an operator to command the battery"))
        self.interlocks.setText("\n".join(reasons))
        self.reset.setVisible(state.estop_latched)
        self.reset.setEnabled(self.bridge.may(Permission.ENGINEER))
        self.dispatch.setText(self._dispatch_text(state))

    def _dispatch_text(self, state: ControlState) -> str:
        """Who proposes in Auto, and the last proposal with what the guard made of it."""
        info = self.bridge.dispatch_summary()
        version, error = info.model_version, info.model_error
        if info.mode == "rules":
            lines = [t("Auto dispatch: rules (time of use, peak shaving)")]
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
            line = t("Proposal {0:+.1f} kW").format(proposal.setpoint_kw)
            line += f" ({t('model') if proposal.source == 'model' else t('rules')})"
            verdict = state.last_verdict
            if verdict is not None and verdict.reason.value not in ("ok", "done"):
                line += " → " + t("guard {0:+.1f} kW ({1})").format(
                    verdict.value_kw, verdict.message_es if self.spanish() else verdict.message_en
                )
            if proposal.fallback is not None:
                line += " · " + t("fallback: {0}").format(proposal.fallback.detail)
            lines.append(line)
            lines.append(self._inputs_text(proposal.inputs))
        shadow = state.shadow_proposal
        if shadow is not None:
            lines.append(t("The model would do {0:+.1f} kW").format(shadow.setpoint_kw))
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

    def ask_confirmation(self) -> None:
        preview = self.bridge.preview(self.spin.value())
        state = self.bridge.state()
        if preview is None or state is None:
            return
        self.dialog = ConfirmDialog(state.applied_kw, preview, self.spanish(), self)
        self.dialog.accepted.connect(
            lambda: self.bridge.command_setpoint(self.spin.value(), self._show_result)
        )
        self.dialog.open()

    def retranslate(self) -> None:
        self.title.setText(t("Control"))
        for mode, text in (
            (ControlMode.STANDBY, "Standby"),
            (ControlMode.MANUAL, "Manual"),
            (ControlMode.AUTO, "Auto"),
        ):
            self.mode_buttons[mode].setText(t(text))
        self.apply.setText(t("Apply…"))
        self.reset.setText(t("Reset E-stop (engineer)"))
