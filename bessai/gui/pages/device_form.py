"""The add/edit device form: link, unit id, profile (registry, file or discovery), a test poll."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import ConnectionTest, CoreBridge, Discovery
from bessai.gui.i18n import is_spanish, t
from bessai.gui.widgets import Segmented

BAUDRATES = [9600, 19200, 38400, 57600, 115200]
DEFAULT_PROFILE = "sim_bess"  # the simulator's: a new form never names a vendor it was not told


class DeviceDialog(QDialog):
    """Fields of one device; "Test connection" polls it once, "Save" adds or replaces it."""

    def __init__(
        self, bridge: CoreBridge, existing: dict[str, Any] | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.existing = existing
        self.setWindowTitle(t("Edit device") if existing else t("Add device"))
        self.name = QLineEdit()
        self.link = Segmented()
        self.link.addItem("Modbus TCP", "tcp")
        self.link.addItem("Modbus RTU", "rtu")
        self.host = QLineEdit()
        self.host.setPlaceholderText("192.168.1.50")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(502)
        self.port.setAccessibleName(t("Port"))
        self.serial = QLineEdit()
        self.serial.setPlaceholderText("/dev/ttyUSB0")
        self.baudrate = QComboBox()
        for rate in BAUDRATES:
            self.baudrate.addItem(str(rate), rate)
        self.baudrate.setCurrentIndex(1)
        self.parity = QComboBox()
        self.parity.addItems(["N", "E", "O"])
        self.stopbits = QComboBox()
        self.stopbits.addItems(["1", "2"])
        self.unit = QSpinBox()
        self.unit.setRange(-1, 255)
        self.unit.setSpecialValueText(t("profile's"))
        self.unit.setValue(-1)
        self.unit.setAccessibleName(t("Unit id"))
        self.interval = QDoubleSpinBox()
        self.interval.setRange(0.1, 3600.0)
        self.interval.setValue(1.0)
        self.interval.setSuffix(" s")
        self.interval.setAccessibleName(t("Poll every"))
        self.profile = QComboBox()
        self.profile.setEditable(True)
        self.profile.addItems(bridge.profile_ids())
        if self.profile.findText(DEFAULT_PROFILE) >= 0:
            self.profile.setCurrentText(DEFAULT_PROFILE)
        self.browse = QPushButton(t("File…"))
        self.browse.clicked.connect(self._browse)
        self.discover_button = QPushButton(t("Discover"))
        self.discover_button.clicked.connect(self._discover)
        profile_row = QHBoxLayout()
        profile_row.addWidget(self.profile, 1)
        profile_row.addWidget(self.browse)
        profile_row.addWidget(self.discover_button)
        # Each link's fields on one row, and the unit beside the poll interval: the form
        # leaves the register table room on an 800x480 screen.
        tcp = _row(self.host, 1, QLabel(t("Port")), self.port)
        rtu = _row(
            self.serial,
            1,
            QLabel(t("Baud rate")),
            self.baudrate,
            QLabel(t("Parity")),
            self.parity,
            QLabel(t("Stop bits")),
            self.stopbits,
        )
        form = QFormLayout()
        # The name and the link on one row: at 800×480 the form fits below the E-stop.
        form.addRow(t("Name"), _row(self.name, 1, self.link, 1))
        form.addRow(t("Host"), tcp)
        form.addRow(t("Serial port"), rtu)
        form.addRow(t("Unit id"), _row(self.unit, 1, QLabel(t("Poll every")), self.interval, 1))
        form.addRow(t("Profile"), profile_row)
        self.form = form
        self.links = (tcp, rtu)
        self.link.currentIndexChanged.connect(self._show_link)
        self._show_link(0)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.verticalHeader().setVisible(False)
        self.table.setHorizontalHeaderLabels(
            [t("Address"), t("Name"), t("Raw words"), t("Value"), t("Unit"), t("Access")]
        )
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        # At 800×480 the form fits below the E-stop: the table takes what is left (its 44 px
        # scroll bars would ask for 184 px), and its columns are cut, not scrolled sideways.
        self.table.setMinimumHeight(64)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.test = QPushButton(t("Test connection"))
        self.test.clicked.connect(self._test)
        self.save = QPushButton(t("Save"))
        self.save.setObjectName("primary")
        self.save.clicked.connect(self._save)
        cancel = QPushButton(t("Cancel"))
        cancel.clicked.connect(self.reject)
        for button in (self.test, self.save, cancel, self.browse, self.discover_button):
            button.setMinimumHeight(48)
        buttons = QHBoxLayout()
        buttons.addWidget(cancel)
        buttons.addWidget(self.test)
        buttons.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.last_test: ConnectionTest | None = None
        self.files: QFileDialog | None = None
        self.saved: object = None
        if existing:
            self._fill(existing)

    def _show_link(self, index: int) -> None:
        """Only the chosen link's row is shown (and takes room)."""
        for i, fields in enumerate(self.links):
            self.form.setRowVisible(fields, i == index)

    def _fill(self, cfg: dict[str, Any]) -> None:
        self.name.setText(cfg["name"])
        serial = cfg.get("serial_port")
        self.link.setCurrentIndex(1 if serial else 0)
        self.host.setText(cfg.get("host") or "")
        self.port.setValue(cfg.get("port") or 502)
        self.serial.setText(serial or "")
        self.baudrate.setCurrentText(str(cfg.get("baudrate", 19200)))
        self.parity.setCurrentText(cfg.get("parity", "N"))
        self.stopbits.setCurrentText(str(cfg.get("stopbits", 1)))
        self.unit.setValue(-1 if cfg.get("unit_id") is None else cfg["unit_id"])
        self.interval.setValue(cfg.get("poll_interval_s", 1.0))
        self.profile.setCurrentText(cfg["profile"])

    def fields(self) -> dict[str, Any]:
        """The form as a device's site-file settings."""
        fields: dict[str, Any] = {
            "name": self.name.text().strip(),
            "profile": self.profile.currentText().strip(),
            "unit_id": None if self.unit.value() < 0 else self.unit.value(),
            "poll_interval_s": round(self.interval.value(), 3),
        }
        if self.existing and self.existing.get("simulated"):
            fields["simulated"] = True
        elif self.link.currentData() == "tcp":
            fields["host"] = self.host.text().strip() or None
            fields["port"] = self.port.value()
        else:
            fields["serial_port"] = self.serial.text().strip() or None
            fields["baudrate"] = int(self.baudrate.currentData())
            fields["parity"] = self.parity.currentText()
            fields["stopbits"] = int(self.stopbits.currentText())
        if self.existing and self.existing.get("limits"):
            fields["limits"] = self.existing["limits"]
        return fields

    def _browse(self) -> None:
        # Window-modal (not the static, application-modal helper): the E-stop stays live.
        self.files = QFileDialog(self, t("Profile"), "", "JSON (*.json)")
        self.files.setOption(QFileDialog.Option.DontUseNativeDialog)
        self.files.setFileMode(QFileDialog.FileMode.ExistingFile)
        self.files.fileSelected.connect(self.profile.setCurrentText)
        self.files.open()

    def _discover(self) -> None:
        host = self.host.text().strip()
        if not host:
            self.message.setText(t("Discovery needs the host (Modbus TCP)"))
            return
        self.message.setText(t("Discovering…"))
        self.discover_button.setEnabled(False)
        unit = None if self.unit.value() < 0 else self.unit.value()
        self.bridge.discover(host, self.port.value(), unit, self._discovered)

    def _discovered(self, result: object) -> None:
        self.discover_button.setEnabled(True)
        if not isinstance(result, tuple):
            self.message.setText(t("Discovery stopped: {0}").format(result))
            return
        found, path = result
        assert isinstance(found, Discovery)
        if not found.units:
            self.message.setText(t("No unit id answered"))
            return
        self.unit.setValue(found.units[0])
        if found.sunspec is not None and path is not None:
            ident = found.sunspec.identity
            self.profile.setCurrentText(str(path))
            self.message.setText(
                t("SunSpec device {0} {1} (firmware {2}), unit {3}: profile saved to {4}").format(
                    ident.get("Mn", "?"),
                    ident.get("Md", "?"),
                    ident.get("Vr", "?"),
                    found.units[0],
                    path,
                )
            )
        elif found.suggestions:
            self.profile.setCurrentText(found.suggestions[0].profile_id)
            self.message.setText(
                t("No SunSpec map; unit {0} answers; matching profiles: {1}").format(
                    found.units[0], ", ".join(s.profile_id for s in found.suggestions)
                )
            )
        else:
            self.message.setText(
                t("No SunSpec map and no shipped profile fits; unit {0} answers").format(
                    found.units[0]
                )
            )

    def _test(self) -> None:
        self.message.setText(t("Testing the connection…"))
        self.test.setEnabled(False)
        self.bridge.test_connection(self.fields(), self._tested)

    def _tested(self, result: object) -> None:
        self.test.setEnabled(True)
        if not isinstance(result, ConnectionTest):
            self.message.setText(str(result))
            return
        self.last_test = result
        ident = ", ".join(f"{k} = {v}" for k, v in result.identity.items())
        if result.ok:
            said = t("Connection OK: {0} unit {1}, {2} of {3} registers read").format(
                result.endpoint, result.unit_id, result.read, result.registers
            )
        else:
            detail = result.detail_es if is_spanish(self) and result.detail_es else result.detail
            said = t("Connection failed: {0}").format(detail)
        self.message.setText(said + (f"\n{ident}" if ident else ""))
        self.message.setProperty("severity", "normal" if result.ok else "trip")
        self.table.setRowCount(len(result.rows))
        for r, row in enumerate(result.rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))

    def _save(self) -> None:
        self.save.setEnabled(False)
        fields = self.fields()
        if self.existing:
            self.bridge.update_device(self.existing["name"], fields, self._saved)
        else:
            self.bridge.add_device(fields, self._saved)

    def _saved(self, result: object) -> None:
        self.save.setEnabled(True)
        self.saved = result
        if result == "ok":
            self.accept()
        else:
            self.message.setText(str(result))


def _row(*parts: QWidget | int) -> QWidget:
    """Widgets side by side; an int after a widget is its stretch."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    widgets: list[QWidget | int] = list(parts)
    for i, part in enumerate(widgets):
        if isinstance(part, QWidget):
            stretch = widgets[i + 1] if i + 1 < len(widgets) else 0
            layout.addWidget(part, stretch if isinstance(stretch, int) else 0)
    return row
