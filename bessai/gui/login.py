"""Login on a touch panel: a tile per user (name and role, never a PIN), then a PIN pad.

A new site has no accounts: on the local console (not over SSH or a remote
display) the dialog offers to create the administrator instead.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.i18n import t

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]


def local_console() -> bool:
    """Whether the screen is the machine's own (no SSH session, no remote X display)."""
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT"):
        return False
    display = os.environ.get("DISPLAY", "")
    return not display or display.startswith(":")


def refusal_text(code: str) -> str:
    """A refused login or account change, in the screen's language."""
    return {
        "bad_credentials": t("Wrong PIN or password"),
        "locked": t("Account locked for a while after too many failures"),
        "weak_secret": t("A PIN needs at least 6 digits, not all the same"),
        "bad_name": t("A name is 2-32 characters: a-z, 0-9, '_', '.', '-', starting with a letter"),
        "mismatch": t("The two PINs differ"),
        "exists": t("That user already exists"),
        "first_admin": t("Accounts exist already: log in"),
        "forbidden": t("Only an admin may add users"),
    }.get(code, t("Login refused"))


def keypad(target: QLineEdit | None, on_ok: object) -> QGridLayout:
    """A 3×4 PIN pad of 72×56 px keys typing into ``target`` (or the focused field)."""
    grid = QGridLayout()
    for i, key in enumerate(KEYS):
        button = QPushButton(key)
        button.setMinimumSize(72, 56)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setObjectName("primary" if key == "OK" else "")

        def press(_: bool = False, k: str = key, b: QPushButton = button) -> None:
            field = target
            if field is None:
                focused = b.window().focusWidget()
                field = focused if isinstance(focused, QLineEdit) else None
            if k == "OK":
                on_ok()  # type: ignore[operator]
            elif field is not None:
                field.setText(field.text()[:-1] if k == "⌫" else field.text() + k)

        button.clicked.connect(press)
        grid.addWidget(button, i // 3, i % 3)
    return grid


class LoginDialog(QDialog):
    """User tiles, then the PIN pad of the chosen user; Cancel on both."""

    submitted = Signal(str, str)

    def __init__(self, users: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(t("Log in"))
        self.user = ""
        self.stack = QStackedWidget()
        self.tiles: list[QPushButton] = []
        picker = QWidget()
        tiles = QGridLayout(picker)
        for i, (name, role) in enumerate(users):
            tile = QPushButton(f"{name}\n{t(role)}")
            tile.setObjectName("tile")
            tile.setMinimumSize(150, 72)  # a gloved finger, theme or not
            tile.setProperty("user", name)
            tile.clicked.connect(lambda _=False, n=name, r=role: self.choose(n, r))
            tiles.addWidget(tile, i // 3, i % 3)
            self.tiles.append(tile)
        pad = QWidget()
        self.who = QLabel()
        self.who.setObjectName("header")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText(t("PIN or password"))
        self.secret.returnPressed.connect(self._submit)
        self.back = QPushButton(t("Other user"))
        self.back.clicked.connect(lambda: self.stack.setCurrentIndex(0))
        pad_layout = QVBoxLayout(pad)
        pad_layout.addWidget(self.who)
        pad_layout.addWidget(self.secret)
        pad_layout.addLayout(keypad(self.secret, self._submit))
        pad_layout.addWidget(self.back)
        self.stack.addWidget(picker)
        self.stack.addWidget(pad)
        self.message = QLabel("")
        self.message.setObjectName("refused")
        self.message.setWordWrap(True)
        self.cancel = QPushButton(t("Cancel"))
        self.cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(t("Who are you?")))
        layout.addWidget(self.stack)
        layout.addWidget(self.message)
        layout.addWidget(self.cancel)

    def choose(self, name: str, role: str) -> None:
        self.user = name
        self.who.setText(f"{name} ({t(role)})")
        self.secret.clear()
        self.message.clear()
        self.stack.setCurrentIndex(1)
        self.secret.setFocus()

    def _submit(self) -> None:
        if self.user:
            self.submitted.emit(self.user, self.secret.text())

    def refuse(self, code: str) -> None:
        self.secret.clear()
        self.message.setText(refusal_text(code))


class FirstRunDialog(QDialog):
    """Creates the site's administrator: a name and a PIN typed twice."""

    submitted = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(t("Create the administrator"))
        intro = QLabel(
            t("This site has no accounts yet. Create the administrator (local console only).")
        )
        intro.setWordWrap(True)
        self.name = QLineEdit("admin")
        self.name.setPlaceholderText(t("User"))
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText(t("New PIN (6 digits or more)"))
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        self.again.setPlaceholderText(t("The same PIN again"))
        self.message = QLabel("")
        self.message.setObjectName("refused")
        self.message.setWordWrap(True)
        self.cancel = QPushButton(t("Cancel"))
        self.cancel.clicked.connect(self.reject)
        fields = QVBoxLayout()
        for w in (intro, self.name, self.secret, self.again, self.message, self.cancel):
            fields.addWidget(w)
        row = QHBoxLayout(self)
        row.addLayout(fields, 1)
        row.addLayout(keypad(None, self._submit))
        self.secret.setFocus()

    def _submit(self) -> None:
        self.message.clear()
        if self.secret.text() != self.again.text():
            self.refuse("mismatch")
            return
        self.submitted.emit(self.name.text().strip(), self.secret.text())

    def refuse(self, code: str) -> None:
        self.secret.clear()
        self.again.clear()
        self.message.setText(refusal_text(code))
        self.secret.setFocus()
