"""``bessai discover``: find a device's unit id and map; a SunSpec chain becomes a profile,
otherwise the report says what answered and which shipped profiles fit."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bessai.cli.common import EXIT_CONFIG
from bessai.core.config.settings import Settings

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    disc = sub.add_parser(
        "discover",
        help="find a device's unit id and map: a SunSpec chain becomes a profile; otherwise "
        "what answered, and the shipped profiles that fit",
    )
    disc.add_argument("host", nargs="?", help="the device's address (Modbus TCP)")
    disc.add_argument(
        "--serial",
        metavar="PORT",
        help="search a Modbus RTU line instead (/dev/ttyUSB0): baud rates, parities, unit ids",
    )
    disc.add_argument(
        "--baud",
        type=int,
        action="append",
        metavar="N",
        help="with --serial: only this baud rate (repeatable; default 9600 19200 38400 "
        "115200 57600 4800)",
    )
    disc.add_argument(
        "--parity",
        choices=("N", "E", "O"),
        action="append",
        help="with --serial: only this parity (repeatable; default N E O)",
    )
    disc.add_argument(
        "--deadline",
        type=float,
        default=120.0,
        metavar="S",
        help="give up after S seconds (default 120)",
    )
    disc.add_argument(
        "--port", type=int, help="Modbus TCP port (default 502, or 802 with --tls-ca)"
    )
    disc.add_argument("--unit", type=int, help="only this unit id (default: probe 1..247)")
    disc.add_argument("--out", type=Path, help="write the discovered profile here (JSON)")
    disc.add_argument("--force", action="store_true", help="replace an existing --out file")
    disc.add_argument(
        "--all-units", action="store_true", help="keep probing after the first unit that answers"
    )
    disc.add_argument(
        "--allow-remote",
        action="store_true",
        help="scan unit ids although the host is not on this computer's networks",
    )
    disc.add_argument(
        "--timeout", type=float, default=0.5, metavar="S", help="per request (default 0.5)"
    )
    disc.add_argument(
        "--interval",
        type=float,
        default=0.05,
        metavar="S",
        help="at least S seconds between requests (default 0.05)",
    )
    disc.add_argument(
        "--tls-ca",
        metavar="PEM",
        help="Modbus/TCP Security: the CA the device's certificate must be signed by",
    )
    disc.add_argument("--tls-cert", metavar="PEM", help="with --tls-ca: this gateway's certificate")
    disc.add_argument("--tls-key", metavar="PEM", help="with --tls-cert: its private key")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Report what answered; a SunSpec map is written as a profile."""
    from bessai.drivers.discovery import (
        SERIAL_BAUDRATES,
        SERIAL_PARITIES,
        DiscoveryError,
        discover,
        discover_serial,
        discovered_profile,
        write_profile,
    )
    from bessai.drivers.profile_loader import parse_profile
    from bessai.drivers.tls import MODBUS_TLS_PORT, TlsFiles

    if (args.tls_cert or args.tls_key) and not (args.tls_ca and args.tls_cert and args.tls_key):
        print(
            "bessai: discover: --tls-cert and --tls-key go together, with --tls-ca", file=sys.stderr
        )
        return EXIT_CONFIG
    tls = TlsFiles(args.tls_ca, args.tls_cert, args.tls_key) if args.tls_ca else None
    args.port = args.port or (MODBUS_TLS_PORT if tls else 502)
    if (args.host is None) == (args.serial is None):
        print("bessai: discover: give a host (Modbus TCP) or --serial PORT (RTU)", file=sys.stderr)
        return EXIT_CONFIG
    if args.serial is None and (args.baud or args.parity):
        print("bessai: discover: --baud and --parity go with --serial", file=sys.stderr)
        return EXIT_CONFIG
    if args.out is not None and args.out.exists() and not args.force:
        print(f"bessai: {args.out} exists (pass --force to replace it)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.serial is not None:
            found = asyncio.run(
                discover_serial(
                    args.serial,
                    unit=args.unit,
                    baudrates=tuple(args.baud or SERIAL_BAUDRATES),
                    parities=tuple(args.parity or SERIAL_PARITIES),
                    all_units=args.all_units,
                    timeout_s=args.timeout,
                    interval_s=args.interval,
                    deadline_s=args.deadline,
                )
            )
        else:
            found = asyncio.run(
                discover(
                    args.host,
                    args.port,
                    unit=args.unit,
                    allow_remote=args.allow_remote,
                    all_units=args.all_units,
                    timeout_s=args.timeout,
                    interval_s=args.interval,
                    deadline_s=args.deadline,
                    tls=tls,
                )
            )
    except DiscoveryError as exc:
        print(f"bessai: discover: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    where = (
        f"{args.serial} at {found.line or 'no setting that answered'}"
        if args.serial is not None
        else f"{args.host}:{args.port}"
    )
    print(
        f"{where}: {found.requests} requests in {found.elapsed_s:.1f} s; "
        f"units answering: {', '.join(map(str, found.units)) or 'none'}"
    )
    for refused in found.skipped:
        print(f"  skipped: {refused}")
    if not found.units:
        return 1
    sunspec = found.sunspec
    if sunspec is None:
        print(f"unit {found.units[0]}: no SunSpec marker at 40000, 0 or 50000")
        for table, address, outcome in found.ranges:
            print(f"  {table:<9} {address:>6}: {outcome}")
        if found.suggestions:
            for s in found.suggestions:
                shown = ", ".join(f"{k}={v}" for k, v in s.values.items())
                print(
                    f"suggested profile {s.profile_id}: {s.matched}/{s.read} identity registers fit ({shown})"
                )
        else:
            print(
                "no shipped profile's identity registers fit: write a profile from the vendor's map"
            )
        if args.out is not None:
            print(f"no profile written to {args.out}: without SunSpec the map is the vendor's")
        return 0
    ident = sunspec.identity
    print(
        f"unit {sunspec.unit_id}: SunSpec at {sunspec.base}: {ident.get('Mn', '?')} "
        f"{ident.get('Md', '?')}, firmware {ident.get('Vr', '?')}, serial {ident.get('SN', '?')}"
    )
    print("  models: " + ", ".join(f"{p.id}@{p.address} (L={p.length})" for p in sunspec.chain))
    if sunspec.unknown:
        print("  vendor models left out: " + ", ".join(map(str, sunspec.unknown)))
    for problem in sunspec.problems:
        print(f"  warning: {problem}")
    data = discovered_profile(
        sunspec,
        args.serial or args.host,
        args.port,
        datetime.now().isoformat(timespec="seconds"),
        line=found.line,
    )
    profile = parse_profile(data, str(args.out or "discovered profile"))
    roles = ", ".join(f"{r.role.value}={r.name}" for r in profile.registers if r.role is not None)
    print(f"  roles: {roles}")
    print(
        f"  control: {'window (model 124)' if profile.control else 'none (no model 124 or WChaMax)'}"
    )
    if args.out is None:
        print("no --out: profile not written")
        return 0
    try:
        write_profile(data, args.out)
    except OSError as exc:
        print(f"bessai: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"profile {profile.id} written to {args.out} ({len(profile.registers)} registers)")
    return 0
