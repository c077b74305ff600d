"""Touch input: an on-screen keyboard for every text field and the number pad for every
number field, so that a panel with no physical keyboard can be commissioned.

Qt's own virtual keyboard is not usable with the pinned PySide6-Essentials
(its plugin ships without the ``Qt6VirtualKeyboard`` libraries), so the
keyboard is the app's: Spanish and English letter layouts and a symbol layer,
keys of at least 60×52 px, the text being typed shown in the keyboard itself
(at 800×480 the keyboard covers the field). ``TouchInput`` is an application
event filter: a tap on an editable ``QLineEdit`` opens the keyboard, on a
``NumberField`` or a spin box the number pad (``keypad.NumberPad``); it also
sizes what a finger must hit: a spin box is one field without its 10 px arrows,
and a dropdown's rows are as tall as the style sheet says.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, QTimer
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.i18n import is_spanish, t
from bessai.gui.keypad import NumberField, NumberPad
from bessai.gui.widgets import EStopOverlay

LETTERS = {
    "en": ["qwertyuiop", "asdfghjkl'", "zxcvbnm-_/"],
    "es": ["qwertyuiop", "asdfghjklñ", "zxcvbnm-_´"],
}
SYMBOLS = ["1234567890", "@#:;()&%+=", '.,!?*$"\\<>']
ACUTE = str.maketrans("aeiouAEIOU", "áéíóúÁÉÍÓÚ")
UNACUTE = str.maketrans("áéíóúÁÉÍÓÚ", "aeiouAEIOU")
KEY_W_PX, KEY_H_PX = 60, 52
ROW_PX = 48  # a dropdown's row


class KeyboardDialog(QDialog):
    """Edits a copy of ``target``'s text; OK writes it back, Cancel leaves the field as it was."""

    def __init__(self, target: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target = target
        self.setWindowTitle(t("Keyboard"))
        self.layout_code = "es" if is_spanish(target) else "en"
        self.shift = False
        self.symbols = False
        self.accent = False
        self.title = QLabel(field_label(target) or target.placeholderText())
        self.title.setObjectName("muted")
        self.preview = QLineEdit(target.text())
        self.preview.setProperty("osk", False)  # typed into by the keys, never opens a keyboard
        self.preview.setEchoMode(target.echoMode())
        self.preview.setPlaceholderText(target.placeholderText())
        self.preview.setMaxLength(target.maxLength())
        self.preview.setMinimumHeight(KEY_H_PX)
        self.refusal = QLabel("")
        self.refusal.setObjectName("refused")
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        self.keys: list[QPushButton] = []
        self.rows: list[list[QPushButton]] = []
        for row in range(3):
            buttons = []
            for column in range(10):
                button = self._button("", lambda _=False, r=row, c=column: self._letter(r, c))
                self.grid.addWidget(button, row, column + (1 if row == 2 else 0))
                buttons.append(button)
            self.rows.append(buttons)
        self.backspace = self._button("⌫", self._backspace)
        self.grid.addWidget(self.backspace, 0, 10)
        self.clear = self._button(t("Clear"), self.preview.clear, word=True)
        self.grid.addWidget(self.clear, 1, 10)
        self.shift_key = self._button("⇧", self._toggle_shift)
        self.shift_key.setCheckable(True)
        self.grid.addWidget(self.shift_key, 2, 0)
        self.layer = self._button("?123", self._toggle_symbols, word=True)
        self.language = self._button("", self._toggle_language, word=True)
        self.space = self._button(t("space"), lambda: self._type(" "), word=True)
        self.dot = self._button(".", lambda: self._type("."))
        self.cancel = self._button(t("Cancel"), self.reject, word=True)
        self.ok = self._button(t("OK"), self.take, word=True)
        self.ok.setObjectName("primary")
        bottom = QHBoxLayout()
        bottom.setSpacing(4)
        bottom.addWidget(self.layer)
        bottom.addWidget(self.language)
        bottom.addWidget(self.space, 3)
        bottom.addWidget(self.dot)
        bottom.addWidget(self.cancel, 1)
        bottom.addWidget(self.ok, 1)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.preview, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.refusal)
        layout.addLayout(self.grid)
        layout.addLayout(bottom)
        self.relabel()

    def _button(self, text: str, action: object, word: bool = False) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName("keyWord" if word else "key")
        button.setMinimumSize(KEY_W_PX, KEY_H_PX)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setAutoDefault(False)
        button.clicked.connect(action)
        self.keys.append(button)
        return button

    def place(self) -> None:
        """Along the bottom of the app's main window (not of a dialog it types for), inside
        the screen, below the header and its E-stop."""
        window = self.target.window()
        while isinstance(window, QDialog) and (owner := window.parentWidget()) is not None:
            window = owner.window()
        frame = window.geometry().intersected(window.screen().availableGeometry())
        width = max(min(frame.width(), 900), self.minimumSizeHint().width())
        height = min(self.sizeHint().height(), frame.height() - 64)
        self.setGeometry(
            frame.x() + (frame.width() - width) // 2,
            frame.y() + frame.height() - height,
            width,
            height,
        )

    def relabel(self) -> None:
        rows = SYMBOLS if self.symbols else LETTERS[self.layout_code]
        for buttons, keys in zip(self.rows, rows, strict=True):
            for button, key in zip(buttons, keys, strict=True):
                shown = key.upper() if self.shift and not self.symbols else key
                button.setText(shown.replace("&", "&&"))  # "&" alone marks a mnemonic
        self.shift_key.setEnabled(not self.symbols)
        self.shift_key.setChecked(self.shift)
        self.layer.setText("ABC" if self.symbols else "?123")
        self.language.setText(self.layout_code.upper())

    def _letter(self, row: int, column: int) -> None:
        key = (SYMBOLS if self.symbols else LETTERS[self.layout_code])[row][column]
        text = key.upper() if self.shift and not self.symbols else key
        if text == "´":
            self.accent = True
            return
        self._type(text)
        if self.shift:
            self.shift = False
            self.relabel()

    def _type(self, text: str) -> None:
        if self.accent:
            self.accent = False
            text = text.translate(ACUTE)
        self.preview.insert(text)
        self.refusal.clear()

    def _backspace(self) -> None:
        self.preview.backspace()

    def _toggle_shift(self) -> None:
        self.shift = not self.shift
        self.relabel()

    def _toggle_symbols(self) -> None:
        self.symbols = not self.symbols
        self.relabel()

    def _toggle_language(self) -> None:
        self.layout_code = "en" if self.layout_code == "es" else "es"
        self.relabel()

    def type_text(self, text: str) -> None:
        """Presses the keys that type ``text`` (see ``presses``)."""
        for char in text:
            for key in self.presses(char):
                key.click()

    def presses(self, char: str) -> Iterator[QPushButton]:
        """The keys to tap, one at a time, to type ``char``: the layer, language, shift and
        accent keys it needs, then its own (lazily: each after the one before was tapped)."""
        plain = char.translate(UNACUTE)
        if plain != char:
            if self.layout_code != "es":
                yield self.language
            yield from self.presses("´")
            yield from self.presses(plain)
            return
        if char == " ":
            yield self.space
            return
        if char == ".":
            yield self.dot
            return
        for symbols in (False, True):
            rows = SYMBOLS if symbols else LETTERS[self.layout_code]
            for r, keys in enumerate(rows):
                c = keys.find(char if symbols else char.lower())
                if c < 0:
                    continue
                if self.symbols != symbols:
                    yield self.layer
                if not symbols and char.isalpha() and char.isupper() != self.shift:
                    yield self.shift_key
                yield self.rows[r][c]
                return
        raise ValueError(f"no key types {char!r}")

    def take(self) -> None:
        text = self.preview.text()
        validator = self.target.validator()
        if validator is not None:
            verdict = validator.validate(text, len(text))
            state = verdict[0] if isinstance(verdict, tuple) else verdict
            if state != QValidator.State.Acceptable:
                self.refusal.setText(t("Not accepted here: {0}").format(text))
                return
        self.target.setText(text)
        self.accept()


def field_label(widget: QWidget) -> str:
    """The words beside a field: its form row's label, else its accessible name."""
    child: QWidget | None = widget
    while child is not None:
        parent = child.parentWidget()
        layout = parent.layout() if parent is not None else None
        forms = [layout] if isinstance(layout, QFormLayout) else []
        if parent is not None:
            forms += parent.findChildren(QFormLayout)  # a form inside the parent's layout
        for form in forms:
            label = form.labelForField(child)
            if isinstance(label, QLabel) and label.text():
                return label.text()
        if child.accessibleName():
            return child.accessibleName()
        child = parent if parent is not None and not child.isWindow() else None
    return ""


def spin_pad(spin: QAbstractSpinBox, parent: QWidget | None = None) -> NumberPad:
    """The number pad for a spin box: its range, decimals, unit and "special value" kept."""
    decimals = spin.decimals() if isinstance(spin, QDoubleSpinBox) else 0
    special_text = spin.specialValueText()
    low, high = spin.minimum(), spin.maximum()  # type: ignore[attr-defined]
    return NumberPad(
        field_label(spin) or t("Value"),
        unit=spin.suffix().strip(),  # type: ignore[attr-defined]
        current=float(spin.value()),  # type: ignore[attr-defined]
        low=float(low),
        high=float(high),
        decimals=decimals,
        special=(special_text, float(low)) if special_text else None,
        parent=parent,
    )


class TallRows(QStyledItemDelegate):
    """A dropdown's rows at least ``ROW_PX`` tall (the combo's own delegate draws 18–26 px
    rows, whatever the style sheet says)."""

    def sizeHint(  # noqa: N802 - Qt's name
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), ROW_PX))


class TouchInput(QObject):
    """The app's touch input (see the module's docstring); ``keyboard`` turns the keyboard
    and the pads on (the kiosk and touch screens), the sizing is always on."""

    instance: TouchInput | None = None  # the one installed last (the screenshots' and tests')

    def __init__(self, app: QApplication, *, keyboard: bool) -> None:
        super().__init__(app)
        TouchInput.instance = self
        self.keyboard = keyboard
        self.open: QDialog | None = None
        app.installEventFilter(self)  # before the window is made: each widget as it is polished

    @staticmethod
    def size_for_touch(widget: QObject) -> None:
        """A spin box without its arrows (a tap types the number), a dropdown with tall rows."""
        if isinstance(widget, QAbstractSpinBox):
            widget.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        elif isinstance(widget, QComboBox) and not isinstance(widget.itemDelegate(), TallRows):
            widget.setItemDelegate(TallRows(widget))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.Polish:
            self.size_for_touch(watched)
        elif (
            kind in (QEvent.Type.Show, QEvent.Type.LayoutRequest)
            and isinstance(watched, QDialog)
            and not isinstance(watched, KeyboardDialog)
            and watched.isVisible()
        ):
            QTimer.singleShot(0, watched, lambda: fit_dialog(watched))
        elif (
            kind == QEvent.Type.MouseButtonRelease
            and self.keyboard
            and isinstance(watched, QWidget)
            and watched.isEnabled()
        ):
            return self.tapped(watched)
        return False

    def tapped(self, widget: QWidget) -> bool:
        """Opens the keyboard or pad for a tapped field; True if one opened."""
        if self.open is not None and self.open.isVisible():
            return False
        spin = widget if isinstance(widget, QAbstractSpinBox) else widget.parentWidget()
        if isinstance(spin, QAbstractSpinBox) and not spin.isReadOnly():
            pad = spin_pad(spin, spin.window())
            pad.accepted.connect(lambda: _set_spin(spin, pad.value()))
            return self._show(pad)
        if not isinstance(widget, QLineEdit) or widget.isReadOnly():
            return False
        if widget.property("osk") is False:
            return False
        if isinstance(widget, NumberField):
            field = widget
            pad = field.pad(field.window())
            pad.accepted.connect(lambda: _set_field(field, pad.value()))
            return self._show(pad)
        keyboard = KeyboardDialog(widget, widget.window())
        keyboard.place()
        return self._show(keyboard)

    def _show(self, dialog: QDialog) -> bool:
        self.open = dialog
        dialog.finished.connect(lambda _: self._closed(dialog))
        dialog.open()  # window-modal: the E-stop stays live above it
        return False

    def _closed(self, dialog: QDialog) -> None:
        if self.open is dialog:
            self.open = None
        dialog.deleteLater()


def fit_dialog(dialog: QDialog) -> None:
    """A dialog inside the screen (with no window manager nothing else keeps it there): below
    the E-stop's window when it fits there, else over the whole height (the E-stop stays above
    it), as wide as it asks up to the screen's width, centred."""
    screen = dialog.screen().availableGeometry()
    below = max(
        (
            w.geometry().bottom() + 2
            for w in QApplication.topLevelWidgets()
            if isinstance(w, EStopOverlay) and w.isVisible() and screen.intersects(w.geometry())
        ),
        default=screen.top(),
    )
    layout = dialog.layout()
    width = min(max(dialog.sizeHint().width(), dialog.minimumWidth()), screen.width() - 8)
    if layout is not None and layout.hasHeightForWidth():
        need = layout.totalHeightForWidth(width)
    else:
        need = dialog.sizeHint().height()
    least = layout.totalMinimumSize().height() if layout is not None else need
    room = screen.bottom() + 1 - below
    if need <= room or least <= room:
        height, top = min(need, room), below + (room - min(need, room)) // 2
    else:
        height = min(need, screen.height())
        top = screen.top() + (screen.height() - height) // 2
    left = screen.left() + (screen.width() - width) // 2
    if dialog.geometry().getRect() != (left, top, width, height):
        dialog.setGeometry(left, top, width, height)


def _set_spin(spin: QAbstractSpinBox, value: float | None) -> None:
    if value is not None:
        spin.setValue(value)  # type: ignore[attr-defined]


def _set_field(field: NumberField, value: float | None) -> None:
    if value is not None:
        field.setValue(value)
