"""Limits of the site or of one device, and maintenance mode: an engineer's, confirmed twice."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from bessai.gui.bridge import CoreBridge, Permission
from bessai.gui.i18n import t
from bessai.gui.keypad import NumberField
from bessai.gui.widgets import ConfirmDialog, ResultLabel, said

# The limits the editor shows: name, label, unit, the range a field takes (a number outside
# it is refused with the reason, never cut; the core validates the set as a whole, as it
# does the site file).
EDITABLE = [
    ("soc_floor_pct", "SoC floor", "%", 0.0, 50.0),
    ("soc_ceiling_pct", "SoC ceiling", "%", 50.0, 100.0),
    ("max_charge_kw", "Max charge power", "kW", 0.0, 10000.0),
    ("max_discharge_kw", "Max discharge power", "kW", 0.0, 10000.0),
    ("max_ramp_kw_per_s", "Max ramp", "kW/s", 0.1, 10000.0),
    ("temp_warning_c", "Temperature warning", "°C", -40.0, 100.0),
    ("temp_trip_c", "Temperature trip", "°C", -40.0, 100.0),
    ("temp_charge_min_c", "No charging below", "°C", -40.0, 40.0),
    ("temp_cold_trip_c", "Cold trip", "°C", -40.0, 40.0),
    ("pack_voltage_min_v", "Pack voltage min", "V", 1.0, 2000.0),
    ("pack_voltage_max_v", "Pack voltage max", "V", 1.0, 2000.0),
    ("pack_current_max_a", "Pack current max", "A", 1.0, 10000.0),
]


class LimitsTab(QWidget):
    def __init__(self, bridge: CoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.scope = QComboBox()
        self.fields: dict[str, NumberField] = {}
        self.labels: dict[str, QLabel] = {}
        self.scope_label = QLabel()
        self.grid = QGridLayout()
        for name, label, unit, low, high in EDITABLE:
            field = NumberField(label, unit, low, high, decimals=1)
            self.fields[name] = field
            self.labels[name] = QLabel()
        self.spins = self.fields  # the name the screenshot scenes and older tests use
        self.columns = 0
        self._arrange(1)
        body = QWidget()
        body.setLayout(self.grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.apply = QPushButton(t("Apply limits (engineer)"))
        self.apply.setObjectName("primary")
        self.apply.setMinimumHeight(48)
        self.apply.clicked.connect(self._confirm)
        self.revert = QPushButton(t("Revert"))
        self.revert.setMinimumHeight(48)
        self.revert.clicked.connect(self.load)
        self.maintenance = QPushButton()
        self.maintenance.setMinimumHeight(48)
        self.maintenance.clicked.connect(self._toggle_maintenance)
        self.where = QLabel()
        self.where.setObjectName("muted")
        self.where.setWordWrap(True)
        self.result = ResultLabel(said)
        self.scope.setMinimumHeight(48)
        top = QHBoxLayout()
        top.addWidget(self.scope_label)
        top.addWidget(self.scope, 1)
        top.addWidget(self.maintenance)
        row = QHBoxLayout()
        row.addWidget(self.revert)
        row.addWidget(self.apply, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addLayout(row)
        layout.addWidget(self.result)
        layout.addWidget(self.where)
        self.dialog: ConfirmDialog | None = None
        self.scope.currentIndexChanged.connect(self.load)
        self.refresh_scopes()
        self.retranslate()

    def _arrange(self, columns: int) -> None:
        """The limits in one column on the kiosk, two where the screen is wide."""
        if columns == self.columns:
            return
        self.columns = columns
        for i, (name, *_) in enumerate(EDITABLE):
            line, column = divmod(i, columns)
            self.grid.addWidget(self.labels[name], line, 2 * column)
            self.grid.addWidget(self.fields[name], line, 2 * column + 1)
        for column in range(4):
            self.grid.setColumnStretch(column, 1 if column % 2 and column < 2 * columns else 0)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._arrange(2 if self.width() >= 900 else 1)
        super().resizeEvent(event)  # type: ignore[arg-type]

    def refresh_scopes(self) -> None:
        names = [None, *self.bridge.device_names()]
        current = [self.scope.itemData(i) for i in range(self.scope.count())]
        if current == names:
            return
        chosen = self.scope.currentData()
        self.scope.blockSignals(True)
        self.scope.clear()
        for name in names:
            self.scope.addItem(t("Site (every device)") if name is None else name, name)
        index = max(0, self.scope.findData(chosen))
        self.scope.setCurrentIndex(index)
        self.scope.blockSignals(False)
        self.load()

    def device(self) -> str | None:
        data = self.scope.currentData()
        return None if data is None else str(data)

    def load(self) -> None:
        limits = self.bridge.limits_of(self.device())
        for name, field in self.fields.items():
            field.setValue(float(getattr(limits, name)))
        self.refresh()

    def problems(self) -> list[str]:
        """Why a typed value cannot be taken whole, one line a field."""
        return [why for field in self.fields.values() if (why := field.problem()) is not None]

    def changes(self) -> dict[str, float]:
        limits = self.bridge.limits_of(self.device())
        changed = {}
        for name, field in self.fields.items():
            value = field.number()
            if value is not None and abs(value - float(getattr(limits, name))) > 1e-6:
                changed[name] = round(value, 3)
        return changed

    def _confirm(self) -> None:
        problems = self.problems()
        if problems:
            self.result.show_result(lambda: "\n".join(self.problems()))
            return
        changes = self.changes()
        if not changes:
            self.result.show_result(lambda: t("Nothing changed"))
            return
        limits = self.bridge.limits_of(self.device())
        units = {name: (label, unit) for name, label, unit, *_ in EDITABLE}
        lines = [
            f"{t(units[k][0])}: {float(getattr(limits, k)):g} {units[k][1]} → {v:g} {units[k][1]}"
            for k, v in changes.items()
        ]
        scope = self.device()
        lines.append(
            t("In force at once on every device without its own value")
            if scope is None
            else t("In force at once on {0}").format(scope)
        )
        self.dialog = ConfirmDialog(t("Change limits"), lines, self)
        self.dialog.accepted.connect(lambda: self.bridge.set_limits(scope, changes, self._done))
        self.dialog.open()

    def _done(self, result: object) -> None:
        if isinstance(result, list):
            devices = ", ".join(result)
            self.result.show_result(
                lambda: t("Limits saved; in force on: {0}").format(
                    devices or t("no device (each has its own value)")
                )
            )
            self.load()
        else:
            self.result.show_result(str(result))

    def _toggle_maintenance(self) -> None:
        device = self.device()
        if device is None:
            return
        self.bridge.set_maintenance(device, not self.bridge.maintenance(device), self._maintained)

    def _maintained(self, result: object) -> None:
        self.result.show_result(
            (lambda: t("Maintenance changed")) if result == "ok" else str(result)
        )
        self.refresh()

    def retranslate(self) -> None:
        self.scope_label.setText(t("Limits of"))
        for name, label, *_ in EDITABLE:
            self.labels[name].setText(t(label))
        self.apply.setText(t("Apply limits (engineer)"))
        self.revert.setText(t("Revert"))
        if self.scope.count():
            self.scope.setItemText(0, t("Site (every device)"))
        self.refresh()

    def refresh(self) -> None:
        self.result.render_now()
        engineer = self.bridge.may(Permission.ENGINEER) and self.bridge.site_file is not None
        self.apply.setEnabled(engineer)
        device = self.device()
        on = device is not None and self.bridge.maintenance(device)
        state = t("Maintenance: ON") if on else t("Maintenance: off")
        # Greyed, it says why: maintenance is a device's, and an engineer's to switch.
        if device is None:
            state = t("Maintenance: choose a device")
        elif not engineer:
            state = f"{state} ({t('engineer')})"
        self.maintenance.setText(state)
        self.maintenance.setProperty("severity", "warning" if on else "normal")
        self.maintenance.setEnabled(engineer and device is not None)
        where = (
            t("Saved to {0}").format(self.bridge.site_file)
            if self.bridge.site_file is not None
            else t("This site's limits come from the environment: not editable here")
        )
        self.apply.setToolTip(where)
        # The kiosk's height goes to the limits; where they are saved shows on a laptop.
        self.where.setText(where if self.height() >= 420 else "")
        self.where.setVisible(self.height() >= 420)
