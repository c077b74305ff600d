"""Number entry for a gloved hand that cannot surprise, and the setpoint pad.

A number is typed from empty (the current value shown beside it, never
edited in place); the sign key changes the sign of the number typed, not the
text; the result is shown large, with its unit, before it is applied; a value
outside the field's range, or with more decimals than it keeps, is refused
with the reason, never clamped or cut. The setpoint pad adds ±1/±5/±10 kW
nudges and presets at the allowed window's edges and halves; a typed setpoint
stays as typed, so that the confirmation shows what the guard makes of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.formatting import fmt, power_text
from bessai.gui.i18n import t

NUDGES_KW = [-10.0, -5.0, -1.0, 1.0, 5.0, 10.0]
PAD_KEYS = ["7", "8", "9", "⌫", "4", "5", "6", "C", "1", "2", "3", "±", "0", "."]
KEY_W_PX, KEY_H_PX = 72, 56


@dataclass
class NumberEntry:
    """What has been typed: a sign and the digits, kept apart so that "±" never edits text."""

    negative: bool = False
    digits: str = ""
    max_digits: int = 12

    def key(self, key: str) -> None:
        if key == "±":
            self.negative = not self.negative
        elif key == "C":
            self.negative, self.digits = False, ""
        elif key == "⌫":
            if self.digits:
                self.digits = self.digits[:-1]
            else:
                self.negative = False
        elif key in (".", ","):
            if "." not in self.digits and len(self.digits) < self.max_digits:
                self.digits = (self.digits or "0") + "."
        elif key.isdigit() and len(self.digits) < self.max_digits:
            self.digits = key if self.digits == "0" else self.digits + key  # no "015"

    @property
    def text(self) -> str:
        return ("-" if self.negative else "") + self.digits

    @property
    def value(self) -> float | None:
        if not self.digits or self.digits == ".":
            return None
        number = float(self.digits)
        return -number if self.negative else number


def parse_number(text: str) -> float | None:
    """A typed number ("95", "-2.5", "2,5"); None if it is not one."""
    cleaned = text.strip().replace(",", ".").replace("−", "-").lstrip("+")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def number_problem(
    value: float | None,
    text: str,
    label: str,
    unit: str,
    low: float | None,
    high: float | None,
    decimals: int | None,
) -> str | None:
    """Why a typed number cannot be taken whole (None when it can), in the screen's language."""
    if not text.strip():
        return t("{0}: type a number").format(label)
    if value is None:
        return t('{0}: "{1}" is not a number').format(label, text.strip())
    unit_ = f" {unit}" if unit else ""
    if (low is not None and value < low) or (high is not None and value > high):
        return t("{0}: {1}{2} is outside {3} to {4}{2}").format(
            label, f"{value:g}", unit_, f"{low:g}", f"{high:g}"
        )
    if decimals is not None:
        fraction = text.strip().replace(",", ".").partition(".")[2]
        if len(fraction.rstrip("0")) > decimals:
            return t("{0}: keeps at most {1} decimals").format(label, decimals)
    return None


class NumberPad(QDialog):
    """Types one number from empty: the current value beside it, the result large, and
    Apply, which takes the whole number or refuses it with the reason (the pad stays open)."""

    def __init__(
        self,
        title: str,
        *,
        unit: str = "",
        current: float | None = None,
        low: float | None = None,
        high: float | None = None,
        decimals: int | None = None,
        meaning: Callable[[float], str] | None = None,
        special: tuple[str, float] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.title_text, self.unit = title, unit
        self.low, self.high, self.decimals = low, high, decimals
        self.meaning = meaning
        self.entry_state = NumberEntry()
        self.taken: float | None = None  # the value applied, once Apply took it
        heading = QLabel(title)
        heading.setObjectName("header")
        heading.setWordWrap(True)
        digits = decimals if decimals is not None else 1
        now = power_text(current) if unit == "kW" else fmt(current, digits)
        self.current = QLabel(t("Now: {0}").format(f"{now} {unit}") if current is not None else "")
        self.current.setObjectName("muted")
        self.entry = QLabel("")
        self.entry.setObjectName("padEntry")
        self.entry.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.shown = QLabel("")
        self.shown.setObjectName("big")
        self.shown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.said = QLabel("")
        self.said.setObjectName("muted")
        self.said.setWordWrap(True)
        self.refusal = QLabel("")
        self.refusal.setObjectName("refused")
        self.refusal.setWordWrap(True)
        self.keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(6)
        for i, key in enumerate(PAD_KEYS):
            button = self._key_button(key)
            grid.addWidget(button, i // 4, i % 4)
        self.cancel = QPushButton(t("Cancel"))
        self.cancel.clicked.connect(self.reject)
        self.apply = QPushButton(t("Apply"))
        self.apply.setObjectName("primary")
        self.apply.clicked.connect(self.take)
        for button in (self.cancel, self.apply):
            button.setMinimumSize(KEY_W_PX, KEY_H_PX)
        grid.addWidget(self.cancel, 3, 2)
        grid.addWidget(self.apply, 3, 3)
        self.special = special
        if special is not None:
            keep = QPushButton(special[0])
            keep.setMinimumHeight(KEY_H_PX)
            keep.clicked.connect(lambda: self._finish(special[1]))
            grid.addWidget(keep, 4, 0, 1, 4)
        left = QVBoxLayout()
        left.addWidget(heading)
        left.addWidget(self.current)
        left.addWidget(self.entry)
        left.addWidget(self.shown)
        left.addWidget(self.said)
        left.addWidget(self.refusal)
        left.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(grid)
        self.setMinimumWidth(620)
        self.show_entry()

    def _key_button(self, key: str) -> QPushButton:
        label = {"C": t("Clear"), "⌫": "⌫"}.get(key, key)
        button = QPushButton(label)
        button.setObjectName("padKey")
        button.setMinimumSize(KEY_W_PX, KEY_H_PX)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setAutoDefault(False)
        button.clicked.connect(lambda _=False, k=key: self.key(k))
        if key == "." and self.decimals == 0:
            button.setEnabled(False)
        if key == "±" and self.low is not None and self.low >= 0:
            button.setEnabled(False)  # nothing below zero is allowed here
        self.keys[key] = button
        return button

    def key(self, key: str) -> None:
        self.entry_state.key(key)
        self.refusal.clear()
        self.show_entry()

    def show_entry(self) -> None:
        """The typed text, and the number it makes, large with its unit."""
        state = self.entry_state
        self.entry.setText(state.text or t("type a number"))
        self.entry.setProperty("empty", not state.text)
        value = state.value
        unit = f" {self.unit}" if self.unit else ""
        if value is None:
            self.shown.setText("")
            self.said.setText("")
        else:
            digits = self.decimals if self.decimals is not None else 1
            if self.unit == "kW":
                self.shown.setText(f"{power_text(value)}{unit}")
            else:
                self.shown.setText(
                    f"{fmt(value, max(digits, _typed_decimals(state.digits)))}{unit}"
                )
            self.said.setText(self.meaning(value) if self.meaning is not None else "")
        self.apply.setEnabled(value is not None)

    def problem(self) -> str | None:
        state = self.entry_state
        return number_problem(
            state.value, state.text, self.title_text, self.unit, self.low, self.high, self.decimals
        )

    def take(self) -> None:
        """Apply: the whole number, or the reason it is refused (and the pad stays open)."""
        why = self.problem()
        if why is not None:
            self.refusal.setText(why)
            return
        value = self.entry_state.value
        assert value is not None
        self._finish(value)

    def _finish(self, value: float) -> None:
        self.taken = value
        self.accept()

    def value(self) -> float | None:
        """The number applied (None before Apply, or after Cancel)."""
        return self.taken


def _typed_decimals(digits: str) -> int:
    return len(digits.partition(".")[2])


def setpoint_meaning(value_kw: float) -> str:
    if value_kw > 0:
        return t("discharge {0} kW").format(fmt(value_kw))
    if value_kw < 0:
        return t("charge {0} kW").format(fmt(-value_kw))
    return t("zero power")


class NumberDialog(NumberPad):
    """The exact setpoint in kW (+ discharge, - charge), typed from empty beside the current one."""

    def __init__(self, start_kw: float, parent: QWidget | None = None) -> None:
        super().__init__(
            t("Setpoint (kW)"),
            unit="kW",
            current=start_kw,
            decimals=1,
            meaning=setpoint_meaning,
            parent=parent,
        )
        self.said.setToolTip(t("kW: + discharge, - charge"))

    def value_kw(self) -> float | None:
        return self.value()


class NumberField(QLineEdit):
    """A number typed whole: free text on a keyboard, the number pad on a tap (see ``osk``);
    ``problem()`` says why what is typed cannot be taken, instead of a spin box keeping "9"
    of a typed "95" that is over its maximum."""

    def __init__(
        self,
        label: str,
        unit: str,
        low: float,
        high: float,
        decimals: int = 1,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.label_source, self.unit = label, unit
        self.low, self.high, self.decimals = low, high, decimals
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setMinimumHeight(48)

    def label(self) -> str:
        return t(self.label_source)

    def setValue(self, value: float) -> None:  # noqa: N802 - the spin boxes' name
        self.setText(fmt(value, self.decimals))

    def number(self) -> float | None:
        return parse_number(self.text())

    def problem(self) -> str | None:
        return number_problem(
            self.number(), self.text(), self.label(), self.unit, self.low, self.high, self.decimals
        )

    def pad(self, parent: QWidget | None = None) -> NumberPad:
        """The number pad that types this field's value (from empty)."""
        return NumberPad(
            self.label(),
            unit=self.unit,
            current=self.number(),
            low=self.low,
            high=self.high,
            decimals=self.decimals,
            parent=parent,
        )


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
