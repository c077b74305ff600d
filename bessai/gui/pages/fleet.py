"""Fleet (read-only): every site's latest state from the fleet's telemetry subscription.

Shown when the app is given a subscription (configured by the engineer; the
operator is told so in words, not by setting names); it pulls only while the
page is on screen. A site silent for too long is stale
and drawn in the warning colour.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from bessai.gui.bridge import CoreBridge
from bessai.gui.formatting import fmt, power_text
from bessai.gui.i18n import t
from bessai.gui.theme import current_palette

PULL_EVERY_MS = 2000
ROW_HEIGHT_PX = 48  # a touch target's height


class FleetPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.title = QLabel()
        self.title.setObjectName("header")
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 8)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT_PX)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.error = ""
        self.timer = QTimer(self)
        self.timer.setInterval(PULL_EVERY_MS)
        self.timer.timeout.connect(self.pull)
        self.retranslate()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        if self.bridge.fleet is not None:
            self.pull()
            self.timer.start()

    def hideEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        super().hideEvent(event)  # type: ignore[arg-type]

    def pull(self) -> None:
        self.bridge.pull_fleet(self._pulled)

    def _pulled(self, result: object) -> None:
        self.error = result if isinstance(result, str) else ""
        self.refresh()

    def refresh(self) -> None:
        fleet = self.bridge.fleet
        if fleet is None:
            self.status.setText(
                t("This screen shows no fleet: an engineer can connect it to the fleet's telemetry")
            )
            self.table.setRowCount(0)
            return
        rows = fleet.rows()
        sites = len(fleet.sites)
        stale = len({r.site_id for r in rows if r.stale})
        text = t("{0} sites, {1} stale").format(sites, stale)
        if self.error:
            text += " · " + t("cannot read the subscription: {0}").format(self.error)
        self.status.setText(text)
        self.table.setRowCount(len(rows))
        warn = QBrush(QColor(current_palette().warn))
        for r, row in enumerate(rows):
            age = t("{0:.0f} s ago").format(row.age_s) + (f" · {t('STALE')}" if row.stale else "")
            cells = [
                row.site_id,
                row.device,
                fmt(row.soc_pct),
                power_text(row.power_kw),
                row.mode,
                row.alarms,
                row.outbox,
                age,
            ]
            for c, text_ in enumerate(cells):
                item = QTableWidgetItem(text_)
                if row.stale:
                    item.setForeground(warn)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def retranslate(self) -> None:
        self.title.setText(t("Fleet"))
        self.table.setHorizontalHeaderLabels(
            [
                t("Site"),
                t("Device"),
                "SoC %",
                t("Power kW"),
                t("Mode"),
                t("Alarms"),
                t("Outbox"),
                t("Age"),
            ]
        )
        self.refresh()
