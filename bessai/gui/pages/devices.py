"""Devices (commissioning): connection and poll statistics, the live register table, a register write."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission, result_text
from bessai.gui.i18n import is_spanish, t
from bessai.gui.pages.commission import CommissionTab
from bessai.gui.pages.limits import LimitsTab
from bessai.gui.pages.site_devices import SiteDevicesTab
from bessai.gui.widgets import ResultLabel, age_text


class DevicesPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.device = QComboBox()
        self.device.addItems(bridge.device_names())
        self.stats = QLabel()
        self.stats.setWordWrap(True)
        self.table = QTableWidget(0, 6)
        self.table.verticalHeader().setVisible(False)
        # Read, not chosen: no row selection (nothing a finger would have to hit).
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        # Every column as wide as its contents (names whole); the last one takes what is left.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        # Raw words run long (a string, a 64-bit counter): a fixed width, the rest elided.
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(2, 120)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.register = QComboBox()
        self.value = QDoubleSpinBox()
        self.value.setRange(-1e9, 1e9)
        self.value.setDecimals(3)
        self.write = QPushButton()
        self.write.clicked.connect(self._write)
        self.result = ResultLabel(lambda r: result_text(r, is_spanish(self)))
        row = QHBoxLayout()
        row.addWidget(self.register, 2)
        row.addWidget(self.value, 1)
        row.addWidget(self.write, 1)
        self.title = QLabel()
        self.title.setObjectName("header")
        registers = QWidget()
        live = QVBoxLayout(registers)
        # The device beside its statistics, and no sideways scroll bar (44 px for a finger):
        # at 800×480 the register table keeps several rows.
        top = QHBoxLayout()
        top.addWidget(self.device)
        top.addWidget(self.stats, 1)
        live.addLayout(top)
        live.addWidget(self.table, 1)
        live.addLayout(row)
        live.addWidget(self.result)
        self.site = SiteDevicesTab(bridge)
        self.limits = LimitsTab(bridge)
        self.commission = CommissionTab(bridge)
        self.tabs = QTabWidget()
        for tab in (registers, self.site, self.limits, self.commission):
            self.tabs.addTab(tab, "")
        self.tabs.currentChanged.connect(lambda _: self.refresh())
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs, 1)
        self.device.currentTextChanged.connect(self._device_changed)
        self._device_changed(self.device.currentText())
        self.retranslate()
        self._last = 0.0
        bridge.text_frame.connect(self.refresh)

    def _device_changed(self, name: str) -> None:
        self.register.clear()
        info = self.bridge.device_info(name)
        if info is not None:
            self.register.addItems(info.writable)

    def _write(self) -> None:
        self.bridge.write_register(
            self.device.currentText(),
            self.register.currentText(),
            self.value.value(),
            self.result.show_result,
        )

    def refresh(self) -> None:
        self.result.render_now()
        if not self.isVisible():
            return
        names = self.bridge.device_names()
        if [self.device.itemText(i) for i in range(self.device.count())] != names:
            chosen = self.device.currentText()
            self.device.clear()
            self.device.addItems(names)
            if chosen in names:
                self.device.setCurrentText(chosen)
        tab = self.tabs.currentWidget()
        if tab is self.site:
            self.site.refresh()
        elif tab is self.limits:
            self.limits.refresh_scopes()
            self.limits.refresh()
        elif tab is self.commission:
            self.commission.refresh()
        if time.monotonic() - self._last < 1.0:
            return
        self._last = time.monotonic()
        name = self.device.currentText()
        if not name:
            return
        status = next((s for s in self.bridge.statuses() if s.name == name), None)
        dev = self.bridge.device_info(name)
        if status is not None and dev is not None:
            p50, p95 = status.latency_quantile_s(0.5), status.latency_quantile_s(0.95)
            # At 800×480 one line, so that the register table keeps its rows.
            short = (
                f"{status.endpoint}  ·  {t('up') if status.up else t('DOWN')}  ·  "
                f"{t('last sample')} {age_text(status.last_sample_age_s())}  ·  "
                f"{status.polls_ok} ok / {status.polls_failed} {t('failed')}"
            )
            full = (
                f"{status.endpoint}  ·  {dev.manufacturer} {dev.model}  ·  "
                f"{t('up') if status.up else t('DOWN')}  ·  {t('last sample')} {age_text(status.last_sample_age_s())}\n"
                f"{t('polls')} {status.polls_ok} ok / {status.polls_failed} {t('failed')}  ·  "
                f"p50 {0 if p50 is None else p50 * 1000:.1f} ms  p95 {0 if p95 is None else p95 * 1000:.1f} ms  ·  "
                f"{t('requests per poll')} {dev.requests_per_poll}  ·  {t('reconnects')} {dev.reconnects}  ·  "
                f"{t('timeouts')} {dev.timeouts}  ·  {t('exceptions')} {dev.exceptions}"
            )
            self.stats.setText(short if self.width() < 1000 else full)
        rows = self.bridge.register_rows(name)
        doubt = self.bridge.unverified_registers(name)  # marked beside the name
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                if c == 1 and text in doubt:
                    text = f"{text} ⚠ {t('unverified')}"
                item = self.table.item(r, c)
                if item is None:
                    self.table.setItem(r, c, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)
        self.write.setEnabled(
            self.bridge.may(Permission.ENGINEER) and dev is not None and dev.controllable
        )

    def restyle(self) -> None:
        self.commission.restyle()

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        compact = self.height() < 420
        self.title.setVisible(not compact)  # the rail names the page; the rows need the room
        self.stats.setWordWrap(not compact)
        self._last = 0.0
        super().resizeEvent(event)  # type: ignore[arg-type]

    def retranslate(self) -> None:
        self.title.setText(t("Devices"))
        for i, text in enumerate(("Registers", "Site devices", "Limits", "Commissioning")):
            self.tabs.setTabText(i, t(text))
        self.site.retranslate()
        self.limits.retranslate()
        self.commission.retranslate()
        self.table.setHorizontalHeaderLabels(
            [t("Address"), t("Name"), t("Raw words"), t("Value"), t("Unit"), t("Access")]
        )
        self.write.setText(t("Write (engineer)"))
