"""The ``bessai`` command: the composition root.

``bessai`` runs the gateway (the operator app once it exists; headless until
then), ``bessai --headless`` the unattended service, ``bessai simulate`` the
BESS simulator as a standalone Modbus server, ``bessai profile check`` a
device profile's validation. Configuration errors end with exit code 2 and
one line naming what is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bessai import __version__
from bessai.core.config import ConfigError, load_settings, site_devices
from bessai.core.console import print_status
from bessai.core.gateway import Gateway
from bessai.core.logs import setup_logging
from bessai.drivers.profile import ProfileError, load_profile, registry_ids
from bessai.drivers.simulator.server import BessSimulator, Fault

log = logging.getLogger("bessai")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bessai", description="BESSAI Edge gateway for battery storage"
    )
    parser.add_argument("--version", action="version", version=f"bessai-edge {__version__}")
    parser.add_argument(
        "--headless", action="store_true", help="run the gateway without the operator app"
    )
    parser.add_argument(
        "--kiosk", action="store_true", help="operator app full-screen for the touch panel"
    )
    parser.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds"
    )
    parser.add_argument(
        "--status-every", type=float, default=2.0, metavar="S", help="status line period (headless)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the embedded simulator")
    sub = parser.add_subparsers(dest="command")

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
        "--fault",
        action="append",
        default=[],
        choices=[f.value for f in Fault],
        help="start with a fault injected",
    )
    sim.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds"
    )

    prof = sub.add_parser("profile", help="device profiles")
    prof_sub = prof.add_subparsers(dest="profile_command", required=True)
    check = prof_sub.add_parser("check", help="validate profile files")
    check.add_argument("files", nargs="+", type=Path)
    prof_sub.add_parser("list", help="list the shipped profiles")
    return parser


async def _wait_for_stop(duration_s: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if duration_s is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration_s)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def run_headless(gateway: Gateway, duration_s: float | None, status_every_s: float) -> None:
    await gateway.start()
    printer = asyncio.create_task(
        print_status(gateway.statuses, sys.stdout, every_s=status_every_s)
    )
    try:
        await _wait_for_stop(duration_s)
    finally:
        printer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await printer
        await gateway.stop()


async def run_simulator(args: argparse.Namespace) -> None:
    profile = load_profile(args.profile)
    sim = BessSimulator(profile, seed=args.seed, unit_id=args.unit_id)
    for name in args.fault:
        sim.inject(Fault(name))
    port = await sim.start_tcp(args.host, args.port)
    print(f"simulator {profile.id} on tcp://{args.host}:{port} unit {sim.unit_id}", flush=True)
    if args.serial:
        await sim.start_rtu(args.serial, args.baudrate)
        print(f"simulator {profile.id} on rtu://{args.serial} unit {sim.unit_id}", flush=True)
    try:
        await _wait_for_stop(args.duration)
    finally:
        await sim.stop()


def _profile_command(args: argparse.Namespace) -> int:
    if args.profile_command == "list":
        for pid in registry_ids():
            p = load_profile(pid)
            unverified = sum(1 for r in p.registers if not r.verified)
            print(
                f"{pid:<28} {p.manufacturer} {p.model}  ({len(p.registers)} registers, {unverified} unverified)"
            )
        return 0
    status = 0
    for path in args.files:
        try:
            p = load_profile(path)
        except ProfileError as exc:
            print(f"INVALID {exc}", file=sys.stderr)
            status = EXIT_CONFIG
        else:
            print(f"ok      {path}: {p.manufacturer} {p.model}, {len(p.registers)} registers")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"bessai: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.LOG_LEVEL)
    try:
        if args.command == "profile":
            return _profile_command(args)
        if args.command == "simulate":
            asyncio.run(run_simulator(args))
            return 0
        site_id, devices = site_devices(settings)
        gateway = Gateway(site_id, devices, simulator_seed=args.seed)
        if not args.headless:
            log.info("the operator app is not built yet: running headless")
        asyncio.run(run_headless(gateway, args.duration, args.status_every))
        return 0
    except (ConfigError, ProfileError) as exc:
        print(f"bessai: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
