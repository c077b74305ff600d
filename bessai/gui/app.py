"""Start the operator app: Qt and the gateway core in one qasync event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtGui import QInputDevice
from PySide6.QtWidgets import QApplication, QWidget

from bessai.gui.bridge import CoreBridge, Gateway, freeze_startup_heap
from bessai.gui.loop import AppEventLoop
from bessai.gui.main_window import MainWindow
from bessai.gui.osk import TouchInput
from bessai.gui.theme import apply_theme


def touch_screen() -> bool:
    """Whether a touch screen is attached (then the on-screen keyboard is on off the kiosk too)."""
    return any(
        device.type() == QInputDevice.DeviceType.TouchScreen for device in QInputDevice.devices()
    )


def fill_screen(window: QWidget, app: QApplication) -> None:
    """Full screen with or without a window manager: the kiosk's X session has none, and there
    ``showFullScreen`` alone leaves the window at its own size in the top-left corner. The
    window is laid over the whole screen itself, and again whenever the screen changes size."""
    screen = window.screen() or app.primaryScreen()
    window.setGeometry(screen.geometry())
    window.showFullScreen()
    screen.geometryChanged.connect(window.setGeometry)


async def run_app(
    gateway: Gateway,
    *,
    kiosk: bool = False,
    language: str | None = None,
    fleet: tuple[str, str] | None = None,
    site_file: Path | None = None,
) -> None:
    """Run until the window is closed (or the app quits), then stop the core cleanly."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "dark")
    touch = TouchInput(app, keyboard=kiosk or touch_screen())
    quit_event = asyncio.Event()
    app.aboutToQuit.connect(quit_event.set)
    await gateway.start()
    bridge = CoreBridge(gateway)
    if site_file is not None:
        bridge.enable_site_admin(site_file)
    if fleet is not None:
        bridge.watch_fleet(*fleet)
    window = MainWindow(bridge, kiosk=kiosk, exit_action=app.quit, hide_cursor=kiosk)
    window.restore_settings(language)
    if kiosk:
        fill_screen(window, app)
    else:
        window.resize(1280, 800)
        window.show()
    freeze_startup_heap()
    try:
        await quit_event.wait()
    finally:
        touch.deleteLater()
        bridge.close()
        await gateway.stop()


def main(
    gateway: Gateway,
    *,
    kiosk: bool = False,
    language: str | None = None,
    fleet: tuple[str, str] | None = None,
    site_file: Path | None = None,
) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("BESSAI Edge")
    # qasync on Python 3.11: asyncio.Runner takes the loop factory (asyncio.run does only from 3.12).
    with asyncio.Runner(loop_factory=AppEventLoop) as runner:
        runner.run(
            run_app(gateway, kiosk=kiosk, language=language, fleet=fleet, site_file=site_file)
        )
    return 0
