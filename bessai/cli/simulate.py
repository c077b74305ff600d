"""``bessai simulate``: the BESS simulator as a standalone Modbus TCP (and RTU) server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bessai.cli.common import wait_for_stop
from bessai.cli.simulate_site import run_plant
from bessai.core.config.settings import ConfigError, Settings
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.attacks import Attack, flood, rogue_master, scan
from bessai.drivers.simulator.plant import PlantFault
from bessai.drivers.simulator.server import BessSimulator, Fault
from bessai.drivers.simulator.sunspec_chain import sunspec_simulator_map

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    sim = sub.add_parser(
        "simulate", help="serve the simulated battery as a Modbus TCP (and RTU) server"
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sim.add_argument(
        "--port", type=int, default=5020, help="TCP port (default 5020; 0 picks a free one)"
    )
    sim.add_argument("--serial", metavar="DEVICE", help="also serve Modbus RTU on this serial port")
    sim.add_argument("--baudrate", type=int, default=19200)
    sim.add_argument("--seed", type=int, default=0, help="random seed (measurement noise)")
    sim.add_argument(
        "--profile", default="sim_bess", help="profile to serve (registry id or JSON file)"
    )
    sim.add_argument(
        "--unit-id", type=int, default=None, help="Modbus unit id (default: the profile's)"
    )
    sim.add_argument(
        "--sunspec",
        action="store_true",
        help="serve the battery as a SunSpec device (models 1, 124, 713, 802, 803 at 40000) "
        "instead of a profile",
    )
    sim.add_argument(
        "--site",
        type=Path,
        metavar="FILE",
        help="serve every device of this site file on its own host, port and unit, coupled "
        "as one plant (PCS drive their BMS's racks, the POI meter sees the sum)",
    )
    sim.add_argument(
        "--attack",
        action="append",
        default=[],
        metavar="[DEVICE:]ATTACK",
        help="also run a scripted attack against the simulator (IDS demos): "
        f"{', '.join(a.value for a in Attack)}; with --site, DEVICE:ATTACK",
    )
    sim.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="[DEVICE:]FAULT",
        help=f"start with a fault injected: {', '.join(f.value for f in Fault)}; with --site, "
        f"DEVICE:FAULT, also {', '.join(f.value for f in PlantFault)}",
    )
    sim.add_argument(
        "--soc",
        action="append",
        default=[],
        metavar="BMS=PCT",
        help="with --site: start this BMS's rack at this state of charge",
    )
    sim.add_argument(
        "--load-kw", type=float, default=60.0, help="with --site: the site's load (default 60)"
    )
    sim.add_argument(
        "--pv-kw",
        type=float,
        default=None,
        help="with --site: the site's PV, fixed (default: a clear-sky day, 80 kW at noon)",
    )
    sim.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.site is not None:
        asyncio.run(run_plant(args))
        return 0
    for text in args.fault:
        if text not in {f.value for f in Fault}:
            known = ", ".join(f.value for f in Fault)
            raise ConfigError(f"--fault {text!r}: unknown fault (known: {known})")
    for text in args.attack:
        if text not in {a.value for a in Attack}:
            known = ", ".join(a.value for a in Attack)
            raise ConfigError(f"--attack {text!r}: unknown attack (known: {known})")
    asyncio.run(run_simulator(args))
    return 0


async def run_simulator(args: argparse.Namespace) -> None:
    """Serve until stopped (or ``--duration``), with the requested faults and attacks."""
    if args.sunspec:
        profile, constants = sunspec_simulator_map()
        sim = BessSimulator(profile, seed=args.seed, unit_id=args.unit_id, constants=constants)
    else:
        sim = BessSimulator(load_profile(args.profile), seed=args.seed, unit_id=args.unit_id)
        profile = sim.profile
    for name in args.fault:
        sim.inject(Fault(name))
    port = await sim.start_tcp(args.host, args.port)
    print(f"simulator {profile.id} on tcp://{args.host}:{port} unit {sim.unit_id}", flush=True)
    attacks: list[asyncio.Task[None]] = []
    for name in args.attack:
        if name == Attack.REPLAY:
            sim.inject(Fault.FROZEN)
            continue
        runners: dict[Attack, Callable[[str, int, int], Coroutine[Any, Any, None]]] = {
            Attack.ROGUE_MASTER: rogue_master,
            Attack.SCAN: scan,
            Attack.FLOOD: flood,
        }
        attacks.append(asyncio.create_task(runners[Attack(name)](args.host, port, sim.unit_id)))
        print(f"attack {name} running", flush=True)
    if args.serial:
        await sim.start_rtu(args.serial, args.baudrate)
        print(f"simulator {profile.id} on rtu://{args.serial} unit {sim.unit_id}", flush=True)
    try:
        await wait_for_stop(args.duration)
    finally:
        for task in attacks:
            task.cancel()
        for task in attacks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await sim.stop()
