"""``bessai site check``: a site file, every profile it names and every device's limits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bessai.cli.common import EXIT_CONFIG
from bessai.core.config.plant import PlantError, check_plant_profiles
from bessai.core.config.settings import ConfigError, Settings, device_limits, load_site_file
from bessai.drivers.profile_loader import ProfileError, load_profile

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    site = sub.add_parser("site", help="site files")
    site_sub = site.add_subparsers(dest="site_command", required=True)
    site_check = site_sub.add_parser(
        "check", help="validate site files with their profiles and limits (exit 2 naming the fault)"
    )
    site_check.add_argument("files", nargs="+", type=Path)


def run(args: argparse.Namespace, settings: Settings) -> int:
    status = 0
    for path in args.files:
        shown = " ".join(repr(str(path))[1:-1].split())
        try:
            site = load_site_file(path)
            profiles = {d.name: load_profile(d.profile) for d in site.devices}
            try:
                device_limits(site.limits, site.devices, profiles)
                check_plant_profiles(site.plant, profiles)
            except (ConfigError, PlantError) as exc:
                raise ConfigError(f"site file {shown}: {exc}") from None
        except ConfigError as exc:
            print(f"INVALID {' '.join(str(exc).split())}", file=sys.stderr)
            status = EXIT_CONFIG
        except ProfileError as exc:
            print(f"INVALID site file {shown}: {' '.join(str(exc).split())}", file=sys.stderr)
            status = EXIT_CONFIG
        else:
            names = ", ".join(f"{d.name} ({profiles[d.name].id})" for d in site.devices)
            print(f"ok      {shown}: {len(site.devices)} devices: {names}")
    return status
