"""Settings: site and devices, language, theme, users (admin).

Choices a mis-tap must not flip (a user's role, the language, the theme) are
segmented buttons, every option in sight, not dropdowns; the page scrolls at
800×480 rather than squeezing its fields below a finger's size.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission, result_text
from bessai.gui.i18n import LANGUAGES, is_spanish, t
from bessai.gui.login import refusal_text
from bessai.gui.pages.scada import ScadaPanel
from bessai.gui.widgets import ConfirmDialog, ResultLabel, Segmented

ROLES = ["viewer", "operator", "engineer", "admin"]


class SettingsPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.title = QLabel()
        self.title.setObjectName("header")
        self.site = QLabel()
        self.site.setWordWrap(True)
        self.language = Segmented()
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.theme = Segmented()
        self.theme.addItem("Dark", "dark")
        self.theme.addItem("Light", "light")
        self.users = QLabel()
        self.users.setWordWrap(True)
        self.new_user = QLineEdit()
        self.new_secret = QLineEdit()
        self.new_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_role = Segmented()
        for role in ROLES:
            self.new_role.addItem(t(role), role)
        self.add_user = QPushButton()
        self.add_user.clicked.connect(self._add_user)
        self.result = ResultLabel(self._result_text)
        add_row = QHBoxLayout()
        for field in (self.new_user, self.new_secret):
            add_row.addWidget(field, 1)
        add_row.addWidget(self.add_user)
        role_row = QHBoxLayout()
        role_row.addWidget(self.new_role, 1)
        self.account = QComboBox()
        self.account_secret = QLineEdit()
        self.account_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.reset = QPushButton()
        self.reset.clicked.connect(self._reset)
        self.unlock = QPushButton()
        self.unlock.clicked.connect(
            lambda: self.bridge.unlock_user(self.account.currentText(), self._changed)
        )
        self.remove = QPushButton()
        self.remove.clicked.connect(self._confirm_remove)
        manage_row = QHBoxLayout()
        manage_row.addWidget(self.account)
        manage_row.addWidget(self.account_secret)
        actions_row = QHBoxLayout()
        for action in (self.reset, self.unlock, self.remove):
            actions_row.addWidget(action)
        self.dialog: ConfirmDialog | None = None
        self.language_label = QLabel()
        self.theme_label = QLabel()
        screen_row = QHBoxLayout()
        screen_row.addWidget(self.language_label)
        screen_row.addWidget(self.language, 1)
        screen_row.addSpacing(16)
        screen_row.addWidget(self.theme_label)
        screen_row.addWidget(self.theme, 1)
        body = QWidget()
        content = QVBoxLayout(body)
        content.setContentsMargins(0, 0, 8, 0)
        content.addWidget(self.title)
        content.addWidget(self.site)
        content.addLayout(screen_row)
        content.addWidget(self.users)
        content.addLayout(add_row)
        content.addLayout(role_row)
        content.addLayout(manage_row)
        content.addLayout(actions_row)
        content.addWidget(self.result)
        # The grid operator's link, where the site file has one.
        self.scada = ScadaPanel(bridge) if bridge.scada_configured() else None
        if self.scada is not None:
            content.addWidget(self.scada)
        content.addStretch(1)
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        bridge.session_changed.connect(self.refresh)
        self.retranslate()

    def _add_user(self) -> None:
        self.bridge.add_user(
            self.new_user.text().strip(),
            str(self.new_role.currentData()),
            self.new_secret.text(),
            self._added,
        )
        self.new_secret.clear()

    def _reset(self) -> None:
        self.bridge.reset_user(
            self.account.currentText(), self.account_secret.text(), self._changed
        )
        self.account_secret.clear()

    def _confirm_remove(self) -> None:
        name = self.account.currentText()
        if not name:
            return
        self.dialog = ConfirmDialog(
            t("Remove user"), [t("{0} can no longer log in").format(name)], self
        )
        self.dialog.accepted.connect(lambda: self.bridge.remove_user(name, self._changed))
        self.dialog.open()

    def _changed(self, result: object) -> None:
        self.result.show_result(("done", self.account.currentText()) if result == "ok" else result)
        self.refresh()

    def _result_text(self, result: object) -> str:
        if isinstance(result, tuple) and result[0] == "done":
            return t("Account changed: {0}").format(result[1])
        if isinstance(result, tuple):
            return t("User added: {0} ({1})").format(result[0], t(result[1]))
        if isinstance(result, str):
            return refusal_text(result)
        return result_text(result, is_spanish(self))

    def _added(self, result: object) -> None:
        self.result.show_result(result)
        self.refresh()

    def refresh(self) -> None:
        infos = [self.bridge.device_info(name) for name in self.bridge.device_names()]
        devices = ", ".join(
            f"{d.name} ({d.manufacturer} {d.model}, {d.endpoint})" for d in infos if d is not None
        )
        self.site.setText(f"{t('Site')}: {self.bridge.site_id}\n{t('Devices')}: {devices}")
        self.result.render_now()
        admin = self.bridge.may(Permission.ADMIN)
        self.bridge.fetch_users(self._show_users)
        for w in (
            self.new_user,
            self.new_secret,
            self.new_role,
            self.add_user,
            self.account,
            self.account_secret,
            self.reset,
            self.unlock,
            self.remove,
        ):
            w.setEnabled(admin)

    def _show_users(self, users: object) -> None:
        if isinstance(users, list):
            listed = ", ".join(f"{n} ({t(r.name.lower())})" for n, r in users)
            self.users.setText(t("Users") + ": " + listed)
            names = [n for n, _ in users]
            if [self.account.itemText(i) for i in range(self.account.count())] != names:
                chosen = self.account.currentText()
                self.account.clear()
                self.account.addItems(names)
                if chosen in names:
                    self.account.setCurrentText(chosen)

    def retranslate(self) -> None:
        self.title.setText(t("Settings"))
        self.language_label.setText(t("Language"))
        self.theme_label.setText(t("Theme"))
        for i, role in enumerate(ROLES):
            self.new_role.setItemText(i, t(role))
        self.theme.setItemText(0, t("Dark"))
        self.theme.setItemText(1, t("Light"))
        self.new_user.setPlaceholderText(t("New user"))
        self.new_secret.setPlaceholderText(t("PIN or password"))
        self.add_user.setText(t("Add user (admin)"))
        self.account_secret.setPlaceholderText(t("New PIN or password"))
        self.reset.setText(t("Reset PIN"))
        self.unlock.setText(t("Unlock"))
        self.remove.setText(t("Remove"))
        if self.scada is not None:
            self.scada.retranslate()
        self.refresh()
