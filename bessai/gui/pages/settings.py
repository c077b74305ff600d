"""Settings: site and devices, language, theme, users (admin)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission, result_text
from bessai.gui.i18n import LANGUAGES, is_spanish, t
from bessai.gui.login import refusal_text
from bessai.gui.widgets import ConfirmDialog, ResultLabel

ROLES = ["viewer", "operator", "engineer", "admin"]


class SettingsPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.title = QLabel()
        self.title.setObjectName("header")
        self.site = QLabel()
        self.site.setWordWrap(True)
        self.language = QComboBox()
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.theme = QComboBox()
        self.theme.addItem("Dark", "dark")
        self.theme.addItem("Light", "light")
        self.users = QLabel()
        self.new_user = QLineEdit()
        self.new_secret = QLineEdit()
        self.new_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_role = QComboBox()
        for role in ROLES:
            self.new_role.addItem(t(role), role)
        self.add_user = QPushButton()
        self.add_user.clicked.connect(self._add_user)
        self.result = ResultLabel(self._result_text)
        add_row = QHBoxLayout()
        for w in (self.new_user, self.new_secret, self.new_role, self.add_user):
            add_row.addWidget(w)
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
        for w in (self.account, self.account_secret, self.reset, self.unlock, self.remove):
            manage_row.addWidget(w)
        self.dialog: ConfirmDialog | None = None
        self.language_label = QLabel()
        self.theme_label = QLabel()
        self.form = QFormLayout()
        self.form.addRow(self.language_label, self.language)
        self.form.addRow(self.theme_label, self.theme)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.site)
        layout.addLayout(self.form)
        layout.addWidget(self.users)
        layout.addLayout(add_row)
        layout.addLayout(manage_row)
        layout.addWidget(self.result)
        layout.addStretch(1)
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
        self.refresh()
