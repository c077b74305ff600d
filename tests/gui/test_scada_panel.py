"""The grid operator's link on Settings: a real gateway with a real outstation, a real master.

Authority goes over in two steps (select, confirm within the window) and only for an
engineer; the screen shows the master that started, the last command and the point list.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from bessai.core.config.scada import Iec104Settings, ScadaSettings
from bessai.core.config.settings import DeviceConfig
from bessai.core.scada.points import DEFAULT_POINTS
from bessai.core.site.gateway import Gateway
from bessai.core.site.scada_link import ScadaLink
from bessai.gui.bridge import CoreBridge
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.pages.scada import ScadaPanel
from tests.gui.conftest import Loop, login, site_users
from tests.helpers import free_port
from tests.integration.iec104_scapy_master import ScapyMaster

CA = 47
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def scada_app(
    aio: Loop, qtbot: QtBot, tmp_path: Path
) -> Iterator[tuple[MainWindow, ScadaPanel, Gateway, int]]:
    port = free_port()

    async def start() -> Gateway:
        auth = await site_users(tmp_path)
        gw = Gateway(
            "cl-scada-01",
            [DeviceConfig(name="bess", profile="sim_bess", simulated=True, poll_interval_s=0.1)],
            data_dir=tmp_path,
            auth=auth,
            control_interval_s=0.1,
        )
        settings = ScadaSettings(iec104=Iec104Settings(port=port, common_address=CA))
        gw.links.append(ScadaLink(gw, settings))
        await gw.start()
        return gw

    gateway = aio.run(start(), timeout_s=20.0)
    bridge = CoreBridge(gateway)
    window = MainWindow(bridge, exit_action=lambda: None)
    qtbot.addWidget(window)
    window.resize(800, 480)
    window.show()
    window.show_page(PAGES.index("Settings"))
    panel = window.settings.scada
    assert panel is not None, "Settings shows no grid operator's link"
    try:
        yield window, panel, gateway, port
    finally:
        window.set_language("en")
        bridge.close()
        window.hide()
        aio.run(gateway.stop())


async def _audit(gateway: Gateway) -> list[Any]:
    await gateway.books.settled(2.0)
    return [r for r in gateway.audit.records() if r.action == "scada_authority"]


def test_an_engineer_hands_authority_over_in_two_steps_and_sees_the_master(
    scada_app: tuple[MainWindow, ScadaPanel, Gateway, int], qtbot: QtBot, aio: Loop
) -> None:
    window, panel, gateway, port = scada_app
    assert "Local" in panel.authority.text()
    assert not panel.select.isEnabled()  # nobody logged in
    login(window, qtbot, "enzo", "314159")
    qtbot.waitUntil(panel.select.isEnabled, timeout=3000)
    qtbot.mouseClick(panel.select, LEFT)
    assert panel.confirm.isVisible()
    assert "Remote" in panel.confirm.text()
    assert gateway.links[0].summary()["authority"] == "local"  # type: ignore[attr-defined]
    qtbot.mouseClick(panel.confirm, LEFT)
    qtbot.waitUntil(lambda: "Remote" in panel.authority.text(), timeout=5000)
    assert "enzo" in panel.authority.text()
    assert not panel.confirm.isVisible()
    rows = aio.run(_audit(gateway))
    assert [(r.user, r.outcome, r.detail["authority"]) for r in rows] == [("enzo", "ok", "remote")]

    async def command() -> tuple[ScapyMaster, bool]:
        master = ScapyMaster(CA)
        await master.connect(port)
        return master, await master.single_command(2101, True)

    master, on = aio.run(command())
    try:
        assert on
        qtbot.waitUntil(lambda: "127.0.0.1 · active since" in panel.masters.text(), timeout=5000)
        qtbot.waitUntil(lambda: "C_SC_NA_1 2101 = ON" in panel.command.text(), timeout=5000)
        assert "accepted" in panel.command.text()
        assert "scada:127.0.0.1" in panel.command.text()
    finally:
        aio.run(master.close())
    qtbot.waitUntil(lambda: "No master connected" in panel.masters.text(), timeout=5000)


def test_an_unconfirmed_choice_lapses_and_an_operator_may_not_switch(
    scada_app: tuple[MainWindow, ScadaPanel, Gateway, int], qtbot: QtBot, aio: Loop
) -> None:
    window, panel, gateway, _ = scada_app
    login(window, qtbot, "enzo", "314159")
    qtbot.waitUntil(panel.select.isEnabled, timeout=3000)
    panel.window_s = 0.3
    qtbot.mouseClick(panel.select, LEFT)
    assert panel.confirm.isVisible()
    qtbot.waitUntil(lambda: not panel.confirm.isVisible(), timeout=3000)
    assert "Not confirmed in time" in panel.result.text()
    qtbot.mouseClick(panel.confirm, LEFT)  # hidden: a late tap does nothing
    assert "Local" in panel.authority.text()
    window.bridge.logout()
    login(window, qtbot, "olga", "314159")
    qtbot.waitUntil(lambda: window.bridge.current_session() is not None, timeout=3000)
    assert not panel.select.isEnabled()
    assert "engineer" in panel.hint.text()
    # The core refuses too, and audits the attempt: the button is not the only guard.
    results: list[object] = []
    window.bridge.set_scada_authority(True, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=3000)
    assert results == [(False, "only an engineer may hand authority over")]
    rows = aio.run(_audit(gateway))
    assert [(r.user, r.outcome) for r in rows] == [("olga", "refused")]
    assert gateway.links[0].summary()["authority"] == "local"  # type: ignore[attr-defined]


def test_the_point_list_and_the_panel_in_spanish_at_800x480(
    scada_app: tuple[MainWindow, ScadaPanel, Gateway, int], qtbot: QtBot
) -> None:
    window, panel, _, _ = scada_app
    assert [int(cells[0].text()) for cells in panel.point_cells] == [p.ioa for p in DEFAULT_POINTS]
    row = next(c for c in panel.point_cells if c[0].text() == "1002")
    assert [c.text() for c in row] == ["1002", "M_ME_TF_1", "Site SoC (%)", "1", "0.1"]
    window.set_language("es")
    qtbot.waitUntil(lambda: "operador de red" in panel.title.text(), timeout=3000)
    assert row[2].text() == "SoC del sitio (%)"
    assert "Local" in panel.authority.text()
    assert "desde" in panel.authority.text()
    assert panel.command.text() == "Ningún comando recibido"
    login(window, qtbot, "enzo", "314159")
    qtbot.waitUntil(panel.select.isEnabled, timeout=3000)
    qtbot.mouseClick(panel.select, LEFT)
    for button in panel.findChildren(QPushButton):
        if button.isVisible():
            assert button.height() >= 44, button.text()
    assert panel.confirm.text().startswith("Confirmar")
    assert time.monotonic() < panel.deadline
