"""A commissioning run, walked through: tests chosen, progress, results and the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import TESTS, CoreBridge, Permission
from bessai.gui.i18n import is_spanish, t
from bessai.gui.report import TEST_TITLES, add_plots, report_html, write_pdf
from bessai.gui.theme import current_palette

STATES = {
    "running": "running",
    "pass": "PASS",
    "fail": "FAIL",
    "waiting for the link to drop": "pull the cable (or drop the simulated link) now",
    "link down; waiting for it to come back": "link down: reconnect it",
}


def screen_html(report_html_text: str) -> str:
    """The report's HTML in the screen's theme: the PDF's ink colours (dark on paper) become the
    palette's, so that the preview is no white panel in the dark theme."""
    p = current_palette()
    for ink, colour in (("#1a1a1a", p.text), ("#555555", p.muted), ("#b00020", p.bad)):
        report_html_text = report_html_text.replace(ink, colour)
    return report_html_text


class CommissionTab(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.device = QComboBox()
        self.checks: dict[str, QCheckBox] = {}
        tests_row = QGridLayout()
        for i, name in enumerate(TESTS):
            box = QCheckBox()
            box.setMinimumHeight(48)
            box.setChecked(name != "comms_loss")
            self.checks[name] = box
            tests_row.addWidget(box, *divmod(i, 3))
        self.start = QPushButton(t("Start tests (engineer)"))
        self.start.setObjectName("primary")
        self.start.setMinimumHeight(48)
        self.start.clicked.connect(self._start)
        self.drop = QPushButton(t("Drop the simulated link for 5 s"))
        self.drop.setMinimumHeight(48)
        self.drop.clicked.connect(self._drop)
        self.progress = QListWidget()
        self.progress.setSelectionMode(QListWidget.SelectionMode.NoSelection)  # read, not chosen
        self.preview = QTextBrowser()
        self.saved = QLabel()
        self.saved.setWordWrap(True)
        self.saved.setObjectName("muted")
        self.doubt = QLabel()  # the device's unverified power: what a passing run verifies
        self.doubt.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.device, 1)
        top.addWidget(self.start, 2)
        top.addWidget(self.drop, 2)
        body = QHBoxLayout()
        body.addWidget(self.progress, 1)
        body.addWidget(self.preview, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(tests_row)
        layout.addWidget(self.doubt)
        layout.addLayout(body, 1)
        layout.addWidget(self.saved)
        self.report: dict[str, Any] | None = None
        self.report_path: Path | None = None
        self.retranslate()

    def _title(self, test: str) -> str:
        es, en = TEST_TITLES.get(test, (test, test))
        return es if is_spanish(self) else en

    def _start(self) -> None:
        tests = [name for name, box in self.checks.items() if box.isChecked()]
        self.progress.clear()
        self.preview.clear()
        self.report = None
        why = self.bridge.start_commissioning(
            self.device.currentText(), tests, self._progress, self._finished
        )
        if why is not None:
            self.progress.addItem(why)
        self.refresh()

    def _progress(self, test: str, state: str) -> None:
        self.progress.addItem(f"{self._title(test)}: {t(STATES.get(state, state))}")
        self.progress.scrollToBottom()
        self.refresh()

    def _drop(self) -> None:
        if not self.bridge.drop_simulated_link(self.device.currentText(), 5.0):
            self.progress.addItem(t("Not a simulated device: pull the cable"))

    def _finished(self, report: object) -> None:
        if not isinstance(report, dict):
            self.progress.addItem(str(report))
            self.refresh()
            return
        self.report = report
        language = "es" if is_spanish(self) else "en"
        self._show_report(report, language)
        self.report_path = self.bridge.write_report(
            report, lambda r, path: write_pdf(r, path, language), self._written
        )
        self.refresh()

    def _written(self, result: object) -> None:
        self.saved.setText(t("Report saved: {0} and .json").format(result))

    def refresh(self) -> None:
        names = self.bridge.device_names()
        if [self.device.itemText(i) for i in range(self.device.count())] != names:
            chosen = self.device.currentText()
            self.device.clear()
            self.device.addItems(names)
            self.device.setCurrentText(chosen)
        running = self.bridge.commissioning is not None
        doubt = self.bridge.unverified_devices().get(self.device.currentText(), ())
        self.doubt.setVisible(bool(doubt))
        self.doubt.setText(
            t(
                "Unverified power registers: {0}. Starting confirms them for the run's Manual; "
                "a run that passes with its step test verifies them."
            ).format(", ".join(doubt))
        )
        self.start.setEnabled(self.bridge.may(Permission.ENGINEER) and not running)
        self.drop.setVisible(self.bridge.is_simulated(self.device.currentText()))
        self.drop.setEnabled(running)
        # Greyed, it says why: the link is dropped for the comms-loss test, while it runs.
        self.drop.setText(
            t("Drop the simulated link for 5 s") if running else t("Drop the link (during a test)")
        )

    def _show_report(self, report: dict[str, Any], language: str) -> None:
        """The report on the screen, its plots with it."""
        add_plots(self.preview.document(), report, language)
        self.preview.setHtml(screen_html(report_html(report, language)))

    def restyle(self) -> None:
        if self.report is not None:
            self._show_report(self.report, "es" if is_spanish(self) else "en")

    def retranslate(self) -> None:
        for name, box in self.checks.items():
            box.setText(self._title(name))
        self.start.setText(t("Start tests (engineer)"))
        self.refresh()
