"""A whole plant simulated: every device of a site on its own Modbus TCP server, coupled as one.

Each device is a ``BessSimulator`` (its profile's registers, faults, counters)
whose model ``PlantPhysics`` couples: a PCS drives the racks of the BMS it
names, each BMS computes its limits, the POI meter sees the sum. One stepper
advances them in that order, so that a read always sees one instant of the
plant. Faults are per device (``bms1:over_temperature``): the simulator's own
(``Fault``) and the plant's (``PlantFault``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, cast

from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer

from bessai.drivers.profile import Profile
from bessai.drivers.simulator.physics import BatteryModel, BatteryParams
from bessai.drivers.simulator.plant_physics import (
    MeterModel,
    PcsModel,
    PlantPhysics,
    RackModel,
    RackParams,
)
from bessai.drivers.simulator.server import BessSimulator, Fault, rated_params
from bessai.drivers.simulator.units import OwnUnitOnly

log = logging.getLogger(__name__)

DeviceRole = Literal["inverter", "bms", "meter", "other"]


class PlantFault(StrEnum):
    """Faults of the plant, on top of the simulator's own (``Fault``)."""

    CONTACTOR_OPEN = "contactor_open"  # a BMS's contactor opens (and stays open)
    CELL_IMBALANCE = "cell_imbalance"  # a BMS: one cell 0.3 V above the others (CCL derates)
    INSULATION = "insulation"  # a BMS raises its insulation alarm: the contactor opens
    UNDER_FREQUENCY = "under_frequency"  # the grid at 49.5 Hz (any device)
    OVER_FREQUENCY = "over_frequency"  # the grid at 50.5 Hz (any device)


class PlantConfigError(ValueError):
    """A plant the simulator cannot serve as described: one line naming the device."""


@dataclass(frozen=True)
class PlantDevice:
    """One device to serve: its profile, where, and what it drives."""

    name: str
    profile: Profile
    role: DeviceRole
    host: str
    port: int
    unit_id: int | None = None
    batteries: tuple[str, ...] = ()


NOMINAL_HZ = 50.0


def _fault(text: str) -> Fault | PlantFault:
    for kind in (Fault, PlantFault):
        with contextlib.suppress(ValueError):
            return kind(text)
    known = ", ".join([*(f.value for f in Fault), *(f.value for f in PlantFault)])
    raise PlantConfigError(f"unknown fault {text!r} (known: {known})")


class PlantSimulator:
    """Every device of a plant served on its own host, port and unit, stepped as one plant."""

    def __init__(
        self,
        devices: Sequence[PlantDevice],
        *,
        seed: int = 0,
        step_hz: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        load_kw: float = 60.0,
        pv_kw: float | None = None,
    ) -> None:
        self.devices = {d.name: d for d in devices}
        self.step_hz = step_hz
        self.clock = clock
        self.physics = PlantPhysics()
        self.sims: dict[str, BessSimulator] = {}
        self.ports: dict[str, int] = {}
        self.faults: dict[str, set[Fault | PlantFault]] = {d.name: set() for d in devices}
        seen: dict[tuple[str, int, int], str] = {}
        for i, dev in enumerate(devices):
            model = self._model(dev, seed + i, load_kw, pv_kw)
            sim = BessSimulator(
                dev.profile, unit_id=dev.unit_id, step_hz=0, clock=clock, model=model, seed=seed + i
            )
            for unit in sim.unit_ids:
                where = (dev.host, dev.port, unit)
                if dev.port != 0 and where in seen:
                    raise PlantConfigError(
                        f"{dev.name} and {seen[where]} are both unit {unit} on "
                        f"{dev.host}:{dev.port}: give each its own unit id or port"
                    )
                seen[where] = dev.name
            self.sims[dev.name] = sim
        self._stepper: asyncio.Task[None] | None = None
        self._shared: list[Any] = []  # servers of several units behind one endpoint
        self._last_step = clock()
        self.step(0.0)

    def _model(
        self, dev: PlantDevice, seed: int, load_kw: float, pv_kw: float | None
    ) -> BatteryModel:
        phys = self.physics
        if dev.role == "inverter" and dev.batteries:
            pcs = PcsModel(params=rated_params(dev.profile, BatteryParams()), seed=seed)
            phys.pcs[dev.name] = pcs
            phys.racks_of[dev.name] = dev.batteries
            return pcs
        if dev.role == "bms":
            rack = RackModel(params=rated_params(dev.profile, RackParams()), seed=seed)
            phys.racks[dev.name] = rack
            return rack
        if dev.role == "meter":
            meter = MeterModel(seed=seed, load_kw=load_kw, pv_kw=pv_kw)
            phys.meters[dev.name] = meter
            return meter
        model = BatteryModel(params=rated_params(dev.profile, BatteryParams()), seed=seed)
        if dev.role == "inverter":
            phys.hybrids[dev.name] = model  # a hybrid with its own battery
        return model

    def _ordered(self, models: Sequence[str]) -> list[BessSimulator]:
        return [self.sims[name] for name in models]

    def step(self, dt_s: float) -> None:
        """Advance the plant: PCS (with what their DC side allows), racks, then meters."""
        phys = self.physics
        phys.before_pcs_step()
        for sim in self._ordered([*phys.pcs, *phys.hybrids]):
            sim.step(dt_s)
        phys.before_rack_step()
        for sim in self._ordered(list(phys.racks)):
            sim.step(dt_s)
        phys.before_meter_step()
        for sim in self._ordered(list(phys.meters)):
            sim.step(dt_s)
        coupled = {*phys.pcs, *phys.hybrids, *phys.racks, *phys.meters}
        for name, sim in self.sims.items():
            if name not in coupled:
                sim.step(dt_s)

    def inject(self, device: str, fault: Fault | PlantFault | str, active: bool = True) -> None:
        """Show (or clear) a fault on one device; raises PlantConfigError for a bad name."""
        if device not in self.sims:
            raise PlantConfigError(
                f"no device {device!r} in the plant (it has {', '.join(self.sims)})"
            )
        kind = _fault(fault) if isinstance(fault, str) else fault
        if isinstance(kind, Fault):
            self.sims[device].inject(kind, active)
        else:
            self._plant_fault(device, kind, active)
        if active:
            self.faults[device].add(kind)
        else:
            self.faults[device].discard(kind)
        self.step(0.0)

    def _plant_fault(self, device: str, fault: PlantFault, active: bool) -> None:
        if fault in (PlantFault.UNDER_FREQUENCY, PlantFault.OVER_FREQUENCY):
            offset = -0.5 if fault is PlantFault.UNDER_FREQUENCY else 0.5
            self.physics.set_grid_frequency(NOMINAL_HZ + offset if active else NOMINAL_HZ)
            return
        rack = self.physics.racks.get(device)
        if rack is None:
            raise PlantConfigError(f"fault {fault.value!r} is a BMS's; {device} is no BMS")
        if fault is PlantFault.CONTACTOR_OPEN:
            rack.contactor_forced_open = active
        elif fault is PlantFault.CELL_IMBALANCE:
            rack.cell_offset_v = 0.3 if active else 0.0
        elif fault is PlantFault.INSULATION:
            rack.insulation_fault = active
        log.info("%s: fault %s %s", device, fault.value, "on" if active else "off")

    def _rack(self, bms: str) -> RackModel:
        rack = self.physics.racks.get(bms)
        if rack is None:
            known = ", ".join(self.physics.racks) or "none"
            raise PlantConfigError(f"no BMS {bms!r} in the plant (its BMS: {known})")
        return rack

    def set_soc(self, bms: str, soc_pct: float) -> None:
        """Put a rack at this state of charge (tests, demos of SoC balancing)."""
        self._rack(bms).soc_pct = min(100.0, max(0.0, soc_pct))
        self.step(0.0)

    def set_temperature(self, bms: str, temp_c: float) -> None:
        """Put a rack at this mean temperature (its hottest cell is 2 K above)."""
        self._rack(bms).temp_c = temp_c
        self.step(0.0)

    def set_current_limits(
        self, bms: str, *, ccl_max_a: float | None = None, dcl_max_a: float | None = None
    ) -> None:
        """Change the most a rack's BMS allows before any derating (a step in CCL or DCL)."""
        params = self._rack(bms).rack
        if ccl_max_a is not None:
            params.ccl_max_a = max(0.0, ccl_max_a)
        if dcl_max_a is not None:
            params.dcl_max_a = max(0.0, dcl_max_a)
        self.step(0.0)

    @property
    def grid_kw(self) -> float:
        """What the POI meter reads now (without noise), + import; 0 without a meter."""
        meters = list(self.physics.meters.values())
        return meters[0].grid_kw() if meters else 0.0

    def set_site(self, *, load_kw: float | None = None, pv_kw: float | None = None) -> None:
        """Change the site's load or PV (fixed kW) seen by the meters."""
        for meter in self.physics.meters.values():
            if load_kw is not None:
                meter.load_kw = load_kw
            if pv_kw is not None:
                meter.pv_kw = pv_kw

    def endpoints(self) -> dict[tuple[str, int], list[str]]:
        """The devices on each host and port: several units share one, as behind a gateway.

        Port 0 (a free one) is never shared.
        """
        groups: dict[tuple[str, int], list[str]] = {}
        for name, dev in self.devices.items():
            key = (dev.host, dev.port) if dev.port != 0 else (dev.host, -len(groups) - 1)
            groups.setdefault(key, []).append(name)
        return groups

    async def start(self) -> dict[str, int]:
        """Serve every device; returns the bound ports by device (port 0 picks a free one)."""
        try:
            for (host, port), names in self.endpoints().items():
                port = max(port, 0)
                try:
                    if len(names) == 1:
                        bound = await self.sims[names[0]].start_tcp(host, port)
                    else:
                        bound = await self._start_shared(host, port, names)
                except OSError as exc:
                    raise PlantConfigError(
                        f"{', '.join(names)}: cannot serve on {host}:{port}: {exc.strerror or exc}"
                    ) from None
                self.ports.update(dict.fromkeys(names, bound))
        except BaseException:
            await self.stop()
            raise
        if self._stepper is None and self.step_hz > 0:
            self._last_step = self.clock()
            self._stepper = asyncio.get_running_loop().create_task(self._run_stepper())
        return dict(self.ports)

    async def _start_shared(self, host: str, port: int, names: list[str]) -> int:
        """One server for several devices, each answering its own unit ids (a gateway)."""
        sims = [self.sims[n] for n in names]
        by_unit = {unit: sim for sim in sims for unit in sim.unit_ids}

        def packet(sending: bool, data: bytes) -> bytes:
            sim = by_unit.get(data[6]) if len(data) > 6 else None
            return data if sim is None else sim.trace_tcp_packet(sending, data)

        def pdu(sending: bool, message: ModbusPDU) -> ModbusPDU:
            sim = by_unit.get(message.dev_id)
            return message if sim is None else sim.trace_pdu(sending, message)

        server = ModbusTcpServer(
            [device for sim in sims for device in sim.sim_devices()],
            address=(host, port),
            trace_packet=packet,
            trace_pdu=pdu,
            ignore_missing_devices=True,
        )
        server.context = cast(Any, OwnUnitOnly(server.context, sorted(by_unit)))
        await server.serve_forever(background=True)
        for sim in sims:
            sim.serve_shared(server)
        self._shared.append(server)
        bound: int = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        log.info(
            "plant: %s on tcp://%s:%d, units %s", ", ".join(names), host, bound, sorted(by_unit)
        )
        return bound

    async def _run_stepper(self) -> None:
        period = 1.0 / self.step_hz
        while True:
            await asyncio.sleep(period)
            now = self.clock()
            self.step(now - self._last_step)
            self._last_step = now

    async def stop(self) -> None:
        if self._stepper is not None:
            self._stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stepper
            self._stepper = None
        for sim in self.sims.values():
            await sim.stop()
        for server in self._shared:
            await server.shutdown()
        self._shared.clear()

    def describe(self) -> list[str]:
        """One line per device: what it is, where it is served and what it drives."""
        lines = []
        for name, dev in self.devices.items():
            sim = self.sims[name]
            port = self.ports.get(name, dev.port)
            drives = f", drives {' + '.join(dev.batteries)}" if dev.batteries else ""
            lines.append(
                f"simulator {name} ({dev.profile.id}, {dev.role}) on tcp://{dev.host}:{port} "
                f"unit {sim.unit_id}{drives}"
            )
        return lines
