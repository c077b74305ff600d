"""``bessai profile check|list``: validate device profiles, list the shipped ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bessai.cli.common import EXIT_CONFIG
from bessai.core.config.settings import Settings
from bessai.drivers.profile_loader import ProfileError, load_profile, registry_ids

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    prof = sub.add_parser("profile", help="device profiles")
    prof_sub = prof.add_subparsers(dest="profile_command", required=True)
    check = prof_sub.add_parser("check", help="validate profile files")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a profile carries warnings (what its discovery could not confirm)",
    )
    prof_sub.add_parser("list", help="list the shipped profiles")


def run(args: argparse.Namespace, settings: Settings) -> int:
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
            print(f"INVALID {' '.join(str(exc).split())}", file=sys.stderr)
            status = EXIT_CONFIG
        else:
            shown = " ".join(f"{path}: {p.manufacturer} {p.model}".split())
            count = len(p.warnings)
            warned = f", {count} warning{'s' if count != 1 else ''}" if count else ""
            print(f"ok      {shown}, {len(p.registers)} registers{warned}")
            for warning in p.warnings:
                print(f"  warning: {' '.join(warning.split())}")
            if p.warnings and args.strict and status == 0:
                status = 1
    return status
