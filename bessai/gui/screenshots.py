"""Render every page of the operator app at the kiosk's and the laptop's sizes into PNG files.

Runs the real app on the embedded simulator (a throwaway data directory and
demo accounts), lets it poll for a few seconds with a manual setpoint
applied, then grabs each page, and the Control page again in Auto. ``make screenshots`` runs it under Xvfb.

    python -m bessai.gui.screenshots --out screenshots [--lang es]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtWidgets import QApplication

from bessai.gui.bridge import ControlMode, CoreBridge
from bessai.gui.demo import demo_gateway
from bessai.gui.loop import AppEventLoop
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.theme import apply_theme

SIZES = [(1280, 800), (800, 480)]


async def shoot(out: Path, language: str, theme: str) -> list[Path]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    with tempfile.TemporaryDirectory() as tmp:
        gateway = await demo_gateway(Path(tmp))
        bridge = CoreBridge(gateway)
        window = MainWindow(bridge)
        window.set_language(language)
        window.set_theme(theme)
        window.show()
        written: list[Path] = []
        try:
            await bridge.login("demo-engineer", "hunter2-demo")
            await asyncio.sleep(1.0)
            controller = gateway.controller()
            await controller.set_mode(bridge.current_session(), ControlMode.MANUAL)
            await controller.command_setpoint(bridge.current_session(), 60.0)
            await asyncio.sleep(4.0)
            out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any frame
            for width, height in SIZES:
                window.resize(width, height)
                for index, name in enumerate(PAGES):
                    window.show_page(index)
                    await asyncio.sleep(0.4)
                    path = out / f"{index + 1}-{name.lower()}-{width}x{height}-{language}.png"
                    window.grab().save(str(path))
                    written.append(path)
            # And the Control page with Auto run by the dispatch model.
            await controller.set_mode(bridge.current_session(), ControlMode.AUTO)
            await asyncio.sleep(2.0)
            control = [p.lower() for p in PAGES].index("control")
            window.show_page(control)
            for width, height in SIZES:
                window.resize(width, height)
                await asyncio.sleep(0.4)
                path = out / f"{control + 1}-control-auto-{width}x{height}-{language}.png"
                window.grab().save(str(path))
                written.append(path)
        finally:
            bridge.close()
            window.close()
            await gateway.stop()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--lang", choices=["es", "en"], default="es")
    parser.add_argument("--theme", choices=["dark", "light"], default="dark")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # closing the window must not stop the loop mid-run
    with asyncio.Runner(loop_factory=AppEventLoop) as runner:
        written = runner.run(shoot(args.out, args.lang, args.theme))
    for path in written:
        print(path)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
