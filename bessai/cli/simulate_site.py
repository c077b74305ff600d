"""``bessai simulate --site FILE``: every device of a site file served and coupled as one plant."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bessai.cli.common import wait_for_stop
from bessai.core.config.settings import ConfigError, load_site_file
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.attacks import Attack, flood, rogue_master, scan
from bessai.drivers.simulator.plant import PlantConfigError, PlantDevice, PlantSimulator
from bessai.drivers.simulator.server import Fault

Runner = Callable[[str, int, int], Coroutine[Any, Any, None]]
RUNNERS: dict[Attack, Runner] = {
    Attack.ROGUE_MASTER: rogue_master,
    Attack.SCAN: scan,
    Attack.FLOOD: flood,
}


def plant_devices(path: Path) -> list[PlantDevice]:
    """The devices of a site file as the simulator serves them; raises ConfigError."""
    site = load_site_file(path)
    shown = " ".join(repr(str(path))[1:-1].split())
    plant = site.plant
    devices = []
    for i, dev in enumerate(site.devices):
        where = f"site file {shown}: devices[{i}] ({dev.name})"
        if dev.host is None:
            why = (
                "simulated = true: the gateway runs it in-process"
                if dev.simulated
                else "on a serial port: simulate --site serves Modbus TCP only"
            )
            raise ConfigError(f"{where}: {why} (give it a host and port to serve it here)")
        profile = load_profile(dev.profile)
        devices.append(
            PlantDevice(
                name=dev.name,
                profile=profile,
                role=dev.role,
                host=dev.host,
                port=dev.port if dev.port is not None else profile.connection.port,
                unit_id=dev.unit_id,
                batteries=plant.inverters.get(dev.name, ()) or plant.racks.get(dev.name, ()),
            )
        )
    return devices


def _pair(text: str, sep: str, what: str) -> tuple[str, str]:
    name, found, value = text.partition(sep)
    if not found or not name or not value:
        raise ConfigError(f"{what} {text!r}: expected DEVICE{sep}VALUE (e.g. bms1{sep}...)")
    return name, value


async def run_plant(args: argparse.Namespace) -> None:
    """Serve the plant until stopped (or ``--duration``), with its faults and attacks."""
    try:
        plant = PlantSimulator(
            plant_devices(args.site), seed=args.seed, load_kw=args.load_kw, pv_kw=args.pv_kw
        )
        for text in args.soc:
            name, value = _pair(text, "=", "--soc")
            try:
                soc = float(value)
            except ValueError:
                raise ConfigError(f"--soc {text!r}: {value!r} is not a number (0..100)") from None
            plant.set_soc(name, soc)
        for text in args.fault:
            name, fault = _pair(text, ":", "--fault")
            plant.inject(name, fault)
        attacks = [_pair(text, ":", "--attack") for text in args.attack]
        for name, attack in attacks:
            if attack not in {a.value for a in Attack}:
                known = ", ".join(a.value for a in Attack)
                raise ConfigError(f"--attack {name}:{attack}: unknown attack (known: {known})")
            if name not in plant.sims:
                raise ConfigError(f"--attack {name}:{attack}: no device {name!r} in the plant")
        ports = await plant.start()
    except PlantConfigError as exc:
        raise ConfigError(f"simulate --site: {exc}") from None
    for line in plant.describe():
        print(line, flush=True)
    tasks: list[asyncio.Task[None]] = []
    for name, attack in attacks:
        if attack == Attack.REPLAY:
            plant.inject(name, Fault.FROZEN)
        else:
            host = plant.devices[name].host
            unit = plant.sims[name].unit_id
            tasks.append(asyncio.create_task(RUNNERS[Attack(attack)](host, ports[name], unit)))
        print(f"attack {attack} on {name} running", flush=True)
    try:
        await wait_for_stop(args.duration)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await plant.stop()
