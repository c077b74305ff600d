"""Login on a touch panel: a tile per user (name and role, never a PIN), then a PIN pad.

A new site has no accounts: on the local console (not over SSH or a remote
display) the dialog offers to create the administrator instead. Both show
the system-use notice (SR 1.12) above everything they ask.
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
from bessai.notice import notice

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
WIDE_PX = 720  # the dialogs' width where the screen has it (the kiosk's is 800)


def local_console() -> bool:
    """Whether the screen is the machine's own (no SSH session, no remote X display)."""
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT"):
        return False
    display = os.environ.get("DISPLAY", "")
    return not display or display.startswith(":")


def notice_label(parent: QWidget | None) -> QLabel:
    """The system-use notice in the language of the window that opens the dialog."""
    languages = getattr(parent, "languages", None)
    label = QLabel(notice(getattr(languages, "current", "en")))
    label.setObjectName("notice")
    label.setWordWrap(True)
    return label


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
    """A 3×4 PIN pad of 72×52 px keys typing into ``target`` (or the focused field)."""
    grid = QGridLayout()
    for i, key in enumerate(KEYS):
        button = QPushButton(key)
        button.setMinimumSize(72, 52)
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
        self.back.clicked.connect(self._other_user)
        # The pad beside the user and the field, not below them: at 800×480 the dialog keeps
        # its Cancel on screen (a password, not a PIN, is typed on the on-screen keyboard).
        beside = QVBoxLayout()
        beside.addWidget(self.who)
        beside.addWidget(self.secret)
        beside.addWidget(self.back)
        beside.addStretch(1)
        pad_layout = QHBoxLayout(pad)
        pad_layout.setContentsMargins(0, 0, 0, 0)
        pad_layout.addLayout(beside, 1)
        pad_layout.addLayout(keypad(self.secret, self._submit))
        self.stack.addWidget(picker)
        self.stack.addWidget(pad)
        self.message = QLabel("")
        self.message.setObjectName("refused")
        self.message.setWordWrap(True)
        self.cancel = QPushButton(t("Cancel"))
        self.cancel.clicked.connect(self.reject)
        self.notice = notice_label(parent)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.cancel)
        self.question = QLabel(t("Who are you?"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.question)
        layout.addWidget(self.stack)
        layout.addLayout(bottom)
        self.setMinimumWidth(WIDE_PX)  # the notice in a few long lines, not many short ones

    def choose(self, name: str, role: str) -> None:
        self.user = name
        self.who.setText(f"{name} ({t(role)})")
        self.secret.clear()
        self.message.clear()
        self.stack.setCurrentIndex(1)
        self.question.setVisible(False)  # the user is named above the field now
        self.secret.setFocus()

    def _other_user(self) -> None:
        self.stack.setCurrentIndex(0)
        self.question.setVisible(True)

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
        for pin in (self.secret, self.again):
            pin.setProperty("osk", False)  # digits only: the pad beside types them
        self.message = QLabel("")
        self.message.setObjectName("refused")
        self.message.setWordWrap(True)
        self.cancel = QPushButton(t("Cancel"))
        self.cancel.clicked.connect(self.reject)
        self.notice = notice_label(parent)
        fields = QVBoxLayout()
        for w in (self.name, self.secret, self.again, self.message, self.cancel):
            fields.addWidget(w)
        fields.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(fields, 1)
        row.addLayout(keypad(None, self._submit))
        # The notice and the intro across the whole width: wrapped, not clipped, at 800×480.
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(intro)
        layout.addLayout(row)
        self.setMinimumWidth(WIDE_PX)
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
