"""The main window: a navigation rail, the pages, a header with the user, and E-stop on every page."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QCursor
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission
from bessai.gui.formatting import deadband_kw
from bessai.gui.i18n import Languages, t
from bessai.gui.login import FirstRunDialog, LoginDialog, local_console
from bessai.gui.pages.alarms import AlarmsPage
from bessai.gui.pages.charts import ChartsPage
from bessai.gui.pages.control import ControlPage
from bessai.gui.pages.devices import DevicesPage
from bessai.gui.pages.fleet import FleetPage
from bessai.gui.pages.overview import OverviewPage
from bessai.gui.pages.settings import SettingsPage
from bessai.gui.status import alarm_badge, mode_text, site_status
from bessai.gui.strip import StatusStrip
from bessai.gui.theme import apply_theme
from bessai.gui.widgets import EStopButton, EStopOverlay

PAGES = ["Overview", "Charts", "Control", "Alarms", "Devices", "Fleet", "Settings"]
ICONS = ["▣", "∿", "◉", "⚠", "⇄", "☷", "⚙"]
ALARMS_PAGE = PAGES.index("Alarms")


class ScreenSettings:
    """The screen's own choices (language, theme), kept in ``screen.ini`` beside the site's data."""

    def __init__(self, path: Path) -> None:
        self.store = QSettings(str(path), QSettings.Format.IniFormat)

    def get(self, key: str) -> str | None:
        value = self.store.value(key)
        return None if value is None else str(value)

    def put(self, key: str, value: str) -> None:
        self.store.setValue(key, value)
        self.store.sync()


class MainWindow(QMainWindow):
    """The operator app. ``exit_action`` is what closing does (injectable so tests never quit Qt)."""

    def __init__(
        self,
        bridge: CoreBridge,
        *,
        kiosk: bool = False,
        exit_action: Callable[[], None] | None = None,
        hide_cursor: bool = False,
    ) -> None:
        super().__init__()
        self.bridge = bridge
        self.kiosk = kiosk
        self.exit_action = exit_action
        self.languages = Languages()
        self.setWindowTitle("BESSAI Edge")
        self.setMinimumSize(800, 480)
        self.settings = SettingsPage(bridge)
        self.pages: list[QWidget] = [
            OverviewPage(bridge),
            ChartsPage(bridge),
            ControlPage(bridge),
            AlarmsPage(bridge),
            DevicesPage(bridge),
            FleetPage(bridge),
            self.settings,
        ]
        self.stack = QStackedWidget()
        for page in self.pages:
            self.stack.addWidget(page)
        rail = QFrame()
        rail.setObjectName("rail")
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(4, 8, 4, 8)
        self.nav = QButtonGroup(self)
        self.nav_buttons: list[QToolButton] = []
        for i in range(len(PAGES)):
            button = QToolButton()
            button.setObjectName("nav")
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setMinimumSize(84, 56)  # touch targets of at least 48 px, theme or not
            self.nav.addButton(button, i)
            rail_layout.addWidget(button)
            self.nav_buttons.append(button)
        rail_layout.addStretch(1)
        self.nav.idClicked.connect(self.show_page)
        self.nav_buttons[0].setChecked(True)
        self.site = QLabel()
        self.site.setObjectName("header")
        self.clock = QLabel()
        self.clock.setObjectName("muted")
        self.user = QLabel()
        self.login_button = QPushButton()
        self.login_button.setMinimumHeight(48)
        self.login_button.clicked.connect(self.login_or_logout)
        self.estop = EStopButton()
        self.estop.setMinimumSize(120, 56)
        self.estop.clicked.connect(bridge.estop)
        self.estop_overlay = EStopOverlay(self.estop)  # above every dialog, menu and keypad
        self.strip = StatusStrip()
        self.strip.alarms_clicked.connect(lambda: self.show_page(ALARMS_PAGE))
        header = QHBoxLayout()
        header.addWidget(self.site)
        header.addStretch(1)
        header.addWidget(self.clock)
        header.addWidget(self.user)
        header.addWidget(self.login_button)
        header.addWidget(self.estop)
        body = QVBoxLayout()
        body.addLayout(header)
        body.addWidget(self.strip)
        body.addWidget(self.stack, 1)
        central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(0, 0, 8, 8)
        outer.addWidget(rail)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)
        self.pin: LoginDialog | None = None
        self.first_run: FirstRunDialog | None = None
        self.screen_settings = ScreenSettings(bridge.data_dir / "screen.ini")
        self.retranslate()
        bridge.text_frame.connect(self.refresh)
        bridge.session_changed.connect(self.refresh)
        if kiosk:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
            if hide_cursor:
                self.setCursor(QCursor(Qt.CursorShape.BlankCursor))
        settings = self.settings
        settings.language.currentIndexChanged.connect(
            lambda i: self.set_language(settings.language.itemData(i))
        )
        settings.theme.currentIndexChanged.connect(
            lambda i: self.set_theme(settings.theme.itemData(i))
        )
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._clock = QTimer(self)
        self._clock.timeout.connect(lambda: self.clock.setText(time.strftime("%H:%M:%S")))
        self._clock.start(1000)

    def show_page(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.nav_buttons[index].setChecked(True)
        page = self.pages[index]
        refresh = getattr(page, "refresh", None)
        if refresh is not None:
            refresh()

    def restore_settings(self, language: str | None = None) -> None:
        """The language and theme chosen last on this screen (``language`` overrides)."""
        self.set_language(language or self.screen_settings.get("language") or "es")
        self.set_theme(self.screen_settings.get("theme") or "dark")

    def set_language(self, code: str) -> None:
        if code not in ("es", "en"):
            code = "es"
        self.screen_settings.put("language", code)
        self.languages.set(code)  # Qt posts LanguageChange to every widget
        combo = self.settings.language
        combo.blockSignals(True)
        combo.setCurrentIndex(combo.findData(code))
        combo.blockSignals(False)

    def eventFilter(self, watched: object, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.KeyPress,
            QEvent.Type.TouchBegin,
        ):
            self.bridge.touch()
        return False

    def set_theme(self, name: str) -> None:
        if name not in ("dark", "light"):
            name = "dark"
        self.screen_settings.put("theme", name)
        combo = self.settings.theme
        combo.blockSignals(True)
        combo.setCurrentIndex(combo.findData(name))
        combo.blockSignals(False)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        apply_theme(app, name)
        for page in self.pages:
            restyle = getattr(page, "restyle", None)
            if restyle is not None:
                restyle()

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        compact = self.width() < 1000
        self.clock.setVisible(not compact)
        self.site.setText("BESSAI Edge" if compact else f"BESSAI Edge · {self.bridge.site_id}")
        super().resizeEvent(event)  # type: ignore[arg-type]

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        for button, name, icon in zip(self.nav_buttons, PAGES, ICONS, strict=True):
            button.setText(f"{icon}\n{t(name)}")
        self.estop.retranslate()
        for page in self.pages:
            page.retranslate()  # type: ignore[attr-defined]
        self.refresh()

    def refresh(self) -> None:
        session = self.bridge.current_session()
        if self.width() >= 1000:
            self.site.setText(f"BESSAI Edge · {self.bridge.site_id}")
        self.user.setText(
            t("Read only")
            if session is None
            else f"{session.user} ({t(session.role.name.lower())})"
        )
        self.login_button.setText(t("Log in") if session is None else t("Log out"))
        snapshot = self.bridge.snapshot()
        status = site_status(snapshot, deadband_kw(self.bridge.rated_kw()), self.languages.spanish)
        count, severity = alarm_badge(list(snapshot.alarms))
        self.strip.show_status(mode_text(snapshot), status, count, severity, snapshot.estop_latched)
        alarms = self.nav_buttons[ALARMS_PAGE]
        alarms.setText(
            f"{ICONS[ALARMS_PAGE]} {count}\n{t('Alarms')}"
            if count
            else f"{ICONS[ALARMS_PAGE]}\n{t('Alarms')}"
        )
        if alarms.property("severity") != severity:
            alarms.setProperty("severity", severity)
            alarms.style().unpolish(alarms)
            alarms.style().polish(alarms)

    def login_or_logout(self) -> None:
        if self.bridge.current_session() is not None:
            self.bridge.logout()
            return
        self.bridge.fetch_users(self._open_login)

    def _open_login(self, users: object) -> None:
        accounts = (
            [(name, role.name.lower()) for name, role in users] if isinstance(users, list) else []
        )
        if not accounts:
            if local_console():
                self.first_run = FirstRunDialog(self)
                self.first_run.submitted.connect(self._create_admin)
                self.first_run.open()
            else:
                self.strip.show_notice(
                    t("No accounts yet: create the administrator on the local console")
                )
            return
        self.pin = LoginDialog(accounts, self)
        self.pin.submitted.connect(self._try_login)
        self.pin.open()

    def _create_admin(self, name: str, secret: str) -> None:
        def done(result: object) -> None:
            if self.first_run is None:
                return
            if isinstance(result, str):
                self.first_run.refuse(result)
            else:
                self.first_run.accept()

        self.bridge.create_first_admin(name, secret, done)

    def _try_login(self, user: str, secret: str) -> None:
        def done(result: object) -> None:
            if isinstance(result, str):
                if self.pin is not None:
                    self.pin.refuse(result)
            elif self.pin is not None:
                self.pin.accept()

        self.bridge.run("login", self.bridge.login(user, secret), done)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """In the kiosk only an engineer may close the app; elsewhere closing runs the exit action."""
        if self.kiosk and not self.bridge.may(Permission.ENGINEER):
            event.ignore()
            return
        event.accept()
        if self.exit_action is not None:
            self.exit_action()
