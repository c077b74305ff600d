"""Overview, in the spirit of a "brief" page: the SoC ring, the power flow with the allowed
window, and the intrusion score with its band above the fold; secondary cards below.

One device or many: the ring and the flow show the site (SoC averaged, power
summed), and the Devices card lists each device.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QScrollArea,
    QScroller,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import ControlState, CoreBridge, IntrusionSummary, SafetyLimits, Sample
from bessai.gui.flow import FlowValues, PowerFlow, RingValues, SocRing
from bessai.gui.formatting import deadband_kw, duration_text, fmt, power_text
from bessai.gui.i18n import is_spanish, t
from bessai.gui.pages.control import source_text
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


def site_value(samples: list[Sample], role: str, mean: bool = False) -> float | None:
    values = [v for s in samples if (v := s.roles.get(role)) is not None]
    if not values:
        return None
    return sum(values) / len(values) if mean else sum(values)


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
        now = time.time()
        samples = list(self.bridge.latest.values())
        ages = [now - s.ts for s in samples]
        age = max(ages) if ages else None
        stale = age is None or age > STALE_AFTER_S
        detail = age_text(age)
        limits = self.bridge.limits()
        state = self.bridge.state()
        rated = self.bridge.rated_kw() or 100.0
        band = deadband_kw(rated)
        soc = site_value(samples, "soc_pct", mean=True)
        power = site_value(samples, "active_power_kw")
        self._ring(soc, power, limits, stale, band)
        self._flow(samples, power, state, rated, band, stale)
        self.soc.show_value("", detail, stale=stale, severity=soc_severity(soc, limits))
        self.power.show_value("", detail, stale=stale)
        score, words, severity = intrusion_band(self.bridge.intrusion_summary())
        self.ids.show_value(score, words, severity=severity)
        temp = site_value(samples, "battery_temp_c", mean=True)
        self.temp.show_value(
            fmt(temp), detail, stale=stale, severity=temperature_severity(temp, limits)
        )
        self._alarms()
        applied = state.applied_kw if state else None
        self.setpoint.show_value(
            power_text(applied),
            t("written by the gateway") if state else t("no controllable device"),
        )
        self._mode(state)
        self.voltage.show_value(
            fmt(site_value(samples, "pack_voltage_v", mean=True)), detail, stale=stale
        )
        self.current.show_value(fmt(site_value(samples, "pack_current_a")), detail, stale=stale)
        self._devices(now)
        self._outbox()

    def _ring(
        self,
        soc: float | None,
        power: float | None,
        limits: SafetyLimits | None,
        stale: bool,
        band: float,
    ) -> None:
        floor = limits.soc_floor_pct if limits else 5.0
        ceiling = limits.soc_ceiling_pct if limits else 95.0
        available = None
        if soc is not None and limits is not None:
            available = max(0.0, soc - floor) / 100 * limits.capacity_kwh
        to_limit = ""
        if power is not None and abs(power) >= band:
            seconds = self.bridge.seconds_to_soc_limit(power, soc)
            if seconds is not None:
                words = t("{0} to the floor") if power > 0 else t("{0} to the ceiling")
                to_limit = words.format(duration_text(seconds))
        self.ring.set_values(
            RingValues(soc, floor, ceiling, available, to_limit, soc_severity(soc, limits), stale)
        )

    def _flow(
        self,
        samples: list[Sample],
        power: float | None,
        state: ControlState | None,
        rated: float,
        band: float,
        stale: bool,
    ) -> None:
        grid = site_value(samples, "grid_power_kw")
        pv = site_value(samples, "pv_power_kw")
        load = None if grid is None or power is None else grid + (pv or 0.0) + power
        reason = ""
        if state is not None and state.interlocks:
            first = state.interlocks[0]
            reason = first.message_es if is_spanish(self) else first.message_en
        self.flow.set_values(
            FlowValues(
                grid_kw=grid,
                pv_kw=pv,
                battery_kw=power,
                load_kw=load,
                setpoint_kw=state.applied_kw if state else None,
                window_min_kw=state.window.min_kw if state else 0.0,
                window_max_kw=state.window.max_kw if state else 0.0,
                rated_kw=rated,
                deadband_kw=band,
                stale=stale,
                window_reason=reason,
            )
        )

    def _alarms(self) -> None:
        alarms = self.bridge.active_alarms()
        count, severity = alarm_badge(alarms)
        spanish = is_spanish(self)
        self.alarms.show_value(
            str(count),
            "\n".join(
                ("★ " if a.first_out else "")
                + (a.definition.text_es if spanish else a.definition.text_en)
                for a in alarms[:2]
            ),
            severity=severity,
        )

    def _mode(self, state: ControlState | None) -> None:
        if state is None:
            self.mode.show_value("--", t("no controllable device"))
            return
        extra = ""
        if state.proposal is not None and state.mode.name == "AUTO":
            source = source_text(state.proposal.source)
            extra = f"{t('proposal')} {power_text(state.proposal.setpoint_kw)} kW ({source})"
        elif state.interlocks:
            extra = t("{0} interlock(s)").format(len(state.interlocks))
        self.mode.show_value(mode_text(state), extra)

    def _devices(self, now: float) -> None:
        statuses = self.bridge.statuses()
        band = deadband_kw(self.bridge.rated_kw())
        lines = []
        for st in statuses:
            sample = self.bridge.latest.get(st.name)
            r = sample.roles if sample else {}
            lines.append(
                f"{st.name}: {t('up') if st.up else t('DOWN')} · SoC {fmt(r.get('soc_pct'), 0)} % · "
                f"{power_text(r.get('active_power_kw'), band)} kW · {age_text(st.last_sample_age_s(now))}"
            )
        up = sum(1 for st in statuses if st.up)
        self.devices.show_value(
            f"{up}/{len(statuses)}",
            "\n".join(lines),
            stale=up < len(statuses),
            severity="trip" if up < len(statuses) else "normal",
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
