"""GUI fixtures: the app's qasync loop, driven by qtbot.waitUntil, and the app on the embedded simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from bessai.core.config.settings import DeviceConfig
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role
from bessai.gui.bridge import CoreBridge
from bessai.gui.loop import AppEventLoop
from bessai.gui.main_window import MainWindow

T = TypeVar("T")


class Loop:
    """Runs coroutines on a qasync loop that lives inside Qt's (already running) event loop."""

    def __init__(self, qtbot: QtBot, loop: AppEventLoop) -> None:
        self.qtbot = qtbot
        self.loop = loop

    def run(self, coro: Awaitable[T], timeout_s: float = 10.0) -> T:
        task = self.loop.create_task(coro)  # type: ignore[arg-type]
        self.qtbot.waitUntil(task.done, timeout=int(timeout_s * 1000))
        return task.result()

    def wait(self, seconds: float) -> None:
        self.qtbot.wait(int(seconds * 1000))


@pytest.fixture
def aio(qapp: QApplication, qtbot: QtBot) -> Iterator[Loop]:
    loop = AppEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    try:
        yield Loop(qtbot, loop)
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        qtbot.waitUntil(lambda: all(t.done() for t in pending), timeout=5000)
        # A loop made with already_running=True never ran run_forever(), so nothing marks it
        # stopped; do what run_forever's exit would do, without quitting Qt (which would
        # break every later wait), then close it.
        loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
        qapp.aboutToQuit.disconnect(loop._after_run_forever)
        loop._after_run_forever()
        asyncio.events._set_running_loop(None)
        loop.close()
        asyncio.set_event_loop(None)


async def site_users(directory: Path) -> AuthService:
    """The GUI tests' users: ana (admin), olga (operator), enzo (engineer), vera (viewer)."""
    auth = AuthService(
        directory / "users.db",
        hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1),
    )
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
    await auth.add_user("enzo", Role.ENGINEER, "314159", by=admin)
    await auth.add_user("vera", Role.VIEWER, "314159", by=admin)
    return auth


@pytest.fixture
def app(aio: Loop, qtbot: QtBot, tmp_path: Path) -> Iterator[tuple[MainWindow, Gateway, Loop]]:
    async def start() -> Gateway:
        auth = await site_users(tmp_path)
        gw = Gateway(
            "cl-gui-01",
            [DeviceConfig(name="bess", profile="sim_bess", simulated=True, poll_interval_s=0.1)],
            data_dir=tmp_path,
            auth=auth,
            control_interval_s=0.1,
        )
        await gw.start()
        return gw

    gateway = aio.run(start())
    exits: list[float] = []
    bridge = CoreBridge(gateway)
    window = MainWindow(bridge, exit_action=lambda: exits.append(time.time()))
    window.exits = exits  # type: ignore[attr-defined]
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitUntil(lambda: bool(bridge.latest), timeout=5000)
    try:
        yield window, gateway, aio
    finally:
        window.set_language("en")  # the translator is the application's: leave none behind
        bridge.close()
        window.hide()
        aio.run(gateway.stop())


def login(window: MainWindow, qtbot: QtBot, user: str, secret: str) -> None:
    """Log in as a user would: tap the user's tile, then the PIN's digits, then OK."""
    window.pin = None
    window.login_or_logout()
    qtbot.waitUntil(lambda: window.pin is not None, timeout=3000)  # the users are read off-loop
    pad = window.pin
    assert pad is not None
    tile = next(b for b in pad.tiles if b.property("user") == user)
    qtbot.mouseClick(tile, _left())
    buttons = pad.stack.currentWidget().findChildren(type(window.login_button))
    for digit in secret:
        qtbot.mouseClick(next(b for b in buttons if b.text() == digit), _left())
    qtbot.mouseClick(next(b for b in buttons if b.text() in ("OK", "Aceptar")), _left())
    qtbot.waitUntil(
        lambda: window.bridge.current_session() is not None or bool(pad.message.text()),
        timeout=5000,
    )


def hold(qtbot: QtBot, button: QWidget) -> None:
    """Press and hold a hold-to-confirm button until it confirms, then release it."""
    dialog = button.window()
    qtbot.mousePress(button, _left())
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    qtbot.mouseRelease(button, _left())


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
