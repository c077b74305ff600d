"""SR 1.12: the system-use notice is on the screen before any PIN is asked for."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from bessai import notice
from bessai.core.site.gateway import Gateway
from bessai.gui.login import FirstRunDialog, LoginDialog
from bessai.gui.main_window import MainWindow
from tests.gui.conftest import Loop

App = tuple[MainWindow, Gateway, Loop]


@pytest.fixture(autouse=True)
def _shipped_notice() -> Iterator[None]:
    notice.configure(None)
    yield
    notice.configure(None)


class _Window(QWidget):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.languages = SimpleNamespace(current=language)


def _labels_in_order(dialog: QWidget) -> list[str]:
    layout = dialog.layout()
    assert layout is not None
    texts = []
    for i in range(layout.count()):
        item = layout.itemAt(i)
        widget = item.widget() if item is not None else None
        if isinstance(widget, QLabel):
            texts.append(widget.text())
    return texts


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_login_dialog_opens_with_the_shipped_notice_in_the_screens_language(
    qtbot: QtBot, language: str
) -> None:
    window = _Window(language)
    qtbot.addWidget(window)
    dialog = LoginDialog([("olga", "operator")], window)
    labels = _labels_in_order(dialog)
    assert labels[0] == notice.DEFAULT[language]
    assert labels.index(notice.DEFAULT[language]) < labels.index("Who are you?")
    assert dialog.notice.wordWrap()


def test_a_sites_own_notice_replaces_the_shipped_one_on_both_dialogs(qtbot: QtBot) -> None:
    notice.configure("  Planta Los Andes: solo personal de operación autorizado.  ")
    window = _Window("es")
    qtbot.addWidget(window)
    for dialog in (LoginDialog([("olga", "operator")], window), FirstRunDialog(window)):
        assert dialog.notice.text() == "Planta Los Andes: solo personal de operación autorizado."
    notice.configure("   ")
    assert FirstRunDialog(window).notice.text() == notice.DEFAULT["es"]


def _pin(window: MainWindow) -> LoginDialog | None:
    return window.pin


def test_the_apps_login_shows_the_notice_before_the_pin(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    window.set_language("es")
    window.pin = None
    window.login_or_logout()
    qtbot.waitUntil(lambda: _pin(window) is not None, timeout=3000)  # the users are read off-loop
    pad = _pin(window)
    assert pad is not None
    assert pad.notice.text() == notice.DEFAULT["es"]
    assert pad.notice.isVisible()
    assert pad.notice.geometry().bottom() <= pad.stack.geometry().top()
    pad.reject()
