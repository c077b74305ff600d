"""The commissioning engineer's pages on real widgets against the embedded simulator and a
second simulator on loopback: a device added through the form is polled without a restart,
a limit changed through the editor is confirmed, audited, saved and in force, and a
commissioning run from the page writes its report."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QImage, QTextDocument
from pytestqt.qtbot import QtBot

from bessai.core.config.settings import load_site_file
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import BessSimulator
from bessai.gui import widgets
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.pages.device_form import DeviceDialog
from tests.gui.conftest import Loop, hold, login

ImageResource = QTextDocument.ResourceType.ImageResource


def _devices_tab(window: MainWindow, qtbot: QtBot, tab: int) -> object:
    window.show_page(PAGES.index("Devices"))
    page = window.pages[PAGES.index("Devices")]
    page.tabs.setCurrentIndex(tab)  # type: ignore[attr-defined]
    qtbot.wait(300)
    return page


def test_a_device_added_through_the_page_is_polled_without_a_restart(
    app: tuple[MainWindow, Gateway, Loop], qtbot: QtBot, tmp_path: Path
) -> None:
    window, gateway, aio = app
    site_file = tmp_path / "site.toml"
    window.bridge.enable_site_admin(site_file)
    second = BessSimulator(seed=11, step_hz=0)
    port = aio.run(second.start_tcp("127.0.0.1", 0))
    try:
        login(window, qtbot, "enzo", "314159")
        page = _devices_tab(window, qtbot, 1)
        tab = page.site  # type: ignore[attr-defined]
        assert tab.add.isEnabled()
        qtbot.mouseClick(tab.add, Qt.MouseButton.LeftButton)
        form = tab.form
        assert isinstance(form, DeviceDialog)
        form.name.setText("bess2")
        form.host.setText("127.0.0.1")
        form.port.setValue(port)
        form.profile.setCurrentText("sim_bess")
        qtbot.mouseClick(form.test, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: form.last_test is not None, timeout=10000)
        assert form.last_test is not None
        assert form.last_test.ok, form.message.text()
        assert "SIM-0001" in form.message.text()  # the identity read
        total = form.last_test.registers
        assert form.last_test.read == total == 40
        said = form.message.text().splitlines()[0]
        assert said in (
            f"Conexión correcta: tcp://127.0.0.1:{port} unidad 1, 40 de 40 registros leídos",
            f"Connection OK: tcp://127.0.0.1:{port} unit 1, 40 of 40 registers read",
        )
        rows = {form.table.item(r, 1).text(): r for r in range(form.table.rowCount())}
        soc_row = rows["soc_pct"]
        assert form.table.item(soc_row, 2).text()  # raw words beside ...
        assert form.table.item(soc_row, 3).text().startswith("50")  # ... the decoded value
        assert "bess2" not in gateway.devices  # a test poll adds nothing
        qtbot.mouseClick(form.save, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not form.isVisible(), timeout=10000)
        qtbot.waitUntil(lambda: "bess2" in window.bridge.latest, timeout=10000)
        assert window.bridge.latest["bess2"].roles["soc_pct"] == 50.0
        assert "bess2" in gateway.controllers  # commandable, in Standby
        assert gateway.controllers["bess2"].mode.value == "standby"
        site = load_site_file(site_file)
        assert [d.name for d in site.devices] == ["bess", "bess2"]
        assert site.devices[1].port == port
        qtbot.waitUntil(
            lambda: any(r.action == "device_add" for r in gateway.audit.records()), timeout=5000
        )
        # Removing: a two-step confirmation, then Standby and no more polling.
        qtbot.waitUntil(lambda: tab.table.rowCount() == 2, timeout=5000)
        tab.table.selectRow(1)
        qtbot.mouseClick(tab.remove, Qt.MouseButton.LeftButton)
        assert tab.dialog is not None
        assert "bess2" in tab.dialog.text.text()
        hold(qtbot, tab.dialog.hold)
        qtbot.waitUntil(lambda: "bess2" not in gateway.devices, timeout=10000)
        assert [d.name for d in load_site_file(site_file).devices] == ["bess"]
        backups = sorted(tmp_path.glob("site.toml.*.bak"))
        assert backups
        assert "bess2" in backups[-1].read_text()
        polls = second.requests_served
        aio.wait(1.0)
        assert second.requests_served == polls  # nobody polls it any more
    finally:
        aio.run(second.stop())


def test_a_limit_change_through_the_page_is_confirmed_audited_and_in_force(
    app: tuple[MainWindow, Gateway, Loop],
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(widgets, "RESULT_SHOWN_S", 600.0)  # a slow machine keeps it on screen
    window, gateway, _ = app
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        "# the commissioning engineer's notes stay\n"
        'site_id = "cl-gui-01"\n\n[[devices]]\nname = "bess"\nprofile = "sim_bess"\n'
        "simulated = true\npoll_interval_s = 0.1\n"
    )
    window.bridge.enable_site_admin(site_file)
    login(window, qtbot, "olga", "314159")
    page = _devices_tab(window, qtbot, 2)
    limits = page.limits  # type: ignore[attr-defined]
    assert not limits.apply.isEnabled()  # an operator may not
    window.bridge.logout()
    login(window, qtbot, "enzo", "314159")
    page = _devices_tab(window, qtbot, 2)
    limits.scope.setCurrentIndex(limits.scope.findData("bess"))
    qtbot.waitUntil(limits.apply.isEnabled, timeout=3000)
    limits.spins["max_discharge_kw"].setValue(40.0)
    qtbot.mouseClick(limits.apply, Qt.MouseButton.LeftButton)
    dialog = limits.dialog
    assert dialog is not None
    assert "100 kW → 40 kW" in dialog.text.text()
    assert "bess" in dialog.text.text()
    hold(qtbot, dialog.hold)
    controller = gateway.controllers["bess"]
    qtbot.waitUntil(lambda: controller.guard.limits.max_discharge_kw == 40.0, timeout=5000)
    assert controller.preview(60.0).verdict.value_kw <= 40.0  # in force
    text = site_file.read_text()
    assert text.startswith("# the commissioning engineer's notes stay")
    assert tomllib.loads(text)["devices"][0]["limits"]["max_discharge_kw"] == 40.0
    qtbot.waitUntil(
        lambda: any(r.action == "limits_saved" for r in gateway.audit.records()), timeout=5000
    )
    change = next(r for r in gateway.audit.records() if r.action == "limits")
    assert change.user == "enzo"
    assert change.detail["old"] == {"max_discharge_kw": 100.0}
    # The result follows a language switch while it is on screen.
    saved = {"en": "Limits saved; in force on: bess", "es": "Límites guardados; en vigor en: bess"}
    qtbot.waitUntil(lambda: limits.result.text() in saved.values(), timeout=3000)
    before = window.languages.current
    other = "en" if before == "es" else "es"
    window.set_language(other)
    try:
        qtbot.waitUntil(lambda: limits.result.text() == saved[other], timeout=3000)
    finally:
        window.set_language(before)
    qtbot.waitUntil(lambda: limits.result.text() == saved[before], timeout=3000)
    # A set the site file would refuse is refused whole, and nothing changes.
    limits.spins["temp_warning_c"].setValue(50.0)  # above the 45 °C trip
    qtbot.mouseClick(limits.apply, Qt.MouseButton.LeftButton)
    hold(qtbot, limits.dialog.hold)
    qtbot.waitUntil(lambda: "refused" in limits.result.text(), timeout=5000)
    assert controller.guard.limits.temp_warning_c == 40.0
    assert "temp_warning_c" not in site_file.read_text()
    # Maintenance on and off, audited.
    qtbot.mouseClick(limits.maintenance, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.maintenance, timeout=5000)
    qtbot.mouseClick(limits.maintenance, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not controller.maintenance, timeout=5000)


def test_a_commissioning_run_from_the_page_writes_pdf_and_json_with_the_audit_head(
    app: tuple[MainWindow, Gateway, Loop], qtbot: QtBot, tmp_path: Path
) -> None:
    window, gateway, _aio = app
    login(window, qtbot, "enzo", "314159")
    page = _devices_tab(window, qtbot, 3)
    tab = page.commission  # type: ignore[attr-defined]
    tab.checks["comms_loss"].setChecked(True)
    qtbot.mouseClick(tab.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(
            "simulated link" in tab.progress.item(i).text() for i in range(tab.progress.count())
        ),
        timeout=60000,
    )
    assert tab.drop.isEnabled()
    qtbot.mouseClick(tab.drop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.report is not None, timeout=60000)
    report = tab.report
    assert report is not None
    tests = {t["name"]: t for t in report["tests"]}
    assert all(t["passed"] for t in tests.values()), tests
    # The device counts its 10 s from the last heartbeat it got, up to one heartbeat interval
    # (2 s) before the run stops them: the fall is 8 s at the earliest.
    assert 7.9 <= tests["watchdog"]["figures"]["fall_s"] <= 14.0
    assert tests["comms_loss"]["figures"]["mode_after"] == "standby"
    qtbot.waitUntil(
        lambda: "Report saved" in tab.saved.text() or "Informe" in tab.saved.text(), timeout=10000
    )
    pdf = tab.report_path.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    saved = json.loads(tab.report_path.with_suffix(".json").read_text())
    assert saved["audit_head_hash"] == report["audit_head_hash"]
    assert gateway.audit.verify().ok
    seq, _digest = gateway.audit.head()
    assert saved["audit_head_seq"] <= seq
    assert (
        next(r for r in gateway.audit.records() if r.seq == saved["audit_head_seq"]).hash
        == saved["audit_head_hash"]
    )
    assert "Watchdog" in tab.preview.toPlainText()
    # The preview shows the plots the PDF prints, drawn from the series the JSON keeps.
    for test in ("step", "watchdog", "interlock"):
        plot = tab.preview.document().resource(ImageResource, QUrl(f"plot:{test}"))
        assert isinstance(plot, QImage)
        assert plot.width() > 0
        assert saved["tests"][[t["name"] for t in saved["tests"]].index(test)]["series"]["t_s"]


def test_the_device_form_shows_one_link_row_and_fits_the_kiosk(
    app: tuple[MainWindow, Gateway, Loop], qtbot: QtBot
) -> None:
    window, _, _ = app
    form = DeviceDialog(window.bridge, None)
    qtbot.addWidget(form)
    form.show()
    tcp, rtu = form.links
    assert form.form.isRowVisible(tcp)
    assert not form.form.isRowVisible(rtu)
    # TCP: host and port on one row, unit beside the poll interval; room left for the table.
    assert form.minimumSizeHint().height() <= 460
    form.link.setCurrentIndex(1)
    assert form.form.isRowVisible(rtu)
    assert not form.form.isRowVisible(tcp)
    assert form.minimumSizeHint().height() <= 460
    form.name.setText("bms")
    form.serial.setText("/dev/ttyUSB0")
    form.parity.setCurrentText("E")
    fields = form.fields()
    assert fields["serial_port"] == "/dev/ttyUSB0"
    assert fields["parity"] == "E"
    assert "host" not in fields
