"""The operator app on real widgets (offscreen) over the embedded simulator served on 127.0.0.1."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from bessai.core.control.events import ControlMode
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import Fault
from bessai.gui.charts import RingBuffer
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.pages.alarms import AlarmsPage
from tests.gui.conftest import Loop, hold, login

App = tuple[MainWindow, Gateway, Loop]


def test_navigation_reaches_every_page_with_touch_sized_targets(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    for index, button in enumerate(window.nav_buttons):
        assert button.height() >= 48
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert window.stack.currentIndex() == index
        assert window.stack.currentWidget() is window.pages[index]
    assert len(window.nav_buttons) == len(PAGES)
    assert window.estop.isVisible()
    assert window.estop.height() >= 48


def test_setpoint_from_login_through_confirmation_to_the_simulator(app: App, qtbot: QtBot) -> None:
    window, gateway, _ = app
    control = window.pages[2]
    window.show_page(2)
    assert not control.mode_buttons[ControlMode.MANUAL].isEnabled()  # read-only until login
    login(window, qtbot, "olga", "314159")
    assert window.bridge.current_session() is not None
    qtbot.waitUntil(lambda: control.mode_buttons[ControlMode.MANUAL].isEnabled(), timeout=3000)
    qtbot.mouseClick(control.mode_buttons[ControlMode.MANUAL], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: control.apply.isEnabled(), timeout=3000)
    control.pad.set_value(150.0)  # typed beyond the 100 kW limit: the guard will clamp it
    assert control.pad.value_kw == pytest.approx(150.0)
    qtbot.mouseClick(control.apply, Qt.MouseButton.LeftButton)
    dialog = control.dialog
    assert dialog is not None
    text = dialog.text.text()
    assert "0.0 kW  →  +150.0 kW" in text
    assert "+100.0 kW" in text  # the value after the guard
    assert "maximum discharge power" in text  # and why
    assert "h" in text.split("\n")[-1]  # time to the SoC limit
    qtbot.mouseClick(dialog.hold, Qt.MouseButton.LeftButton)  # a tap is not a hold
    assert dialog.isVisible()
    assert "Keep holding" in dialog.hint.text()  # and the screen says so
    hold(qtbot, dialog.hold)
    sim = gateway.simulators["bess"]
    qtbot.waitUntil(lambda: sim.model.setpoint_kw == pytest.approx(100.0, abs=0.01), timeout=10000)
    assert "Clamped" in control.status.text()
    assert "lease" in control.lease.text()


def test_interlocks_disable_controls_with_their_reasons(app: App, qtbot: QtBot) -> None:
    window, gateway, _ = app
    control = window.pages[2]
    window.show_page(2)
    login(window, qtbot, "olga", "314159")
    gateway.simulators["bess"].model.temp_c = 50.0
    qtbot.waitUntil(lambda: "Protection trip: battery" in control.checklist.text(), timeout=5000)
    assert not control.mode_buttons[ControlMode.MANUAL].isEnabled()
    assert not control.apply.isEnabled()
    assert "50" in control.checklist.text()


def test_estop_latches_and_only_an_engineer_resets_it(app: App, qtbot: QtBot) -> None:
    window, gateway, _ = app
    control = window.pages[2]
    qtbot.mouseClick(window.estop, Qt.MouseButton.LeftButton)  # no login needed to stop
    qtbot.waitUntil(lambda: gateway.controller().estop_latched, timeout=3000)
    qtbot.waitUntil(lambda: "EMERGENCY" in window.strip.sentence.text(), timeout=3000)
    assert window.strip.severity == "trip"
    assert window.strip.estop.isVisibleTo(window)
    window.show_page(2)
    login(window, qtbot, "olga", "314159")
    qtbot.waitUntil(control.reset.isVisible, timeout=3000)
    assert not control.reset.isEnabled()
    window.login_or_logout()
    login(window, qtbot, "enzo", "314159")
    qtbot.waitUntil(control.reset.isEnabled, timeout=3000)
    qtbot.mouseClick(control.reset, Qt.MouseButton.LeftButton)
    dialog = control.dialog
    assert dialog is not None
    assert "nothing resumes" in dialog.text.text()
    assert gateway.controller().estop_latched  # not before the hold
    hold(qtbot, dialog.hold)
    qtbot.waitUntil(lambda: not gateway.controller().estop_latched, timeout=3000)
    assert gateway.controller().mode is ControlMode.STANDBY


def test_wrong_pin_is_refused_on_the_pad(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    login(window, qtbot, "olga", "000000")
    assert window.bridge.current_session() is None
    assert window.pin is not None
    assert "Wrong PIN" in window.pin.message.text()


def test_charts_receive_samples(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    charts = window.pages[1]
    window.show_page(1)
    qtbot.waitUntil(lambda: len(charts.buffers["soc"]) >= 5, timeout=5000)
    frames = charts.frames
    qtbot.waitUntil(lambda: charts.frames > frames + 3, timeout=3000)
    x, y = charts.curves["soc"].getData()
    assert x is not None
    assert len(x) >= 2  # min and max of each finished bucket
    assert np.nanmax(y) == pytest.approx(50.0, abs=0.5)


def test_language_switch_relabels_the_app(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    assert "Overview" in window.nav_buttons[0].text()
    window.set_language("es")
    qtbot.waitUntil(lambda: "Resumen" in window.nav_buttons[0].text(), timeout=3000)
    assert window.pages[0].soc.title.text() == "Estado de carga"
    assert window.estop.text() == "PARADA DE EMERGENCIA"
    window.set_language("en")
    qtbot.waitUntil(lambda: "Overview" in window.nav_buttons[0].text(), timeout=3000)


def test_stale_values_look_stale_with_their_age(app: App, qtbot: QtBot) -> None:
    window, gateway, _ = app
    overview = window.pages[0]
    qtbot.waitUntil(lambda: "s ago" in overview.temp.detail.text(), timeout=3000)
    assert not overview.temp.stale
    gateway.pollers["bess"].stopping = True
    qtbot.waitUntil(lambda: overview.temp.stale, timeout=10000)
    assert overview.temp.value.property("stale") is True
    assert overview.ring.values.stale


def test_kiosk_cannot_be_closed_without_an_engineer(
    qapp: QApplication, qtbot: QtBot, aio: Loop, app: App
) -> None:
    window, _, _ = app
    window.kiosk = True
    window.close()
    assert window.isVisible()
    assert window.exits == []  # type: ignore[attr-defined]
    login(window, qtbot, "enzo", "314159")
    window.close()
    assert window.exits  # type: ignore[attr-defined]


def test_ten_thousand_qt_calls_leave_none_refcount_alone(app: App) -> None:
    window, _, _ = app
    label = window.pages[0].soc.title
    before = sys.getrefcount(None)
    for i in range(10_000):
        label.setText(str(i % 7))
        label.isVisible()
    QCoreApplication.processEvents()
    assert sys.getrefcount(None) >= before - 100


def test_ring_buffer_keeps_the_newest_in_order() -> None:
    ring = RingBuffer(5)
    for i in range(12):
        ring.append(float(i), float(i) * 10)
    t, v = ring.view()
    assert t.tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert v.tolist() == [70.0, 80.0, 90.0, 100.0, 110.0]
    t, _ = ring.view(since=9.5)
    assert t.tolist() == [10.0, 11.0]


def test_envelope_cache_matches_a_full_recomputation() -> None:
    from bessai.gui.pages.charts import EnvelopeCache, envelope

    rng = np.random.default_rng(3)
    ring = RingBuffer(5000)
    cache = EnvelopeCache()
    t = 1_000_000.0
    for step in range(60):
        for _ in range(int(rng.integers(1, 200))):
            t += 0.37
            ring.append(t, float(rng.normal()) if rng.random() > 0.05 else None)
        start = t - 600.0
        xs, ys = cache.points(ring, start, 2.5)
        x, y = ring.view(start)
        _, first, low, high = envelope(x, y, 2.5)
        assert ys[0::2].tolist() == low.tolist(), step
        assert ys[1::2].tolist() == high.tolist(), step
        assert xs[0::2].tolist() == first.tolist(), step


def test_idle_session_falls_back_to_read_only_and_input_keeps_it(app: App, qtbot: QtBot) -> None:
    window, gateway, _ = app
    gateway.auth.idle_timeout_s = 1.0
    login(window, qtbot, "olga", "314159")
    assert window.bridge.current_session() is not None
    for _ in range(4):  # typing keeps the session alive past the idle time
        qtbot.wait(400)
        qtbot.keyClick(window, Qt.Key.Key_Shift)
    assert window.bridge.current_session() is not None
    qtbot.waitUntil(
        lambda: window.bridge.current_session() is None, timeout=3000
    )  # the screen refreshing is not activity
    assert "Read only" in window.user.text() or window.user.text() == "Solo lectura"


def test_settings_switch_language_and_theme(app: App, qtbot: QtBot, qapp: QApplication) -> None:
    window, _, _ = app
    settings = window.settings
    settings.language.setCurrentIndex(settings.language.findData("es"))
    qtbot.waitUntil(lambda: "Resumen" in window.nav_buttons[0].text(), timeout=3000)
    settings.theme.setCurrentIndex(settings.theme.findData("light"))
    assert "#eef1f4" in qapp.styleSheet()
    settings.language.setCurrentIndex(settings.language.findData("en"))
    qtbot.waitUntil(lambda: "Overview" in window.nav_buttons[0].text(), timeout=3000)


def test_overview_shows_the_outbox_state(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    overview = window.pages[0]
    qtbot.waitUntil(lambda: "Pub/Sub" in overview.outbox.detail.text(), timeout=3000)
    assert overview.outbox.value.text() == "--"  # this gateway has no cloud topic configured


def test_week_range_is_read_from_history_off_the_loop(app: App, qtbot: QtBot) -> None:
    window, _, _ = app
    charts = window.pages[1]
    window.show_page(1)
    qtbot.waitUntil(lambda: bool(window.bridge.latest), timeout=3000)
    charts.set_range(7 * 86400)
    qtbot.waitUntil(lambda: charts.history_for == 7 * 86400, timeout=5000)
    assert {"soc", "power", "setpoint", "temp", "ids"} <= set(charts.history)
    assert charts.range_buttons["7 d"].isChecked()


def test_auto_shows_who_dispatches_the_proposal_and_its_inputs(app: App, qtbot: QtBot) -> None:
    window, gateway, _ = app
    control = window.pages[2]
    window.show_page(2)
    version = gateway.dispatch_summary().model_version
    assert version is not None
    qtbot.waitUntil(lambda: f"model {version}" in control.dispatch.text(), timeout=3000)
    login(window, qtbot, "olga", "314159")
    qtbot.waitUntil(lambda: control.mode_buttons[ControlMode.AUTO].isEnabled(), timeout=3000)
    qtbot.mouseClick(control.mode_buttons[ControlMode.AUTO], Qt.MouseButton.LeftButton)
    dialog = control.dialog
    assert dialog is not None
    assert "Auto" in dialog.text.text()
    assert gateway.controller().mode is not ControlMode.AUTO
    hold(qtbot, dialog.hold)
    qtbot.waitUntil(lambda: gateway.controller().mode is ControlMode.AUTO, timeout=3000)
    qtbot.waitUntil(lambda: "(model)" in control.dispatch.text(), timeout=3000)
    proposal = gateway.controller().state().proposal
    assert proposal is not None
    assert "Inputs:" in control.dispatch.text()
    assert "USD/MWh" in control.dispatch.text()
    window.set_language("es")
    qtbot.waitUntil(lambda: "(modelo)" in control.dispatch.text(), timeout=3000)
    assert "Entradas:" in control.dispatch.text()


def test_store_reads_of_the_screen_run_off_its_loop(
    app: App, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Users, the alarm log and the audit view are SQLite reads: never on the GUI's thread."""
    window, gateway, _ = app
    gui_thread = threading.get_ident()
    seen: dict[str, int] = {}

    def spy(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def read(*args: object, **kwargs: object) -> object:
            seen[name] = threading.get_ident()
            return real(*args, **kwargs)

        return read

    monkeypatch.setattr(gateway.auth, "users", spy("users", gateway.auth.users))
    monkeypatch.setattr(gateway.alarms, "history", spy("history", gateway.alarms.history))
    monkeypatch.setattr(gateway.audit, "records", spy("records", gateway.audit.records))
    login(window, qtbot, "olga", "314159")
    alarms = window.findChildren(AlarmsPage)[0]
    alarms.view.setCurrentIndex(1)
    alarms.refresh()
    qtbot.waitUntil(lambda: "history" in seen, timeout=3000)
    alarms.view.setCurrentIndex(2)
    alarms.refresh()
    qtbot.waitUntil(lambda: "records" in seen, timeout=3000)

    def audit_shown() -> bool:
        item = alarms.table.horizontalHeaderItem(2)
        return item is not None and item.text() in ("Action", "Acción")

    qtbot.waitUntil(audit_shown, timeout=3000)
    assert set(seen) == {"users", "history", "records"}
    assert all(thread != gui_thread for thread in seen.values()), seen


def test_an_over_temperature_trip_and_a_comms_loss_stand_out_on_the_overview(
    app: App, qtbot: QtBot
) -> None:
    """ISA-101: calm grey while normal; the abnormal value, its card and the alarm count in
    the colour of their severity (a role query on the widgets, not pixels)."""
    window, gateway, _ = app
    overview = window.pages[0]
    window.show_page(0)
    qtbot.waitUntil(lambda: overview.temp.value.text() != "--", timeout=3000)
    assert overview.temp.severity == "normal"
    assert overview.temp.value.property("severity") in (None, "normal")
    sim = gateway.simulators["bess"]
    limits = gateway.controller().guard.limits
    sim.model.temp_c = limits.temp_warning_c + 1.0
    qtbot.waitUntil(lambda: overview.temp.severity == "warning", timeout=3000)
    assert overview.temp.value.property("severity") == "warning"
    sim.model.temp_c = limits.temp_trip_c + 10.0
    qtbot.waitUntil(lambda: overview.temp.severity == "trip", timeout=3000)
    assert overview.temp.property("severity") == "trip"  # the card's border too
    qtbot.waitUntil(lambda: overview.alarms.severity == "trip", timeout=5000)  # safety trip
    assert overview.devices.severity == "normal"
    sim.inject(Fault.NO_ANSWER)
    qtbot.waitUntil(lambda: overview.devices.severity == "trip", timeout=10000)
    assert overview.devices.value.property("severity") == "trip"
