"""Overview: the battery at a glance, every value with its age."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QScroller, QVBoxLayout, QWidget

from bessai.gui.bridge import ControlMode, CoreBridge, SafetyLimits
from bessai.gui.i18n import is_spanish, t
from bessai.gui.widgets import STALE_AFTER_S, SocGauge, ValueCard, age_text


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


def alarm_severity(priorities: list[str]) -> str:
    """The highest active priority: critical or high is red, medium or low amber."""
    if any(p in ("CRITICAL", "HIGH") for p in priorities):
        return "trip"
    return "warning" if priorities else "normal"


def fmt(value: float | None, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "--"
    return f"{value:{'+' if signed else ''}.{digits}f}"


class OverviewPage(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.gauge = SocGauge()
        self.soc = ValueCard("State of charge", "")
        self.soc.layout().insertWidget(1, self.gauge)  # type: ignore[union-attr]
        self.power = ValueCard("Active power", "kW")
        self.setpoint = ValueCard("Setpoint", "kW")
        self.temp = ValueCard("Battery temperature", "°C")
        self.voltage = ValueCard("Pack voltage", "V")
        self.current = ValueCard("Pack current", "A")
        self.grid = ValueCard("Grid", "kW")
        self.pv = ValueCard("PV", "kW")
        self.mode = ValueCard("Mode")
        self.ids = ValueCard("Intrusion score")
        self.devices = ValueCard("Devices")
        self.alarms = ValueCard("Active alarms")
        self.outbox = ValueCard("Cloud outbox")
        self.cards = [
            self.soc,
            self.power,
            self.setpoint,
            self.temp,
            self.voltage,
            self.current,
            self.grid,
            self.pv,
            self.mode,
            self.ids,
            self.devices,
            self.alarms,
            self.outbox,
        ]
        self.grid_layout = QGridLayout()
        self.grid_layout.setSpacing(10)
        self.columns = 0
        self.header = QLabel()
        self.header.setObjectName("header")
        content = QWidget()
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(self.grid_layout)
        inner.addStretch(1)
        # On the 800×480 panel the cards keep their size and the page scrolls (by touch too).
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        QScroller.grabGesture(
            scroll.viewport(), QScroller.ScrollerGestureType.LeftMouseButtonGesture
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(scroll, 1)
        self._arrange(4)
        bridge.frame.connect(self.refresh)

    def _arrange(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for card in self.cards:
            self.grid_layout.removeWidget(card)
        self.grid_layout.addWidget(self.soc, 0, 0, 2, 1)  # the gauge card takes two rows
        rows = (len(self.cards) + 1) // columns + 2
        free = [(r, c) for r in range(rows) for c in range(columns) if not (c == 0 and r < 2)]
        for card, (row, col) in zip(self.cards[1:], free, strict=False):
            self.grid_layout.addWidget(card, row, col)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._arrange(3 if self.width() < 900 else 4)
        super().resizeEvent(event)  # type: ignore[arg-type]

    def refresh(self) -> None:
        now = time.time()
        self.header.setText(f"{t('Site')} {self.bridge.site_id}")
        sample = next(iter(self.bridge.latest.values()), None)
        age = None if sample is None else now - sample.ts
        stale = age is None or age > STALE_AFTER_S
        r = sample.roles if sample else {}
        detail = age_text(age)
        soc = r.get("soc_pct")
        limits = self.bridge.limits()
        self.gauge.set_value(soc, stale)
        self.soc.show_value("", detail, stale=stale, severity=soc_severity(soc, limits))
        power = r.get("active_power_kw")
        direction = (
            ""
            if power is None or abs(power) < 0.05
            else (t("discharging") if power > 0 else t("charging"))
        )
        self.power.show_value(
            fmt(power, signed=True), f"{direction}  {detail}".strip(), stale=stale
        )
        state = self.bridge.state()
        applied = state.applied_kw if state else r.get("setpoint_power_kw")
        self.setpoint.show_value(
            fmt(applied, signed=True),
            t("written by the gateway") if state else detail,
            stale=state is None and stale,
        )
        temp = r.get("battery_temp_c")
        self.temp.show_value(
            fmt(temp), detail, stale=stale, severity=temperature_severity(temp, limits)
        )
        self.voltage.show_value(fmt(r.get("pack_voltage_v")), detail, stale=stale)
        self.current.show_value(fmt(r.get("pack_current_a")), detail, stale=stale)
        self.grid.show_value(
            fmt(r.get("grid_power_kw"), signed=True), t("import +, export -"), stale=stale
        )
        self.pv.show_value(fmt(r.get("pv_power_kw")), detail, stale=stale)
        if state is None:
            self.mode.show_value("--", t("no controllable device"))
        else:
            mode_text = {
                ControlMode.STANDBY: t("Standby"),
                ControlMode.MANUAL: t("Manual"),
                ControlMode.AUTO: t("Auto"),
            }[state.mode]
            extra = ""
            if state.mode is ControlMode.AUTO and state.proposal is not None:
                source = t("model") if state.proposal.source == "model" else t("rules")
                extra = f"{t('proposal')} {state.proposal.setpoint_kw:+.1f} kW ({source})"
            elif state.interlocks:
                extra = t("{0} interlock(s)").format(len(state.interlocks))
            self.mode.show_value(mode_text, extra)
        intrusion = self.bridge.intrusion_summary()
        score = intrusion.score
        self.ids.show_value(
            t("unknown") if score is None else f"{score:.2f}",
            t("no baseline yet") if score is None else "",
        )
        lines = []
        statuses = self.bridge.statuses()
        for st in statuses:
            dev_age = st.last_sample_age_s(now)
            lines.append(f"{st.name}: {t('up') if st.up else t('DOWN')}, {age_text(dev_age)}")
        up = sum(1 for st in statuses if st.up)
        self.devices.show_value(
            f"{up}/{len(statuses)}",
            "\n".join(lines),
            stale=up < len(statuses),
            severity="trip" if up < len(statuses) else "normal",
        )
        outbox = self.bridge.outbox_summary()
        if outbox is None:
            self.outbox.show_value("--", t("off: no Pub/Sub topic configured"))
        else:
            oldest_s = outbox.oldest_age_s
            link = t("link up") if outbox.link_up else t("link down")
            oldest = (
                age_text(oldest_s if isinstance(oldest_s, float) else None) if outbox.depth else ""
            )
            self.outbox.show_value(str(outbox.depth), f"{link}  {t('oldest')} {oldest}".strip())
        active = [a for a in self.bridge.active_alarms() if a.active]
        self.alarms.show_value(
            str(len(active)),
            "\n".join(
                ("★ " if a.first_out else "")
                + (a.definition.text_es if self.bridge_spanish() else a.definition.text_en)
                for a in active[:3]
            ),
            severity=alarm_severity([a.definition.priority.name for a in active]),
        )

    def bridge_spanish(self) -> bool:
        return is_spanish(self)

    def retranslate(self) -> None:
        for card in self.cards:
            card.retranslate()
        self.refresh()
