"""The grid operator's link over today's gateway: ``ScadaSite`` on its controllers and pollers.

Site values are summed (power, allowed power, setpoint in force) or averaged
(SoC) over the controllers' batteries, each with the time stamp of the oldest
sample it comes from. Commands go through the controllers' own operator
methods, with the grid operator's identity ``scada:<address>`` as an operator
session: the same role check, guard, interlocks, ramp and audit as a local
command. Remote control is the Manual mode held by that identity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bessai.core.alarms.manager import AlarmDefinition
from bessai.core.config.scada import ScadaSettings
from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode, ControlStateChanged
from bessai.core.control.verification import remote_refusal
from bessai.core.guard.safety import Reason
from bessai.core.runtime.events import SampleTaken
from bessai.core.scada.metrics import ScadaCollector
from bessai.core.scada.outstation import Outstation, ScadaUnavailable
from bessai.core.scada.points import DEFAULT_POINTS, PointSpec, load_point_list
from bessai.core.scada.site import Outcome, Reading
from bessai.core.site.instance import StartError
from bessai.core.stores.auth import Role, Session
from bessai.drivers.profile import Role as Quantity

if TYPE_CHECKING:
    from bessai.core.site.gateway import Gateway

log = logging.getLogger(__name__)


def _session(by: str) -> Session:
    now = time.time()
    return Session(token="", user=by, role=Role.OPERATOR, created=now, last_seen=now)


class GatewayScadaSite:
    """``ScadaSite`` over a running Gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def _batteries(self) -> list[Controller]:
        return list(self.gateway.controllers.values())

    def _role(self, names: list[str], role: str, now: float, combine: str = "sum") -> Reading:
        """A role over these devices' latest samples: None if any lacks it."""
        values: list[float] = []
        stamps: list[float] = []
        stale = False
        max_age = self.gateway.limits.max_sample_age_s
        for name in names:
            poller = self.gateway.pollers.get(name)
            sample = None if poller is None else poller.status.last_sample
            if poller is None or sample is None:
                return Reading(None, None, True)
            value = sample.roles.get(role)
            if value is None:
                return Reading(None, sample.ts, not poller.status.up)
            values.append(value)
            stamps.append(sample.ts)
            stale = stale or not poller.status.up or now - sample.ts > max_age
        if not values:
            return Reading(None, None)
        total = sum(values) if combine == "sum" else sum(values) / len(values)
        return Reading(total, min(stamps), stale)

    def _reporting(self, role: str, now: float, combine: str = "sum") -> Reading:
        """A role over the devices that report it (None if none does)."""
        names = [
            name
            for name, poller in self.gateway.pollers.items()
            if poller.status.last_sample is not None
            and poller.status.last_sample.roles.get(role) is not None
        ]
        return self._role(names, role, now, combine) if names else Reading(None, None)

    def readings(self) -> dict[str, Reading]:
        now = time.time()
        batteries = self._batteries()
        names = [c.device.name for c in batteries]
        power = self._role(names, Quantity.ACTIVE_POWER_KW.value, now)
        states = [c.state(now) for c in batteries]
        interlocks = {i.reason for s in states for i in s.interlocks}
        applied = [c.applied_at for c in batteries if c.applied_at is not None]
        down = [p for p in self.gateway.pollers.values() if not p.status.up]
        return {
            "active_power_kw": power,
            "soc_pct": self._role(names, Quantity.SOC_PCT.value, now, combine="mean"),
            "allowed_discharge_kw": Reading(
                sum(max(0.0, s.window.max_kw) for s in states), power.ts, power.stale
            ),
            "allowed_charge_kw": Reading(
                sum(max(0.0, -s.window.min_kw) for s in states), power.ts, power.stale
            ),
            "setpoint_kw": Reading(
                sum(c.applied_kw or 0.0 for c in batteries), max(applied) if applied else now
            ),
            "reactive_power_kvar": self._reporting(Quantity.REACTIVE_POWER_KVAR.value, now),
            "grid_frequency_hz": self._reporting(
                Quantity.GRID_FREQUENCY_HZ.value, now, combine="mean"
            ),
            "protection_trip": Reading(Reason.INTERLOCK_TRIP in interlocks, now),
            "estop_latched": Reading(any(s.estop_latched for s in states), now),
            "comms_lost": Reading(bool(down), now),
            "intrusion_lockout": Reading(Reason.INTERLOCK_INTRUSION in interlocks, now),
        }

    async def remote_control(self, on: bool, by: str) -> Outcome:
        mode = ControlMode.MANUAL if on else ControlMode.STANDBY
        # Power no commissioning run has verified is never the grid operator's: refused whole.
        doubt = remote_refusal({c.device.name: c.unverified_power for c in self._batteries()})
        if on and doubt is not None:
            return Outcome(False, doubt.message_en)
        for controller in self._batteries():
            if on and controller.mode is ControlMode.MANUAL:
                continue
            result = await controller.set_mode(_session(by), mode)
            if not result.ok:
                return Outcome(False, f"{controller.device.name}: {result.message_en}")
        return Outcome(True, "remote control on" if on else "standby")

    async def site_setpoint_kw(self, value: float, by: str) -> Outcome:
        """The grid operator's setpoint for the site: the site controller splits it (by the
        energy each battery can deliver, within each window) through the same command API,
        guard and audit as a local operator's."""
        commands = self.gateway.commands
        targets = commands.targets()
        if not targets:
            return Outcome(False, "no battery here can be commanded")
        result = await commands.command_setpoint(_session(by), value, targets[0])
        if not result.ok:
            return Outcome(False, result.message_en)
        applied = result.verdict.value_kw if result.verdict is not None else value
        return Outcome(True, result.message_en, applied)

    async def site_reactive_kvar(self, value: float, by: str) -> Outcome:
        """The grid operator's reactive setpoint: split by each inverter's room beside its P."""
        commands = self.gateway.commands
        targets = commands.targets()
        if not targets:
            return Outcome(False, "no battery here can be commanded")
        result = await commands.command_reactive(_session(by), value, targets[0])
        return Outcome(result.ok, result.message_en, value if result.ok else None)

    def on_change(self, wake: Callable[[], None]) -> Callable[[], None]:
        undo = [
            self.gateway.bus.subscribe(SampleTaken, lambda _: wake()),
            self.gateway.bus.subscribe(ControlStateChanged, lambda _: wake()),
        ]

        def unsubscribe() -> None:
            for each in undo:
                each()

        return unsubscribe

    def hold_authority(self, holder: str | None) -> None:
        for controller in self._batteries():
            controller.remote_authority = holder

    def record(self, user: str, action: str, outcome: str, **detail: Any) -> None:
        self.gateway.books.record(user, action, outcome, **detail)

    def alarm(self, definition: AlarmDefinition, active: bool, detail: str = "") -> None:
        self.gateway.alarms.define(definition)
        self.gateway.alarms.update(definition.id, active, detail)
        self.gateway.books.flush_alarms()


def scada_points(settings: ScadaSettings, base: Path | None = None) -> tuple[PointSpec, ...]:
    """The default point list, or the one ``[scada.iec104] points`` names (a relative path
    from ``base``, the site file's folder); raises ConfigError in one line."""
    path = settings.iec104.points
    if path is None:
        return DEFAULT_POINTS
    if base is not None and not path.is_absolute():
        path = base / path
    return load_point_list(path)


async def start_outstation(
    gateway: Gateway, settings: ScadaSettings, points: tuple[PointSpec, ...] = DEFAULT_POINTS
) -> Outstation:
    """The outstation for this gateway, started; raises ScadaUnavailable in one line."""
    outstation = Outstation(GatewayScadaSite(gateway), settings, points)
    await outstation.start()
    return outstation


class ScadaLink:
    """The outstation as one of the gateway's links (``Gateway.links``): started once the site
    runs, stopped before it stops. ``outstation`` is None while it is not running."""

    name = "scada"  # its section of /health

    def __init__(self, gateway: Gateway, settings: ScadaSettings, base: Path | None = None) -> None:
        self.gateway = gateway
        self.settings = settings
        self.points = scada_points(settings, base)  # a bad point list stops the start here
        self.outstation: Outstation | None = None
        self.collector = ScadaCollector(gateway.site_id, self.summary)

    async def start(self) -> None:
        try:
            self.outstation = await start_outstation(self.gateway, self.settings, self.points)
        except ScadaUnavailable as exc:
            raise StartError(str(exc)) from None
        self.gateway.metrics.registry.register(self.collector)

    async def stop(self) -> None:
        """Never raises: the gateway's own stop (the battery to zero) comes after it."""
        if self.outstation is None:
            return
        self.gateway.metrics.registry.unregister(self.collector)
        try:
            await self.outstation.stop()
        except Exception as exc:
            log.error(
                "IEC 104 outstation did not stop cleanly",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
        self.outstation = None

    def summary(self) -> dict[str, Any] | None:
        """The ``scada`` section of /health (None while the link is not running)."""
        return None if self.outstation is None else self.outstation.summary()
