"""The site's devices: add, edit (test connection first) and remove, without a restart."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission
from bessai.gui.i18n import t
from bessai.gui.pages.device_form import DeviceDialog
from bessai.gui.widgets import ConfirmDialog, ResultLabel, said


class SiteDevicesTab(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.table = QTableWidget(0, 4)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(48)  # a row is tapped to choose it
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.add = QPushButton(t("Add device"))
        self.edit = QPushButton(t("Edit"))
        self.remove = QPushButton(t("Remove"))
        for button in (self.add, self.edit, self.remove):
            button.setMinimumHeight(48)
        self.add.setObjectName("primary")
        self.add.clicked.connect(lambda: self.open_form(None))
        self.edit.clicked.connect(lambda: self.open_form(self.selected()))
        self.remove.clicked.connect(self._confirm_remove)
        self.result = ResultLabel(said)
        self.hint = QLabel()
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.add)
        row.addWidget(self.edit)
        row.addWidget(self.remove)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.result)
        layout.addWidget(self.hint)
        self.form: DeviceDialog | None = None
        self.dialog: ConfirmDialog | None = None
        self._shown: list[str] = []

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return None if item is None else item.text()

    def open_form(self, name: str | None) -> None:
        existing = None if name is None else self.bridge.device_config(name)
        self.form = DeviceDialog(self.bridge, existing, self)
        self.form.accepted.connect(self._saved)
        self.form.open()

    def _saved(self) -> None:
        self.result.show_result(lambda: t("Device saved and polling"))
        self.refresh(force=True)

    def _confirm_remove(self) -> None:
        name = self.selected()
        if name is None:
            return
        self.dialog = ConfirmDialog(
            t("Remove device"),
            [
                t("{0}: to Standby at zero power, then no longer polled").format(name),
                t("The site file keeps a backup of the previous version"),
            ],
            self,
        )
        self.dialog.accepted.connect(lambda: self.bridge.remove_device(name, self._removed))
        self.dialog.open()

    def _removed(self, result: object) -> None:
        self.result.show_result((lambda: t("Device removed")) if result == "ok" else str(result))
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        self.result.render_now()
        names = self.bridge.device_names()
        if force or names != self._shown:
            self._shown = names
            self.table.setRowCount(len(names))
            for r, name in enumerate(names):
                cfg = self.bridge.device_config(name) or {}
                info = self.bridge.device_info(name)
                link = (
                    t("simulated")
                    if cfg.get("simulated")
                    else cfg.get("serial_port") or f"{cfg.get('host')}:{cfg.get('port') or ''}"
                )
                values = [
                    name,
                    str(cfg.get("profile", "")),
                    str(link),
                    "" if info is None else f"{info.manufacturer} {info.model}",
                ]
                for c, text in enumerate(values):
                    self.table.setItem(r, c, QTableWidgetItem(text))
        engineer = self.bridge.may(Permission.ENGINEER) and self.bridge.site_file is not None
        for button in (self.add, self.edit, self.remove):
            button.setEnabled(engineer)
        self.hint.setText(
            t("Saved to {0}").format(self.bridge.site_file)
            if self.bridge.site_file is not None
            else t("This site's devices come from the environment: not editable here")
        )

    def retranslate(self) -> None:
        self.table.setHorizontalHeaderLabels([t("Name"), t("Profile"), t("Link"), t("Model")])
        self.add.setText(t("Add device"))
        self.edit.setText(t("Edit"))
        self.remove.setText(t("Remove"))
        self.refresh(force=True)
