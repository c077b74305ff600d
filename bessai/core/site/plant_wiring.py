"""The plant wired into a running gateway: each inverter guarded by its BMS, the site's split,
and the links of devices no controller watches (a BMS, a meter) alarmed by name.

Kept out of ``gateway.py`` so that the gateway assembles parts and this module
says how a plant's parts guard each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bessai.core.alarms.catalogue import DEVICE_ALARMS, PLANT_ALARMS
from bessai.core.alarms.manager import AlarmManager
from bessai.core.config.plant import PlantTopology
from bessai.core.control.controller import Controller
from bessai.core.guard.safety import SafetyLimits
from bessai.core.plant.protection import BatteryLimit, BatteryProtection
from bessai.core.plant.site_control import SiteController
from bessai.core.polling.scheduler import DevicePoller, DeviceStatus
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import DeviceDisconnected, SampleTaken
from bessai.drivers.profile import Profile


def mapped_roles(profile: Profile) -> frozenset[str]:
    """The roles a profile maps (what its device can be asked for)."""
    return frozenset(str(r.role) for r in profile.registers if r.role is not None)


class PlantWiring:
    """Builds and keeps the cross-device parts of one gateway's plant."""

    def __init__(
        self,
        plant: PlantTopology,
        controllers: Mapping[str, Controller],
        pollers: Mapping[str, DevicePoller],
        profiles: Mapping[str, Profile],
        limits: Mapping[str, SafetyLimits],
        alarms: AlarmManager,
        *,
        interval_s: float,
    ) -> None:
        self.plant = plant
        self.controllers = controllers
        self.pollers = pollers
        self.profiles = profiles
        self.limits = limits
        self.alarms = alarms
        self.protections: dict[str, BatteryProtection] = {}
        for definition in (*DEVICE_ALARMS, *PLANT_ALARMS):
            alarms.define(definition)
        self.site = SiteController(
            plant,
            controllers,
            self.status_of,
            alarms,
            self.capacity_kwh,
            interval_s=interval_s,
        )

    def status_of(self, name: str) -> DeviceStatus | None:
        poller = self.pollers.get(name)
        return None if poller is None else poller.status

    def capacity_kwh(self, inverter: str) -> float:
        """The energy behind an inverter: its BMS's capacity where they say it, else its limits'."""
        batteries = self.plant.batteries_of(inverter)
        said = []
        for bms in batteries:
            status = self.status_of(bms)
            sample = None if status is None else status.last_sample
            value = None if sample is None else sample.roles.get("capacity_kwh")
            if value is not None and value > 0:
                said.append(value)
        if batteries and len(said) == len(batteries):
            return sum(said)
        lim = self.limits.get(inverter)
        return lim.capacity_kwh if lim is not None else SafetyLimits().capacity_kwh

    def protect(self, controller: Controller) -> None:
        """An inverter that names its batteries reads them through their BMS from now on."""
        name = controller.device.name
        batteries = self.plant.batteries_of(name)
        if not batteries:
            return
        protection = BatteryProtection(
            name,
            batteries,
            self.status_of,
            {b: mapped_roles(self.profiles[b]) for b in batteries if b in self.profiles},
            limits=lambda: controller.guard.limits,
            clock=controller.clock,
        )
        self.protections[name] = protection
        controller.battery = protection.inputs

    def battery_limits(self) -> dict[str, BatteryLimit]:
        """Each protected inverter's limit now, for the snapshot (what limits the window)."""
        return {n: p.last for n, p in self.protections.items() if p.last is not None}

    def attach(self, bus: EventBus) -> list[Callable[[], None]]:
        """A BMS's new sample or lost link wakes its inverter; a device with no controller has
        its link alarmed under its own name."""

        def on_sample(event: SampleTaken) -> None:
            name = event.sample.device
            self._wake_inverter(name)
            if name not in self.controllers:
                self.alarms.update("comms_lost", False, source=name)

        def on_lost(event: DeviceDisconnected) -> None:
            self._wake_inverter(event.device)
            if event.device not in self.controllers:
                self.alarms.update("comms_lost", True, event.reason, source=event.device)

        return [bus.subscribe(SampleTaken, on_sample), bus.subscribe(DeviceDisconnected, on_lost)]

    def _wake_inverter(self, device: str) -> None:
        inverter = self.plant.inverter_of(device)
        controller = None if inverter is None else self.controllers.get(inverter)
        if controller is not None:
            controller.wake()
