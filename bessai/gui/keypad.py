"""The setpoint pad for a gloved hand: the value large, ±1/±5/±10 kW nudges, presets at the
allowed window's edges and halves, and a numeric keypad for an exact value.

Nudges and presets stay inside the allowed window; a typed value stays as
typed, so that the confirmation shows what the guard makes of it, and why.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.formatting import power_text
from bessai.gui.i18n import t

NUDGES_KW = [-10.0, -5.0, -1.0, 1.0, 5.0, 10.0]
ENTRY_KEYS = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "±", "0", "."]


class NumberDialog(QDialog):
    """A numeric keypad for an exact setpoint in kW (+ discharge, - charge)."""

    def __init__(self, start_kw: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(t("Setpoint (kW)"))
        self.entry = QLabel(power_text(start_kw) if start_kw else "0")
        self.entry.setObjectName("big")
        self.entry.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.fresh = True  # the first key replaces the shown value
        grid = QGridLayout()
        for i, key in enumerate(ENTRY_KEYS):
            button = QPushButton(key)
            button.setMinimumSize(80, 56)
            button.clicked.connect(lambda _=False, k=key: self.key(k))
            grid.addWidget(button, i // 3, i % 3)
        back = QPushButton("⌫")
        back.setMinimumSize(80, 56)
        back.clicked.connect(lambda: self.key("⌫"))
        cancel = QPushButton(t("Cancel"))
        cancel.clicked.connect(self.reject)
        ok = QPushButton(t("OK"))
        ok.setObjectName("primary")
        ok.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addWidget(cancel)
        buttons.addWidget(ok)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(t("kW: + discharge, - charge")))
        layout.addWidget(self.entry)
        layout.addLayout(grid)
        layout.addLayout(buttons)

    def key(self, key: str) -> None:
        text = "" if self.fresh and key not in ("±", "⌫") else self.entry.text()
        self.fresh = False
        if key == "⌫":
            text = text[:-1]
        elif key == "±":
            text = text[1:] if text.startswith("-") else "-" + text.lstrip("+")
        elif key == "." and "." in text:
            return
        else:
            text += key
        self.entry.setText(text or "0")

    def value_kw(self) -> float | None:
        try:
            return float(self.entry.text().lstrip("+"))
        except ValueError:
            return None


class SetpointPad(QWidget):
    """The value to apply, its nudges and presets; ``changed`` on every change."""

    changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value_kw = 0.0
        self.low_kw, self.high_kw = 0.0, 0.0
        self.edited = False  # the operator changed it since it last followed the applied value
        self.display = QPushButton("0.0 kW")
        self.display.setObjectName("big")
        self.display.setMinimumHeight(64)
        self.display.clicked.connect(self.type_value)
        self.nudges: list[QPushButton] = []
        nudge_row = QHBoxLayout()
        for step in NUDGES_KW:
            button = QPushButton(f"{step:+.0f}")
            button.setObjectName("nudge")
            button.setMinimumSize(60, 56)
            button.setAutoRepeat(True)  # held down, it keeps stepping
            button.setAutoRepeatDelay(500)
            button.setAutoRepeatInterval(150)
            button.clicked.connect(lambda _=False, s=step: self.nudge(s))
            nudge_row.addWidget(button)
            self.nudges.append(button)
        self.presets: dict[str, QPushButton] = {}
        preset_row = QHBoxLayout()
        for key in ("charge_max", "charge_half", "zero", "discharge_half", "discharge_max"):
            button = QPushButton()
            button.setMinimumHeight(52)
            button.clicked.connect(lambda _=False, k=key: self.preset(k))
            preset_row.addWidget(button)
            self.presets[key] = button
        self.top = QHBoxLayout()
        self.top.addWidget(self.display, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.top)
        layout.addLayout(nudge_row)
        self.caption = QLabel()
        self.caption.setObjectName("muted")
        layout.addWidget(self.caption)
        layout.addLayout(preset_row)
        self.dialog: NumberDialog | None = None
        self.retranslate()

    def set_window(self, low_kw: float, high_kw: float) -> None:
        if (low_kw, high_kw) != (self.low_kw, self.high_kw):
            self.low_kw, self.high_kw = low_kw, high_kw
            self.retranslate()

    def follow(self, applied_kw: float) -> None:
        """Show the applied setpoint, unless the operator is editing."""
        if not self.edited and applied_kw != self.value_kw:
            self._set(applied_kw)

    def set_value(self, value_kw: float, *, edited: bool = True) -> None:
        self.edited = edited
        self._set(value_kw)

    def _set(self, value_kw: float) -> None:
        self.value_kw = round(value_kw, 1)
        self.display.setText(f"{power_text(self.value_kw)} kW")
        self.changed.emit(self.value_kw)

    def nudge(self, step_kw: float) -> None:
        value = self.value_kw + step_kw
        self.set_value(max(self.low_kw, min(self.high_kw, value)))

    def preset(self, key: str) -> None:
        value = {
            "charge_max": self.low_kw,
            "charge_half": self.low_kw / 2,
            "zero": 0.0,
            "discharge_half": self.high_kw / 2,
            "discharge_max": self.high_kw,
        }[key]
        self.set_value(value)

    def type_value(self) -> None:
        self.dialog = NumberDialog(self.value_kw, self)
        self.dialog.accepted.connect(self._typed)
        self.dialog.open()

    def _typed(self) -> None:
        value = self.dialog.value_kw() if self.dialog is not None else None
        if value is not None:
            self.set_value(value)

    def setEnabled(self, enabled: bool) -> None:  # noqa: N802 - Qt's name
        super().setEnabled(enabled)
        if not enabled:
            self.edited = False

    def retranslate(self) -> None:
        values = {
            "charge_max": self.low_kw,
            "charge_half": self.low_kw / 2,
            "zero": 0.0,
            "discharge_half": self.high_kw / 2,
            "discharge_max": self.high_kw,
        }
        for key, button in self.presets.items():
            button.setText(power_text(values[key]))
        self.caption.setText(t("Presets (kW): charge ◀ ▶ discharge"))
