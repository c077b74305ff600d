"""Overview, in the spirit of a "brief" page: the SoC ring, the power flow with the allowed
window, and the intrusion score with its band above the fold; secondary cards below.

One device or many, everything comes from the core's site snapshot: the ring
shows the site's stored energy (SoC weighted by capacity) coloured by the
lowest battery, the flow the summed power, the temperature card the hottest
battery with its name — never an average — and a compact row per device
(name, state in ISA-101 colours, SoC, power, temperature, age) lists each.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QScroller,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import (
    ControlMode,
    ControlState,
    CoreBridge,
    DeviceSnapshot,
    IntrusionSummary,
    Reason,
    SafetyLimits,
    SiteSnapshot,
)
from bessai.gui.flow import FlowValues, PowerFlow, RingValues, SocRing
from bessai.gui.formatting import deadband_kw, duration_text, fmt, power_text
from bessai.gui.i18n import t
from bessai.gui.pages.control import source_text
from bessai.gui.plant_diagram import PlantDiagram, PlantElement, PlantPicture
from bessai.gui.reasons import alarm_text, of
from bessai.gui.status import alarm_badge, mode_text
from bessai.gui.widgets import STALE_AFTER_S, ValueCard, age_text


def temperature_severity(temp_c: float | None, limits: SafetyLimits | None) -> str:
    """Trip at or past the trip limits (hot or cold), warning from the warning limit."""
    if temp_c is None or limits is None:
        return "normal"
    if temp_c >= limits.temp_trip_c or temp_c <= limits.temp_cold_trip_c:
        return "trip"
    if temp_c >= limits.temp_warning_c or temp_c <= limits.temp_charge_min_c:
        return "warning"
    return "normal"


def soc_severity(soc_pct: float | None, limits: SafetyLimits | None) -> str:
    """Warning at or past the SoC floor or ceiling (the guard stops that direction there)."""
    if soc_pct is None or limits is None:
        return "normal"
    if soc_pct <= limits.soc_floor_pct or soc_pct >= limits.soc_ceiling_pct:
        return "warning"
    return "normal"


def intrusion_band(summary: IntrusionSummary) -> tuple[str, str, str]:
    """The score as shown, its band in words, and its severity."""
    score = summary.score
    if summary.state == "off":
        return "--", t("intrusion detection off"), "normal"
    if score is None:
        lefts = [d.learning_left_s for d in summary.devices.values() if d.learning_left_s]
        if summary.state == "learning" and lefts:
            return t("learning"), t("{0} left").format(duration_text(max(lefts))), "normal"
        return t("learning"), t("the normal traffic"), "normal"
    drivers = [d.driver for d in summary.devices.values() if d.score == score and d.driver]
    driver = f" · {t('driven by')} {drivers[0]}" if drivers else ""
    if score >= summary.lockout_threshold:
        return (
            fmt(score, 2),
            t("LOCKOUT (at {0})").format(fmt(summary.lockout_threshold, 2)) + driver,
            "trip",
        )
    if score >= summary.alarm_threshold:
        return (
            fmt(score, 2),
            t("ALARM (at {0})").format(fmt(summary.alarm_threshold, 2)) + driver,
            "warning",
        )
    band = t("normal; alarm at {0}").format(fmt(summary.alarm_threshold, 2))
    return fmt(score, 2), band, "normal"


def device_state_text(device: DeviceSnapshot) -> str:
    """A device's state in a word or two, worst first."""
    if device.estop_latched:
        return t("E-STOP")
    if not device.up:
        return t("NO COMMS")
    reasons = {i.reason for i in device.interlocks}
    if Reason.INTERLOCK_TRIP in reasons:
        return t("TRIP")
    if Reason.INTERLOCK_INTRUSION in reasons:
        return t("LOCKOUT")
    if reasons:
        return t("INTERLOCK")
    mode = device.mode
    if mode is None:
        return t("reading")
    return {
        ControlMode.STANDBY: t("Standby"),
        ControlMode.MANUAL: t("Manual"),
        ControlMode.AUTO: t("Auto"),
    }[mode]


class DeviceRows(QFrame):
    """Each device in one compact row under the site summary: name, state in ISA-101
    colours, SoC, power, temperature and the age of its data."""

    COLUMNS = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(4, 2, 4, 2)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(2)
        self.cells: dict[str, list[QLabel]] = {}
        self.row_frames: dict[str, QFrame] = {}
        self._names: tuple[str, ...] = ()
        # What each cell shows (text, severity): a frame that changes nothing touches no
        # label (asking Qt for a property costs ~40 µs; 21 devices × 6 cells, several a second).
        self._shown: dict[tuple[str, int], tuple[str, str]] = {}

    def _build(self, names: tuple[str, ...]) -> None:
        for labels in self.cells.values():
            for label in labels:
                self.grid.removeWidget(label)
                label.deleteLater()
        self.cells = {}
        self._shown = {}
        self._names = names
        for row, name in enumerate(names):
            labels = [QLabel() for _ in range(self.COLUMNS)]
            for column, label in enumerate(labels):
                label.setObjectName("deviceCell")
                self.grid.addWidget(label, row, column)
            self.cells[name] = labels
        self.grid.setColumnStretch(self.COLUMNS - 1, 1)

    def show_site(
        self,
        snap: SiteSnapshot,
        band_kw: float,
        limits_of: Callable[[str], SafetyLimits | None],
    ) -> None:
        names = snap.names
        if names != self._names:
            self._build(names)
        for device in snap.devices:
            labels = self.cells[device.name]
            temp = device.temp_c
            values = (
                device.name,
                device_state_text(device),
                f"SoC {fmt(device.soc_pct, 0)} %",
                f"{power_text(device.power_kw, band_kw)} kW",
                f"{fmt(temp)} °C",
                age_text(device.age_s),
            )
            for column, (label, text) in enumerate(zip(labels, values, strict=True)):
                severity = "normal"
                if column == 1:
                    severity = device.severity
                elif column == 4:
                    severity = temperature_severity(temp, limits_of(device.name))
                shown = self._shown.get((device.name, column))
                if shown == (text, severity):
                    continue
                self._shown[device.name, column] = (text, severity)
                if shown is None or shown[0] != text:
                    label.setText(text)
                if shown is None or shown[1] != severity:
                    label.setProperty("severity", severity)
                    label.style().unpolish(label)
                    label.style().polish(label)
        self.setVisible(len(names) > 1)

    def row_text(self, name: str) -> str:
        return " | ".join(label.text() for label in self.cells.get(name, []))

    def row_severity(self, name: str) -> str:
        labels = self.cells.get(name)
        return "normal" if not labels else str(labels[1].property("severity"))


def plant_picture(snap: SiteSnapshot, band_kw: float) -> PlantPicture | None:
    """The snapshot's plant as the single-line diagram shows it (None: not a plant)."""
    plant = snap.plant
    if plant is None or not plant.is_plant:
        return None
    elements: list[PlantElement] = []
    grid = snap.grid_power_kw.value
    elements.append(
        PlantElement("grid", "grid", (t("Grid"), f"{power_text(grid, band_kw)} kW"), flow_kw=grid)
    )
    meter = snap.device(plant.poi_meter) if plant.poi_meter else None
    if meter is not None:
        elements.append(
            PlantElement(
                meter.name,
                "meter",
                (meter.name, f"{power_text(grid, band_kw)} kW", device_state_text(meter)),
                meter.severity,
                grid,
            )
        )
    for inverter in plant.inverters:
        pcs = snap.device(inverter)
        if pcs is None:
            continue
        elements.append(
            PlantElement(
                pcs.name,
                "pcs",
                (pcs.name, f"{power_text(pcs.power_kw, band_kw)} kW", device_state_text(pcs)),
                pcs.severity,
                pcs.power_kw,
            )
        )
        racks = plant.batteries_of(inverter)
        for name in racks:
            bms = snap.device(name)
            if bms is None:
                continue
            share = None if pcs.power_kw is None else pcs.power_kw / len(racks)
            elements.append(
                PlantElement(
                    bms.name,
                    "bms",
                    (bms.name, f"SoC {fmt(bms.soc_pct, 0)} %", f"{fmt(bms.temp_c)} °C"),
                    bms.severity,
                    share,
                    parent=inverter,
                )
            )
    limiting = snap.limiting
    words = "" if limiting is None else t("limited by {0}: {1}").format(*limiting)
    return PlantPicture(tuple(elements), words, band_kw)


class OverviewPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.ring = SocRing()
        self.flow = PowerFlow()
        self.soc = ValueCard("State of charge", "")
        self.soc.layout().insertWidget(1, self.ring, 1)  # type: ignore[union-attr]
        self.soc.value.setVisible(False)  # the ring shows it
        self.power = ValueCard("Power flow", "")
        self.power.layout().insertWidget(1, self.flow, 1)  # type: ignore[union-attr]
        self.diagram = PlantDiagram()  # a plant: the single-line diagram instead of the flow
        self.diagram.setVisible(False)
        self.power.layout().insertWidget(2, self.diagram, 1)  # type: ignore[union-attr]
        self.power.value.setVisible(False)
        self.power.detail.setVisible(False)  # the ring's card says the age
        self.ids = ValueCard("Intrusion score")
        self.temp = ValueCard("Battery temperature", "°C")
        self.alarms = ValueCard("Active alarms")
        self.setpoint = ValueCard("Setpoint", "kW")
        self.mode = ValueCard("Mode")
        self.voltage = ValueCard("Pack voltage", "V")
        self.current = ValueCard("Pack current", "A")
        self.devices = ValueCard("Devices")
        self.outbox = ValueCard("Cloud outbox")
        self.primary = [self.soc, self.power, self.ids, self.temp, self.alarms]
        self.secondary = [
            self.setpoint,
            self.mode,
            self.devices,
            self.voltage,
            self.current,
            self.outbox,
        ]
        self.cards = self.primary + self.secondary
        side = QVBoxLayout()
        side.setSpacing(8)
        for card in (self.ids, self.temp, self.alarms):
            card.make_compact()
            side.addWidget(card)
        side.addStretch(1)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.soc, 2)
        top.addWidget(self.power, 3)
        top.addLayout(side, 2)
        self.grid_layout = QGridLayout()
        self.grid_layout.setSpacing(8)
        self.columns = 0
        content = QWidget()
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(self.grid_layout)
        inner.addStretch(1)
        # The secondary cards scroll (by touch too) on the 800×480 panel; the primary never do.
        self.lower_area = QScrollArea()
        self.lower_area.setWidgetResizable(True)
        self.lower_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.lower_area.setWidget(content)
        QScroller.grabGesture(
            self.lower_area.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(top, 1)
        layout.addWidget(self.lower_area)
        self.lower_content = content
        self.rows = DeviceRows()
        inner.insertWidget(0, self.rows)
        self._arrange(3)
        bridge.text_frame.connect(self.refresh)

    def _arrange(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for card in self.secondary:
            self.grid_layout.removeWidget(card)
        for i, card in enumerate(self.secondary):
            self.grid_layout.addWidget(card, i // columns, i % columns)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._arrange(3 if self.width() < 1100 else 6)
        # The secondary cards take what they need, up to a third of the page (then scroll);
        # the primary facts take the rest.
        needed = self.lower_content.sizeHint().height() + 2
        self.lower_area.setMaximumHeight(min(needed, max(100, self.height() // 3)))
        self.lower_area.setMinimumHeight(min(needed, 100))
        super().resizeEvent(event)  # type: ignore[arg-type]

    def refresh(self) -> None:
        if not self.isVisible():
            return
        snap = self.bridge.snapshot()
        ages = [d.age_s for d in snap.devices]
        age = None if not ages or None in ages else max(a for a in ages if a is not None)
        stale = age is None or age > STALE_AFTER_S
        detail = age_text(age)
        rated = self.bridge.rated_kw() or 100.0
        band = deadband_kw(rated)
        control = snap.control_of("site")
        soc = snap.soc_pct.value
        limits = self.bridge.limits()
        self._ring(snap, limits, stale, band)
        picture = plant_picture(snap, band)
        self.diagram.setVisible(picture is not None)
        self.flow.setVisible(picture is None)
        if picture is not None:
            self.diagram.set_picture(picture)
        else:
            self._flow(snap, control, rated, band, stale)
        self.soc.show_value("", detail, stale=stale, severity=soc_severity(soc, limits))
        self.power.show_value("", detail, stale=stale)
        score, words, severity = intrusion_band(self.bridge.intrusion_summary())
        self.ids.show_value(score, words, severity=severity)
        hottest = snap.hottest_temp_c
        hot_limits = self.bridge.limits_of(hottest.device) if hottest.device else limits
        where = (
            f"{hottest.device} · {detail}" if hottest.device and len(snap.devices) > 1 else detail
        )
        self.temp.show_value(
            fmt(hottest.value),
            where,
            stale=stale,
            severity=temperature_severity(hottest.value, hot_limits),
        )
        self._alarms()
        self.setpoint.show_value(
            power_text(snap.setpoint_kw if control else None),
            t("written by the gateway") if control else t("no controllable device"),
        )
        self._mode(snap, control)
        one = snap.devices[0] if len(snap.devices) == 1 else None
        self.voltage.show_value(
            fmt(one.value("pack_voltage_v") if one else None), detail, stale=stale
        )
        self.current.show_value(
            fmt(one.value("pack_current_a") if one else None), detail, stale=stale
        )
        self.rows.show_site(snap, band, self.bridge.limits_of)
        self._devices(snap)
        self._outbox()

    def _ring(
        self, snap: SiteSnapshot, limits: SafetyLimits | None, stale: bool, band: float
    ) -> None:
        soc = snap.soc_pct.value
        floor = limits.soc_floor_pct if limits else 5.0
        ceiling = limits.soc_ceiling_pct if limits else 95.0
        to_limit = ""
        power = snap.power_kw.value
        if power is not None and abs(power) >= band:
            seconds = snap.seconds_to_soc_limit()
            if seconds is not None:
                words = t("{0} to the floor") if power > 0 else t("{0} to the ceiling")
                to_limit = words.format(duration_text(seconds))
        self.ring.set_values(
            RingValues(
                soc,
                floor,
                ceiling,
                snap.energy_to_floor_kwh,
                to_limit,
                soc_severity(snap.lowest_soc_pct.value, limits),
                stale,
            )
        )

    def _flow(
        self,
        snap: SiteSnapshot,
        control: ControlState | None,
        rated: float,
        band: float,
        stale: bool,
    ) -> None:
        reason = ""
        if control is not None and control.interlocks:
            first = control.interlocks[0]
            reason = of(first)
        self.flow.set_values(
            FlowValues(
                grid_kw=snap.grid_power_kw.value,
                pv_kw=snap.pv_power_kw.value,
                battery_kw=snap.power_kw.value,
                load_kw=snap.load_kw.value,
                setpoint_kw=control.applied_kw if control else None,
                window_min_kw=control.window.min_kw if control else 0.0,
                window_max_kw=control.window.max_kw if control else 0.0,
                rated_kw=rated * max(1, len(snap.controllable)),
                deadband_kw=band,
                stale=stale,
                window_reason=reason,
            )
        )

    def _alarms(self) -> None:
        alarms = self.bridge.active_alarms()
        _, severity = alarm_badge(alarms)
        # "Active alarms" counts the active ones; cleared ones waiting for an acknowledgement
        # are on the Alarms page and in the strip's badge.
        self.alarms.show_value(
            str(sum(1 for a in alarms if a.active)),
            "\n".join(("★ " if a.first_out else "") + alarm_text(a) for a in alarms[:2]),
            severity=severity,
        )

    def _mode(self, snap: SiteSnapshot, state: ControlState | None) -> None:
        if state is None:
            self.mode.show_value("--", t("no controllable device"))
            return
        extra = ""
        proposals = [
            d.control.proposal for d in snap.controllable if d.control and d.control.proposal
        ]
        if proposals and snap.mode is ControlMode.AUTO:
            source = source_text(proposals[0].source)
            total = sum(p.setpoint_kw for p in proposals)
            extra = f"{t('proposal')} {power_text(total)} kW ({source})"
        elif state.interlocks:
            extra = t("{0} interlock(s)").format(len(state.interlocks))
        self.mode.show_value(mode_text(snap), extra)

    def _devices(self, snap: SiteSnapshot) -> None:
        up = sum(1 for d in snap.devices if d.up)
        total = len(snap.devices)
        down = [d.name for d in snap.devices if not d.up]
        self.devices.show_value(
            f"{up}/{total}",
            (t("DOWN") + ": " + ", ".join(down)) if down else t("all answering"),
            stale=up < total,
            severity="trip" if up < total else "normal",
        )

    def _outbox(self) -> None:
        outbox = self.bridge.outbox_summary()
        if outbox is None:
            self.outbox.show_value("--", t("off: no Pub/Sub topic configured"))
            return
        oldest_s = outbox.oldest_age_s
        link = t("link up") if outbox.link_up else t("link down")
        oldest = age_text(oldest_s if isinstance(oldest_s, float) else None) if outbox.depth else ""
        self.outbox.show_value(str(outbox.depth), f"{link}  {t('oldest')} {oldest}".strip())

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        self.refresh()

    def retranslate(self) -> None:
        for card in self.cards:
            card.retranslate()
        self.refresh()
