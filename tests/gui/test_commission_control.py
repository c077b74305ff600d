"""The screen marks power no one has verified, on a two-battery site with the doubt on the
SECOND (``b``'s own profile leaves its power registers unverified): its target button and a
line on Control say so, Manual asks the engineer to confirm the registers by name (the audit
row names them too), Auto is refused with the core's reason, and the register table marks
each unverified register. Real widgets on the embedded simulators."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bessai.core.config.settings import DeviceConfig
from bessai.core.control.events import ControlMode
from bessai.core.site.gateway import Gateway
from bessai.drivers.profile_loader import load_profile
from bessai.gui.bridge import CoreBridge
from bessai.gui.main_window import PAGES, MainWindow
from tests.gui.conftest import Loop, hold, login, site_users

LEFT = Qt.MouseButton.LeftButton


def _doubtful_profile(directory: Path) -> Path:
    data = load_profile("sim_bess").model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for reg in data["registers"]:
        if reg.get("role") in ("active_power_kw", "setpoint_power_kw"):
            reg["verified"] = False
    data["id"] = "sim_bess_doubtful"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "sim_bess_doubtful.json"
    path.write_text(json.dumps(data, indent=1))
    return path


@pytest.fixture
def doubtful_site(
    aio: Loop, qtbot: QtBot, tmp_path: Path
) -> Iterator[tuple[MainWindow, Gateway, Loop]]:
    profile = _doubtful_profile(tmp_path / "profiles")

    async def start() -> Gateway:
        auth = await site_users(tmp_path)
        devices = [
            DeviceConfig(name="a", profile="sim_bess", simulated=True, poll_interval_s=0.1),
            DeviceConfig(name="b", profile=str(profile), simulated=True, poll_interval_s=0.1),
        ]
        gw = Gateway(
            "cl-gui-doubt",
            devices,
            data_dir=tmp_path,
            auth=auth,
            control_interval_s=0.1,
            profile_dir=tmp_path / "profiles",
            ids_enabled=False,
        )
        await gw.start()
        return gw

    gateway = aio.run(start())
    bridge = CoreBridge(gateway)
    window = MainWindow(bridge, exit_action=lambda: None)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitUntil(lambda: len(bridge.latest) == 2, timeout=5000)
    try:
        yield window, gateway, aio
    finally:
        window.set_language("en")
        bridge.close()
        window.hide()
        aio.run(gateway.stop())


def test_unverified_power_is_marked_and_manual_needs_the_engineers_confirmation(
    doubtful_site: tuple[MainWindow, Gateway, Loop], qtbot: QtBot
) -> None:
    window, gateway, _ = doubtful_site
    doubt = gateway.controllers["b"].unverified_power
    login(window, qtbot, "enzo", "314159")
    window.show_page(PAGES.index("Control"))
    page = window.pages[PAGES.index("Control")]
    qtbot.waitUntil(lambda: "b" in page.target_buttons, timeout=3000)  # type: ignore[attr-defined]
    buttons = page.target_buttons  # type: ignore[attr-defined]
    assert buttons["b"].text() == "b ⚠"
    assert buttons["a"].text() == "a"
    assert buttons["site"].text().endswith("⚠")
    qtbot.mouseClick(buttons["a"], LEFT)
    assert not page.doubt.isVisible()  # type: ignore[attr-defined]
    qtbot.mouseClick(buttons["b"], LEFT)
    qtbot.waitUntil(page.doubt.isVisible, timeout=3000)  # type: ignore[attr-defined]
    said = page.doubt.text()  # type: ignore[attr-defined]
    assert said.startswith(f"b: power registers not verified ({', '.join(doubt)})")
    # Auto: refused by the core, its reason on the screen; b stays in Standby.
    auto = page.mode_buttons[ControlMode.AUTO]  # type: ignore[attr-defined]
    qtbot.waitUntil(auto.isEnabled, timeout=3000)  # enabled once b's state is on the page
    qtbot.mouseClick(auto, LEFT)
    qtbot.waitUntil(
        lambda: "Unverified power registers" in page.status.text(),  # type: ignore[attr-defined]
        timeout=5000,
    )
    assert gateway.controllers["b"].mode is ControlMode.STANDBY
    # Manual: the confirmation names the device and its registers; held, b is in Manual.
    qtbot.mouseClick(page.mode_buttons[ControlMode.MANUAL], LEFT)  # type: ignore[attr-defined]
    dialog = page.dialog  # type: ignore[attr-defined]
    assert dialog is not None
    text = dialog.text.text()
    assert "Target: b" in text
    assert ", ".join(doubt) in text
    assert "enzo" in text
    assert gateway.controllers["b"].mode is ControlMode.STANDBY  # nothing before the hold
    hold(qtbot, dialog.hold)
    qtbot.waitUntil(lambda: gateway.controllers["b"].mode is ControlMode.MANUAL, timeout=5000)
    qtbot.waitUntil(
        lambda: any(
            r.action == "mode" and r.detail.get("unverified") == list(doubt)
            for r in gateway.audit.records()
        ),
        timeout=5000,
    )
    assert gateway.controllers["a"].mode is ControlMode.STANDBY
    # The register table marks b's unverified registers, and none of a's.
    window.show_page(PAGES.index("Devices"))
    devices = window.pages[PAGES.index("Devices")]
    devices.device.setCurrentText("b")  # type: ignore[attr-defined]
    devices._last = 0.0  # type: ignore[attr-defined]
    table = devices.table  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5.0
    marked: set[str] = set()
    while time.monotonic() < deadline and not marked:
        qtbot.wait(200)
        devices._last = 0.0  # type: ignore[attr-defined]
        devices.refresh()  # type: ignore[attr-defined]
        names = [table.item(r, 1).text() for r in range(table.rowCount()) if table.item(r, 1)]
        marked = {n.split(" ")[0] for n in names if "⚠" in n}
    expected = {r.name for r in gateway.devices["b"].profile.registers if not r.verified}
    assert expected
    assert marked == expected
