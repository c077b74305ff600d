"""A touch-only commissioning, tap by tap, into PNG files at the kiosk's 800×480.

A new site with no accounts and no keyboard: the administrator is created
(the on-screen keyboard types the name, the PIN pad the PIN), logs in by
tile and PIN, adds a device by its address (keyboard for the name and the
address, number pad for the port), tests and saves it, and sets a limit
(95 % for the SoC floor is refused with the reason, 15 % is confirmed by a
hold). Every step is a tap delivered to the window as the screen delivers a
finger's, and every shot is the whole screen, so that the E-stop's own window
shows above the dialogs. ``make screenshots`` runs it under Xvfb (no window
manager, as on the kiosk).

    python -m bessai.gui.screenshots_touch --out screenshots/touch [--lang es en]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QTabBar, QWidget

from bessai.gui.app import fill_screen
from bessai.gui.bridge import CoreBridge
from bessai.gui.keypad import NumberPad
from bessai.gui.loop import AppEventLoop
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.osk import KeyboardDialog, TouchInput
from bessai.gui.pages.devices import DevicesPage
from bessai.gui.theme import apply_theme

SIZE = (800, 480)
DEVICE = "bess-sim"
PIN = "482916"


async def until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _click(widget: QWidget, at: QPoint | None, press: bool = True, release: bool = True) -> None:
    window = widget.window()
    handle = window.windowHandle()
    assert handle is not None, f"{widget!r} is not on screen"
    point = widget.mapTo(window, at if at is not None else widget.rect().center())
    button, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    if press:
        QTest.mousePress(handle, button, none, point)
    if release:
        QTest.mouseRelease(handle, button, none, point)


async def _outside_the_task(action: Callable[[], None]) -> None:
    """Runs ``action`` as a plain loop callback: QTest processes Qt's events, and qasync may
    then step other tasks, which asyncio refuses from inside this task's own step."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def run() -> None:
        try:
            action()
        finally:
            done.set_result(None)

    loop.call_soon(run)
    await done


async def tap(widget: QWidget, at: QPoint | None = None) -> None:
    """A finger's tap at ``widget``'s centre (or ``at``), through its window."""
    await _outside_the_task(lambda: _click(widget, at))
    await asyncio.sleep(0.03)


async def hold(widget: QWidget, seconds: float = 1.2) -> None:
    await _outside_the_task(lambda: _click(widget, None, release=False))
    await asyncio.sleep(seconds)
    await _outside_the_task(lambda: _click(widget, None, press=False))


class Scene:
    """Taps and whole-screen shots, numbered in order."""

    def __init__(
        self, window: MainWindow, touch: TouchInput, out: Path, language: str, port: int
    ) -> None:
        self.window, self.touch, self.out, self.language = window, touch, out, language
        self.port = port  # the second device's, on loopback
        self.written: list[Path] = []

    async def shot(self, step: str) -> None:
        await asyncio.sleep(0.4)
        screen = self.window.screen()
        path = self.out / f"touch-{len(self.written) + 1:02d}-{step}-800x480-{self.language}.png"
        screen.grabWindow(0).save(str(path))  # the root window: every window as it shows
        self.written.append(path)

    async def keyboard(self) -> KeyboardDialog:
        assert await until(lambda: isinstance(self.touch.open, KeyboardDialog), 3.0)
        assert isinstance(self.touch.open, KeyboardDialog)
        await asyncio.sleep(0.2)
        return self.touch.open

    async def pad(self) -> NumberPad:
        assert await until(lambda: isinstance(self.touch.open, NumberPad), 3.0)
        assert isinstance(self.touch.open, NumberPad)
        await asyncio.sleep(0.2)
        return self.touch.open

    async def type_on(self, keyboard: KeyboardDialog, text: str) -> None:
        for char in text:
            for key in keyboard.presses(char):
                await tap(key)

    async def digits(self, pad: NumberPad, text: str) -> None:
        for key in text:
            await tap(pad.keys[key])

    def pin_key(self, dialog: QWidget, digit: str) -> QPushButton:
        return next(
            b for b in dialog.findChildren(QPushButton) if b.text() == digit and b.isVisible()
        )

    async def pin(self, dialog: QWidget, digits: str) -> None:
        for digit in digits:
            await tap(self.pin_key(dialog, digit))


async def commissioning(scene: Scene, bridge: CoreBridge, stopped: Callable[[], bool]) -> None:
    window = scene.window
    await scene.shot("start")
    # The administrator: the first tap on "Log in" of a site with no accounts.
    await tap(window.login_button)
    assert await until(lambda: window.first_run is not None and window.first_run.isVisible(), 5.0)
    first = window.first_run
    assert first is not None
    await scene.shot("first-run")
    await tap(first.name)
    keyboard = await scene.keyboard()
    await tap(keyboard.clear)
    await scene.type_on(keyboard, "ana.admin")
    await scene.shot("keyboard-name")
    await tap(keyboard.ok)
    assert await until(lambda: scene.touch.open is None, 3.0)
    await tap(first.secret)
    await scene.pin(first, PIN)
    await tap(first.again)
    await scene.pin(first, PIN)
    await scene.shot("first-run-pin")
    await tap(scene.pin_key(first, "OK"))
    assert await until(lambda: not first.isVisible(), 10.0)
    assert await until(lambda: bridge.current_session() is not None, 5.0)
    await scene.shot("administrator-created")
    # Out, and in again as any later shift would: the tile, the PIN.
    await tap(window.login_button)
    assert await until(lambda: bridge.current_session() is None, 5.0)
    await tap(window.login_button)
    assert await until(lambda: window.pin is not None and window.pin.isVisible(), 5.0)
    login = window.pin
    assert login is not None
    await scene.shot("login-tiles")
    await tap(next(b for b in login.tiles if b.property("user") == "ana.admin"))
    await scene.pin(login, PIN)
    await scene.shot("login-pin")
    await tap(scene.pin_key(login, "OK"))
    assert await until(lambda: bridge.current_session() is not None, 10.0)
    # A device by its address: Devices → Site devices → Add device.
    devices = window.pages[PAGES.index("Devices")]
    assert isinstance(devices, DevicesPage)
    await tap(window.nav_buttons[PAGES.index("Devices")])
    bar = devices.tabs.findChild(QTabBar)
    assert bar is not None
    await tap(bar, bar.tabRect(1).center())
    await scene.shot("site-devices")
    await tap(devices.site.add)
    assert await until(lambda: devices.site.form is not None and devices.site.form.isVisible(), 5)
    form = devices.site.form
    assert form is not None
    await scene.shot("device-form")
    await tap(form.name)
    keyboard = await scene.keyboard()
    await scene.type_on(keyboard, "bess2")
    await tap(keyboard.ok)
    assert await until(lambda: scene.touch.open is None, 3.0)
    await tap(form.host)
    keyboard = await scene.keyboard()
    await scene.type_on(keyboard, "127.0.0.1")
    await scene.shot("keyboard-address")
    await tap(keyboard.ok)
    assert await until(lambda: scene.touch.open is None, 3.0)
    await tap(form.port)
    pad = await scene.pad()
    await scene.digits(pad, str(scene.port))
    await scene.shot("pad-port")
    await tap(pad.apply)
    assert await until(lambda: scene.touch.open is None, 3.0)
    await tap(form.test)
    assert await until(lambda: form.last_test is not None, 15.0)
    await scene.shot("device-tested")
    await tap(form.save)
    assert await until(lambda: "bess2" in bridge.latest, 15.0)
    await scene.shot("device-added")
    # A limit: 95 % for the SoC floor is refused with the reason; 15 % is confirmed.
    await tap(bar, bar.tabRect(2).center())
    limits = devices.limits
    floor = limits.fields["soc_floor_pct"]
    assert await until(floor.isVisible, 3.0)
    await tap(floor)
    pad = await scene.pad()
    await scene.digits(pad, "95")
    await tap(pad.apply)
    await scene.shot("pad-limit-refused")
    await tap(pad.keys["C"])
    await scene.digits(pad, "15")
    await scene.shot("pad-limit")
    await tap(pad.apply)
    assert await until(lambda: scene.touch.open is None, 3.0)
    await tap(limits.apply)
    assert await until(lambda: limits.dialog is not None and limits.dialog.isVisible(), 5.0)
    assert limits.dialog is not None
    await scene.shot("limit-confirm")
    await hold(limits.dialog.hold)
    assert await until(lambda: bool(limits.result.text()), 10.0)
    await scene.shot("limit-saved")
    # The E-stop over an open keyboard: its own window, above it, one tap.
    await tap(limits.fields["soc_ceiling_pct"])
    await scene.pad()
    await scene.shot("estop-over-pad")
    await tap(window.estop_overlay.button)
    assert await until(stopped, 5.0)
    await scene.shot("estop-pressed")
    if scene.touch.open is not None:
        scene.touch.open.reject()


async def run(out: Path, language: str) -> list[Path]:
    from argon2 import PasswordHasher

    from bessai.core.config.settings import DeviceConfig
    from bessai.core.site.gateway import Gateway
    from bessai.core.stores.auth import AuthService
    from bessai.drivers.simulator.server import BessSimulator

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        site_file = data / "site.toml"
        site_file.write_text(
            'site_id = "cl-touch-01"\n\n[[devices]]\n'
            f'name = "{DEVICE}"\nprofile = "sim_bess"\nsimulated = true\npoll_interval_s = 0.5\n'
        )
        auth = AuthService(
            data / "users.db",
            hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1),
        )
        gateway = Gateway(
            "cl-touch-01",
            [DeviceConfig(name=DEVICE, profile="sim_bess", simulated=True, poll_interval_s=0.5)],
            data_dir=data,
            auth=auth,
        )
        await gateway.start()
        second = BessSimulator(seed=5)
        port = await second.start_tcp("127.0.0.1", 0)
        touch = TouchInput(app, keyboard=True)
        bridge = CoreBridge(gateway)
        bridge.enable_site_admin(site_file)
        window = MainWindow(bridge, kiosk=True, exit_action=lambda: None)
        window.restore_settings(language)
        fill_screen(window, app)
        scene = Scene(window, touch, out, language, port)
        try:
            await until(lambda: bool(bridge.latest), 10.0)
            await asyncio.sleep(1.0)
            await commissioning(
                scene,
                bridge,
                lambda: any(c.estop_latched for c in gateway.controllers.values()),
            )
        finally:
            window.set_language("en")  # the translator is the application's: leave none behind
            bridge.close()
            window.kiosk = False
            window.close()
            touch.deleteLater()
            await second.stop()
            await gateway.stop()
    return scene.written


async def shoot(out: Path, languages: list[str]) -> list[Path]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "dark")
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the loop is busy
    written: list[Path] = []
    for language in languages:
        written += await run(out, language)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots") / "touch")
    parser.add_argument("--lang", nargs="+", choices=["es", "en"], default=["es", "en"])
    args = parser.parse_args()
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):  # the scene is the local console's
        os.environ.pop(name, None)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=AppEventLoop) as runner:
        written = runner.run(shoot(args.out, args.lang))
    for path in written:
        print(path)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
