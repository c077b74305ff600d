"""The main window: a navigation rail, the pages, a header with the user, and E-stop on every page."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer
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
from bessai.gui.i18n import Languages, t
from bessai.gui.pages.alarms import AlarmsPage
from bessai.gui.pages.charts import ChartsPage
from bessai.gui.pages.control import ControlPage
from bessai.gui.pages.devices import DevicesPage
from bessai.gui.pages.overview import OverviewPage
from bessai.gui.pages.settings import SettingsPage
from bessai.gui.theme import apply_theme
from bessai.gui.widgets import EStopButton, PinPad

PAGES = ["Overview", "Charts", "Control", "Alarms", "Devices", "Settings"]
ICONS = ["▣", "∿", "◉", "⚠", "⇄", "⚙"]


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
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setVisible(False)
        header = QHBoxLayout()
        header.addWidget(self.site)
        header.addStretch(1)
        header.addWidget(self.clock)
        header.addWidget(self.user)
        header.addWidget(self.login_button)
        header.addWidget(self.estop)
        body = QVBoxLayout()
        body.addLayout(header)
        body.addWidget(self.banner)
        body.addWidget(self.stack, 1)
        central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(0, 0, 8, 8)
        outer.addWidget(rail)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)
        self.pin: PinPad | None = None
        self.retranslate()
        bridge.frame.connect(self.refresh)
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

    def set_language(self, code: str) -> None:
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
        combo = self.settings.theme
        combo.blockSignals(True)
        combo.setCurrentIndex(combo.findData(name))
        combo.blockSignals(False)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        apply_theme(app, name)

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
        down = [s.name for s in self.bridge.statuses() if not s.up]
        state = self.bridge.state()
        banner = []
        if down:
            banner.append(t("No communication with: {0}").format(", ".join(down)))
        if state is not None and state.estop_latched:
            banner.append(t("EMERGENCY STOP LATCHED"))
        self.banner.setText("  ·  ".join(banner))
        self.banner.setVisible(bool(banner))

    def login_or_logout(self) -> None:
        if self.bridge.current_session() is not None:
            self.bridge.logout()
            return
        self.bridge.fetch_users(self._open_pin_pad)

    def _open_pin_pad(self, users: object) -> None:
        names = [name for name, _ in users] if isinstance(users, list) else []
        self.pin = PinPad(names, self)
        self.pin.submitted.connect(self._try_login)
        self.pin.open()

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
