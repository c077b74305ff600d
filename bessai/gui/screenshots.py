"""Render the operator app through a scripted scenario into PNG files, at the kiosk's and the
laptop's sizes, in Spanish and English.

The scenario: half an hour of operation run in simulated time and written to
local history (so the charts open full), then the live app on the embedded
simulator: Manual discharge, every page; Auto; an over-temperature trip; a
comms loss; an E-stop; another Modbus master writing setpoints (an intrusion);
the login tiles; then the commissioning tabs (a device added through the
form, the limits editor and its confirmation, a commissioning run). A second
scene runs a site of two batteries with the trip on the second. ``make
screenshots`` runs it under Xvfb.

    python -m bessai.gui.screenshots --out screenshots [--lang es en]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtWidgets import QApplication, QWidget

from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.attacks import rogue_master
from bessai.drivers.simulator.server import BessSimulator, Fault
from bessai.gui.bridge import ControlMode, CoreBridge
from bessai.gui.demo import demo_gateway, prefill_history
from bessai.gui.loop import AppEventLoop
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.pages.devices import DevicesPage
from bessai.gui.theme import apply_theme

SIZES = [(1280, 800), (800, 480)]
DEVICE = "bess-sim"
PLANT_EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "plant.example.toml"


async def until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


class Shooter:
    def __init__(self, window: MainWindow, out: Path, languages: list[str]) -> None:
        self.window, self.out, self.languages = window, out, languages
        self.written: list[Path] = []

    async def pages(self, scene: str, pages: list[str]) -> None:
        """Each page of ``pages`` at each size in each language."""
        for language in self.languages:
            self.window.set_language(language)
            for width, height in SIZES:
                self.window.resize(width, height)
                for name in pages:
                    index = PAGES.index(name)
                    self.window.show_page(index)
                    await asyncio.sleep(0.5)
                    self.save(
                        self.window, f"{scene}-{index + 1}-{name.lower()}", width, height, language
                    )

    def login_dialog(self) -> QWidget | None:
        return self.window.pin

    async def login_tiles(self, language: str) -> None:
        self.window.pin = None
        self.window.login_or_logout()
        await until(lambda: self.window.pin is not None, 5.0)
        await asyncio.sleep(0.4)
        dialog = self.login_dialog()
        if dialog is not None:
            self.save(dialog, "login", *SIZES[0], language)
            dialog.close()

    def save(self, widget: QWidget, stem: str, width: int, height: int, language: str) -> None:
        path = self.out / f"{stem}-{width}x{height}-{language}.png"
        widget.grab().save(str(path))
        self.written.append(path)


async def commissioning(shooter: Shooter, bridge: CoreBridge, data: Path) -> None:
    """The engineer's tabs: a second device added through the form (tested first), the
    limits editor with its confirmation, and a commissioning run with its report."""
    window = shooter.window
    bridge.enable_site_admin(data / "site.toml")
    second = BessSimulator(load_profile("sma_sunny_island"), seed=5)
    port = await second.start_tcp("127.0.0.1", 0)
    index = PAGES.index("Devices")
    page = window.pages[index]
    assert isinstance(page, DevicesPage)
    try:
        window.set_language(shooter.languages[0])
        window.show_page(index)
        page.tabs.setCurrentWidget(page.site)
        page.site.open_form(None)
        form = page.site.form
        assert form is not None
        form.name.setText("inverter")
        form.host.setText("127.0.0.1")
        form.port.setValue(port)
        form.unit.setValue(3)
        form.profile.setCurrentText("sma_sunny_island")
        form.resize(760, 460)
        form._test()
        await until(lambda: form.last_test is not None, 10.0)
        await asyncio.sleep(0.3)
        shooter.save(form, "commissioning-device-form", 760, 460, shooter.languages[0])
        form._save()
        await until(lambda: "inverter" in bridge.latest, 10.0)
        await asyncio.sleep(0.5)
        for language in shooter.languages:
            window.set_language(language)
            for width, height in SIZES:
                window.resize(width, height)
                page.tabs.setCurrentWidget(page.site)
                page.site.refresh(force=True)
                await asyncio.sleep(0.5)
                shooter.save(window, "commissioning-devices", width, height, language)
                page.tabs.setCurrentWidget(page.limits)
                page.limits.scope.setCurrentIndex(page.limits.scope.findData(DEVICE))
                page.limits.spins["max_discharge_kw"].setValue(60.0)
                page.limits.spins["temp_trip_c"].setValue(43.0)
                await asyncio.sleep(0.5)
                shooter.save(window, "commissioning-limits", width, height, language)
                page.limits._confirm()
                await asyncio.sleep(0.5)
                if page.limits.dialog is not None:
                    shooter.save(
                        page.limits.dialog, "commissioning-limits-confirm", width, height, language
                    )
                    page.limits.dialog.reject()
                page.limits.load()
        window.set_language(shooter.languages[0])
        page.tabs.setCurrentWidget(page.commission)
        page.commission.device.setCurrentText(DEVICE)
        page.commission._start()
        await until(lambda: page.commission.report is not None, 90.0)
        await asyncio.sleep(1.0)
        for width, height in SIZES:
            window.resize(width, height)
            await asyncio.sleep(0.5)
            shooter.save(window, "commissioning-run", width, height, shooter.languages[0])
    finally:
        await second.stop()


async def shoot(out: Path, languages: list[str], theme: str) -> list[Path]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the loop is busy
    with tempfile.TemporaryDirectory() as tmp:
        gateway = await demo_gateway(Path(tmp), ids_baseline_s=15.0)
        await prefill_history(gateway, DEVICE)
        sim = gateway.simulators[DEVICE]
        bridge = CoreBridge(gateway)
        window = MainWindow(bridge)
        window.set_theme(theme)
        window.show()
        shooter = Shooter(window, out, languages)
        try:
            window.resize(*SIZES[0])
            window.set_language(languages[0])
            for language in languages:  # the login tiles, before anyone is logged in
                window.set_language(language)
                await shooter.login_tiles(language)
            await bridge.login("demo-engineer", "hunter2-demo")
            session = bridge.current_session()
            controller = gateway.controller()
            await controller.set_mode(session, ControlMode.MANUAL)
            await controller.command_setpoint(session, 60.0)
            # The intrusion baseline learns meanwhile, and the live charts fill.
            await until(lambda: gateway.intrusion_summary().state == "scoring", 40.0)
            await asyncio.sleep(2.0)
            await shooter.pages("normal", list(PAGES))
            await controller.set_mode(session, ControlMode.AUTO)
            await asyncio.sleep(2.0)
            await shooter.pages("auto", ["Control"])
            sim.model.temp_c = controller.guard.limits.temp_trip_c + 13.0
            await until(lambda: bool(controller.state().interlocks), 10.0)
            await asyncio.sleep(1.5)
            await shooter.pages("trip", ["Overview", "Control", "Alarms", "Charts"])
            sim.model.temp_c = 30.0
            sim.model.reset_fault()  # the technician's reset at the unit, once it has cooled
            await until(lambda: not controller.state().interlocks, 15.0)
            sim.inject(Fault.NO_ANSWER)
            await until(lambda: any(not s.up for s in gateway.statuses()), 15.0)
            await asyncio.sleep(1.0)
            await shooter.pages("comms-loss", ["Overview", "Control"])
            sim.inject(Fault.NO_ANSWER, active=False)
            await until(lambda: all(s.up for s in gateway.statuses()), 15.0)
            await controller.estop(session, "screen")
            await asyncio.sleep(1.0)
            await shooter.pages("estop", ["Overview", "Control"])
            await controller.reset_estop(session)
            await commissioning(shooter, bridge, Path(tmp))
            await controller.set_mode(session, ControlMode.MANUAL)
            await controller.command_setpoint(session, 40.0)
            await asyncio.sleep(2.0)
            port = getattr(gateway.devices[DEVICE].endpoint, "port", None)
            if port is not None:
                attack = asyncio.create_task(
                    rogue_master("127.0.0.1", port, 1, every_s=0.3, timeout_s=0.5)
                )
                summary = gateway.intrusion_summary
                await until(lambda: (summary().score or 0.0) >= summary().alarm_threshold, 10.0)
                await asyncio.sleep(0.8)
                await shooter.pages("intrusion", ["Overview", "Control"])
                attack.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await attack
        finally:
            bridge.close()
            window.close()
            await gateway.stop()
    return shooter.written


async def two_devices(out: Path, languages: list[str], theme: str) -> list[Path]:
    """A site of two batteries with the trip on the SECOND: the strip names it, the Overview
    shows its temperature and a row per device, Control groups the checklist by device."""
    with tempfile.TemporaryDirectory() as tmp:
        gateway = await demo_gateway(Path(tmp), devices=("bess-a", "bess-b"))
        bridge = CoreBridge(gateway)
        window = MainWindow(bridge)
        window.set_theme(theme)
        window.show()
        shooter = Shooter(window, out, languages)
        try:
            await bridge.login("demo-engineer", "hunter2-demo")
            session = bridge.current_session()
            commands = gateway.commands
            await until(lambda: len(bridge.latest) == 2, 10.0)
            await commands.set_mode(session, ControlMode.MANUAL, "site")
            await commands.command_setpoint(session, 40.0, "site")
            await asyncio.sleep(2.0)
            await shooter.pages("two-normal", ["Overview", "Control"])
            hot = gateway.simulators["bess-b"]
            hot.model.temp_c = gateway.controllers["bess-b"].guard.limits.temp_trip_c + 27.0
            hot.inject(Fault.OVER_TEMPERATURE)
            await until(lambda: bool(gateway.controllers["bess-b"].state().interlocks), 10.0)
            await asyncio.sleep(1.5)
            await shooter.pages("two-trip", ["Overview", "Control", "Alarms"])
        finally:
            bridge.close()
            window.close()
            await gateway.stop()
    return shooter.written


async def plant_scene(out: Path, languages: list[str], theme: str) -> list[Path]:
    """The shipped plant example (two PCS each with its BMS, the POI meter) on the coupled
    plant simulator: the site at 60 kW, then bms2 hot (its PCS derated, named)."""
    from bessai.cli.simulate_site import plant_devices
    from bessai.core.config.settings import load_site_file
    from bessai.drivers.simulator.plant import PlantSimulator

    with tempfile.TemporaryDirectory() as tmp:
        site = load_site_file(PLANT_EXAMPLE)
        sim = PlantSimulator(plant_devices(PLANT_EXAMPLE), seed=4, load_kw=80.0, pv_kw=40.0)
        await sim.start()
        gateway = await demo_gateway(Path(tmp), site=site)
        bridge = CoreBridge(gateway)
        window = MainWindow(bridge)
        window.set_theme(theme)
        window.show()
        shooter = Shooter(window, out, languages)
        try:
            await bridge.login("demo-engineer", "hunter2-demo")
            session = bridge.current_session()
            await until(lambda: all(p.status.up for p in gateway.pollers.values()), 15.0)
            await asyncio.sleep(1.0)
            await gateway.commands.set_mode(session, ControlMode.MANUAL, "site")
            await gateway.commands.command_setpoint(session, 60.0, "site")
            await asyncio.sleep(4.0)
            await shooter.pages("plant", ["Overview", "Control"])
            sim.set_temperature("bms2", 51.0)
            await asyncio.sleep(4.0)
            await shooter.pages("plant-hot", ["Overview"])
        finally:
            bridge.close()
            window.close()
            await gateway.stop()
            await sim.stop()
    return shooter.written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--lang", nargs="+", choices=["es", "en"], default=["es", "en"])
    parser.add_argument("--theme", choices=["dark", "light"], default="dark")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # closing the window must not stop the loop mid-run
    with asyncio.Runner(loop_factory=AppEventLoop) as runner:
        written = runner.run(shoot(args.out, args.lang, args.theme))
        written += runner.run(two_devices(args.out, args.lang, args.theme))
        written += runner.run(plant_scene(args.out, args.lang, args.theme))
        from bessai.gui.screenshots_scada import scada_scene  # it imports this module

        written += runner.run(scada_scene(args.out, args.lang, args.theme))
    for path in written:
        print(path)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
