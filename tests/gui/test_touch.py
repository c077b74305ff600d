"""The touch-only panel: the E-stop above every dialog, menu and keypad, the on-screen keyboard,
number entry that takes the whole number or says why not, and touch targets at 800×480.

Taps go through the window system (``QTest`` on the ``QWindow``), as a finger's do, so that a
modal dialog blocks them as it would on the panel; a click sent to a widget would not be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QLineEdit,
    QScrollBar,
    QTabBar,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from bessai.core.site.gateway import Gateway
from bessai.gui.keypad import NumberDialog, NumberEntry, NumberField, NumberPad
from bessai.gui.login import FirstRunDialog
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.osk import KeyboardDialog, TouchInput
from bessai.gui.pages.device_form import DeviceDialog
from bessai.gui.theme import apply_theme
from bessai.gui.widgets import ConfirmDialog
from tests.gui.conftest import Loop, login

App = tuple[MainWindow, Gateway, Loop]
LEFT = Qt.MouseButton.LeftButton
MIN_PX = 44


def tap(widget: QWidget, at: QPoint | None = None) -> None:
    """A tap at ``widget``'s centre, delivered to its window as the screen would deliver it."""
    window = widget.window()
    handle = window.windowHandle()
    assert handle is not None
    point = widget.mapTo(window, at if at is not None else widget.rect().center())
    QTest.mouseClick(handle, LEFT, Qt.KeyboardModifier.NoModifier, point)


@pytest.fixture
def touch(qapp: QApplication) -> Iterator[TouchInput]:
    """The app's touch input with the keyboard on, installed before the window is made (as
    the app does): list it before ``app``."""
    touch = TouchInput(qapp, keyboard=True)
    try:
        yield touch
    finally:
        qapp.removeEventFilter(touch)
        touch.deleteLater()


def _confirm(window: MainWindow, qtbot: QtBot) -> QWidget:
    dialog = ConfirmDialog("Change limits", ["SoC floor: 10 % → 15 %"], window)
    dialog.open()
    return dialog


def _login(window: MainWindow, qtbot: QtBot) -> QWidget:
    window.pin = None
    window.login_or_logout()
    qtbot.waitUntil(lambda: window.pin is not None, timeout=3000)
    assert window.pin is not None
    return window.pin


def _keypad(window: MainWindow, qtbot: QtBot) -> QWidget:
    pad = window.pages[PAGES.index("Control")].pad  # type: ignore[attr-defined]
    pad.type_value()
    assert isinstance(pad.dialog, NumberDialog)
    return pad.dialog  # type: ignore[no-any-return]


def _first_run(window: MainWindow, qtbot: QtBot) -> QWidget:
    dialog = FirstRunDialog(window)
    dialog.open()
    return dialog


def _device_form(window: MainWindow, qtbot: QtBot) -> QWidget:
    site = window.pages[PAGES.index("Devices")].site  # type: ignore[attr-defined]
    site.open_form(None)
    assert isinstance(site.form, DeviceDialog)
    return site.form  # type: ignore[no-any-return]


def _file_dialog(window: MainWindow, qtbot: QtBot) -> QWidget:
    form = _device_form(window, qtbot)
    form._browse()  # type: ignore[attr-defined]
    files = form.files  # type: ignore[attr-defined]
    assert isinstance(files, QFileDialog)
    return files


def _keyboard(window: MainWindow, qtbot: QtBot) -> QWidget:
    dialog = _first_run(window, qtbot)
    touch = TouchInput.instance
    assert touch is not None
    tap(dialog.name)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: isinstance(touch.open, KeyboardDialog), timeout=2000)
    assert touch.open is not None
    return touch.open


def _dropdown(window: MainWindow, qtbot: QtBot) -> QWidget:
    window.show_page(PAGES.index("Devices"))
    page = window.pages[PAGES.index("Devices")]
    combo = page.device  # type: ignore[attr-defined]
    combo.showPopup()
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=2000)
    popup = QApplication.activePopupWidget()
    assert popup is not None
    return popup


OPENERS: dict[str, Callable[[MainWindow, QtBot], QWidget]] = {
    "confirmation": _confirm,
    "login": _login,
    "setpoint keypad": _keypad,
    "first-run": _first_run,
    "device form": _device_form,
    "file dialog": _file_dialog,
    "on-screen keyboard": _keyboard,
    "dropdown": _dropdown,
}


@pytest.mark.parametrize("kind", list(OPENERS))
def test_the_estop_stops_the_battery_with_each_kind_of_dialog_open(
    touch: TouchInput, app: App, qtbot: QtBot, kind: str
) -> None:
    window, gateway, _ = app
    overlay = window.estop_overlay
    assert not overlay.isVisible()  # no dialog: the header's own button is live
    opened = OPENERS[kind](window, qtbot)
    qtbot.waitUntil(opened.isVisible, timeout=3000)
    if not isinstance(opened, QDialog):
        # A dropdown takes the press that closes it: on the E-stop's place, it stops too.
        tap(window.estop)
        qtbot.waitUntil(lambda: gateway.controller().estop_latched, timeout=3000)
        assert overlay.fired == 1
        assert QApplication.activePopupWidget() is None
        return
    qtbot.waitUntil(overlay.isVisible, timeout=3000)
    if isinstance(opened, QDialog):
        # Window-modal, never application-modal: that would block the E-stop's window too.
        assert opened.windowModality() == Qt.WindowModality.WindowModal
        # The header's own button is behind the modal dialog: a tap there is lost ...
        tap(window.estop)
        qtbot.wait(200)
        assert not gateway.controller().estop_latched
    # ... the E-stop window over it is not.
    assert overlay.geometry() == window.estop.rect().translated(
        window.estop.mapToGlobal(QPoint(0, 0))
    )
    tap(overlay.button)
    qtbot.waitUntil(lambda: gateway.controller().estop_latched, timeout=3000)
    assert overlay.fired == 1
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.reject()


def test_the_estop_window_stays_above_a_dialog_shown_after_it(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    overlay = window.estop_overlay
    first = ConfirmDialog("x", ["y"], window)
    first.open()
    qtbot.waitUntil(overlay.isVisible, timeout=2000)
    raised: list[bool] = []
    original = overlay.raise_

    def spy() -> None:
        raised.append(True)
        original()

    overlay.raise_ = spy  # type: ignore[method-assign]
    second = FirstRunDialog(window)  # shown after it, over it: it rises again
    second.open()
    qtbot.waitUntil(lambda: bool(raised), timeout=2000)
    second.reject()
    first.reject()
    qtbot.waitUntil(lambda: not overlay.isVisible(), timeout=2000)  # no dialog: hidden
    first.open()
    qtbot.waitUntil(overlay.isVisible, timeout=2000)
    window.hide()
    qtbot.waitUntil(lambda: not overlay.isVisible(), timeout=2000)  # it leaves with its window
    first.reject()


def test_number_entry_starts_empty_and_the_sign_applies_to_the_number_typed() -> None:
    entry = NumberEntry()
    for key in ("±", "1", "5"):
        entry.key(key)
    assert entry.value == -15.0  # not -20.015 from a pre-filled +20
    for _ in range(2):
        entry.key("⌫")
    assert entry.text == "-"
    entry.key("⌫")
    assert entry.text == ""
    for key in ("0", "1", "5"):
        entry.key(key)
    assert entry.text == "15"  # never "015"
    entry.key("±")
    entry.key("±")
    assert entry.value == 15.0
    for key in (".", "5", "."):
        entry.key(key)
    assert entry.text == "15.5"


def test_the_setpoint_keypad_shows_the_current_value_beside_and_the_result_large(
    qtbot: QtBot,
) -> None:
    dialog = NumberDialog(20.0)
    qtbot.addWidget(dialog)
    assert dialog.entry.property("empty") is True
    assert "+20.0 kW" in dialog.current.text()
    assert not dialog.apply.isEnabled()  # nothing typed, nothing to apply
    for key in ("±", "1", "5"):
        qtbot.mouseClick(dialog.keys[key], LEFT)
    assert dialog.shown.text() == "-15.0 kW"
    assert dialog.said.text() == "charge 15.0 kW"
    qtbot.mouseClick(dialog.apply, LEFT)
    assert dialog.value_kw() == -15.0
    assert dialog.taken == -15.0


def test_a_number_field_takes_the_whole_number_or_refuses_it_with_a_reason(
    qtbot: QtBot,
) -> None:
    field = NumberField("SoC floor", "%", 0.0, 50.0, decimals=1)
    qtbot.addWidget(field)
    field.setText("95")
    assert field.number() == 95.0  # kept whole, not cut to 9
    assert field.problem() == "SoC floor: 95 % is outside 0 to 50 %"
    field.setText("12.25")
    assert field.problem() == "SoC floor: keeps at most 1 decimals"
    field.setText("x1")
    assert field.problem() == 'SoC floor: "x1" is not a number'
    field.setText("")
    assert field.problem() == "SoC floor: type a number"
    field.setText("15,5")
    assert field.problem() is None
    assert field.number() == 15.5
    pad = field.pad()
    qtbot.addWidget(pad)
    for key in ("9", "5"):
        pad.key(key)
    pad.take()
    assert pad.refusal.text() == "SoC floor: 95 % is outside 0 to 50 %"
    assert pad.taken is None  # refused: nothing applied, the pad stays open
    assert pad.keys["±"].isEnabled() is False  # nothing below zero here


def test_the_limits_editor_refuses_a_typed_95_for_the_soc_floor_with_the_reason(
    touch: TouchInput, app: App, qtbot: QtBot, tmp_path: Path
) -> None:
    window, gateway, _ = app
    window.bridge.enable_site_admin(tmp_path / "site.toml")
    login(window, qtbot, "enzo", "314159")
    window.show_page(PAGES.index("Devices"))
    page = window.pages[PAGES.index("Devices")]
    page.tabs.setCurrentIndex(2)  # type: ignore[attr-defined]
    limits = page.limits  # type: ignore[attr-defined]
    floor = limits.fields["soc_floor_pct"]
    qtbot.waitUntil(floor.isVisible, timeout=3000)
    tap(floor)  # the number pad opens for it
    qtbot.waitUntil(lambda: isinstance(touch.open, NumberPad), timeout=2000)
    pad = touch.open
    assert isinstance(pad, NumberPad)
    assert pad.entry_state.text == ""  # empty, the current value beside
    floor_pct = gateway.controller().guard.limits.soc_floor_pct
    assert f"{floor_pct:.1f} %" in pad.current.text()
    for key in ("9", "5"):
        tap(pad.keys[key])
    tap(pad.apply)
    assert "95 % is outside 0 to 50 %" in pad.refusal.text()
    tap(pad.keys["C"])
    for key in ("1", "5"):
        tap(pad.keys[key])
    tap(pad.apply)
    qtbot.waitUntil(lambda: touch.open is None, timeout=2000)
    assert floor.text() == "15.0"
    floor.setText("95")  # a physical keyboard types it whole, too
    qtbot.mouseClick(limits.apply, LEFT)
    assert limits.dialog is None  # no confirmation for a set that cannot be taken
    assert "95 % is outside 0 to 50 %" in limits.result.text()
    assert gateway.controller().guard.limits.soc_floor_pct == floor_pct
    floor.setText("15")
    qtbot.mouseClick(limits.apply, LEFT)
    assert limits.dialog is not None
    text = limits.dialog.text.text()
    assert f"SoC floor: {floor_pct:g} % → 15 %" in text  # with its unit ...
    assert "site.toml" not in text  # ... and no file path
    limits.dialog.reject()


def test_the_keyboard_types_a_name_in_either_layout_and_cancel_keeps_the_field(
    qtbot: QtBot, touch: TouchInput
) -> None:
    field = QLineEdit("admin")
    qtbot.addWidget(field)
    field.show()
    tap(field)
    qtbot.waitUntil(lambda: isinstance(touch.open, KeyboardDialog), timeout=2000)
    keyboard = touch.open
    assert isinstance(keyboard, KeyboardDialog)
    assert keyboard.preview.text() == "admin"  # what is typed shows in the keyboard itself
    for key in keyboard.keys:
        assert key.minimumWidth() >= MIN_PX
        assert key.minimumHeight() >= MIN_PX
    keyboard.clear.click()
    keyboard.layout_code = "es"
    keyboard.relabel()
    assert "ñ" in [b.text() for row in keyboard.rows for b in row]
    keyboard.type_text("Ñandú.2")
    assert keyboard.preview.text() == "Ñandú.2"
    keyboard.language.click()
    assert keyboard.layout_code == "en"
    assert "ñ" not in [b.text() for row in keyboard.rows for b in row]
    keyboard.ok.click()
    assert field.text() == keyboard.preview.text()
    tap(field)
    qtbot.waitUntil(lambda: isinstance(touch.open, KeyboardDialog), timeout=2000)
    second = touch.open
    assert isinstance(second, KeyboardDialog)
    second.type_text("zz")
    second.cancel.click()
    assert field.text() == keyboard.preview.text()  # cancelled: as it was


def test_a_spin_box_tap_opens_the_number_pad_within_its_range(
    touch: TouchInput, app: App, qtbot: QtBot
) -> None:
    window, _, _ = app
    form = _device_form(window, qtbot)
    assert isinstance(form, DeviceDialog)
    qtbot.waitUntil(form.port.isVisible, timeout=2000)
    assert form.port.buttonSymbols() == QAbstractSpinBox.ButtonSymbols.NoButtons
    assert form.profile.currentText() == "sim_bess"  # not a vendor's profile
    tap(form.port)
    qtbot.waitUntil(lambda: isinstance(touch.open, NumberPad), timeout=2000)
    pad = touch.open
    assert isinstance(pad, NumberPad)
    assert pad.title_text == "Port"
    for key in "70000":
        pad.key(key)
    pad.take()
    assert "outside 1 to 65535" in pad.refusal.text()
    pad.key("C")
    for key in "5020":
        pad.key(key)
    pad.take()
    assert form.port.value() == 5020
    form.reject()


def _interactive(widget: QWidget) -> bool:
    return isinstance(widget, QAbstractButton | QComboBox | QAbstractSpinBox | QLineEdit)


def _too_small(root: QWidget) -> list[str]:
    """Every visible, enabled-or-not interactive widget under ``root`` smaller than 44×44 px,
    dropdown rows, tabs and scroll bars included."""
    small = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget.width() == 0:
            continue
        name = f"{type(widget).__name__} {widget.objectName() or ''}"
        text = getattr(widget, "text", lambda: "")()
        if _interactive(widget) and not isinstance(widget, QTabBar):
            if widget.parentWidget() is not None and isinstance(
                widget.parentWidget(), QScrollBar | QTabBar
            ):
                continue
            if widget.width() < MIN_PX or widget.height() < MIN_PX:
                small.append(f"{name}{text!r} {widget.width()}x{widget.height()}")
        if isinstance(widget, QCheckBox) and widget.height() < MIN_PX:
            small.append(f"{name}{text!r} {widget.width()}x{widget.height()}")
        if isinstance(widget, QComboBox) and widget.count():
            row = widget.view().sizeHintForRow(0)
            if row < MIN_PX:
                small.append(f"{name} rows {row} px")
        if isinstance(widget, QTabBar):
            for i in range(widget.count()):
                rect = widget.tabRect(i)
                if rect.height() < MIN_PX or rect.width() < MIN_PX:
                    small.append(f"tab {widget.tabText(i)!r} {rect.width()}x{rect.height()}")
        if (
            isinstance(widget, QTableView)
            and widget.selectionMode() != QAbstractItemView.SelectionMode.NoSelection
            and widget.model() is not None
            and widget.model().rowCount()
            and widget.rowHeight(0) < MIN_PX
        ):
            small.append(f"{name} rows {widget.rowHeight(0)} px (rows are chosen by a tap)")
        if isinstance(widget, QScrollBar):
            extent = (
                widget.width()
                if widget.orientation() == Qt.Orientation.Vertical
                else widget.height()
            )
            if extent < MIN_PX:
                small.append(f"scroll bar {extent} px")
    return small


def test_every_interactive_widget_of_every_page_is_a_44_px_target_at_800x480(
    touch: TouchInput, app: App, qtbot: QtBot, qapp: QApplication
) -> None:
    window, _, _ = app
    apply_theme(qapp, "dark")  # as the app starts: the sizes are the theme's
    window.resize(800, 480)
    login(window, qtbot, "ana", "271828")  # the admin sees every control
    problems: dict[str, list[str]] = {}
    for index, name in enumerate(PAGES):
        window.show_page(index)
        page = window.pages[index]
        tabs = getattr(page, "tabs", None)
        for tab in range(tabs.count() if tabs is not None else 1):
            if tabs is not None:
                tabs.setCurrentIndex(tab)
            qtbot.wait(150)
            found = _too_small(page)
            if found:
                problems[f"{name}/{tab}"] = found
    for name, opener in (
        ("confirmation", _confirm),
        ("keypad", _keypad),
        ("first-run", _first_run),
        ("device form", _device_form),
        ("keyboard", _keyboard),
    ):
        dialog = opener(window, qtbot)
        qtbot.waitUntil(dialog.isVisible, timeout=2000)
        qtbot.wait(100)
        found = _too_small(dialog)
        if found:
            problems[name] = found
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()
    qapp.setStyleSheet("")
    assert not problems, problems
