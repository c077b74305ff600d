"""``main``: parse, load the settings, hand the command to its module, and turn the
errors a user can fix into one line and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from bessai import notice
from bessai.cli import (
    audit,
    cloud,
    discover,
    dispatch,
    export,
    fleet,
    profile,
    run,
    simulate,
    site,
    users,
)
from bessai.cli.common import EXIT_CONFIG
from bessai.cli.parser import build_parser
from bessai.core.config.settings import ConfigError, Settings, load_settings
from bessai.core.observe.logs import setup_logging
from bessai.core.site.instance import StartError
from bessai.core.stores.database import StoreUnusable
from bessai.drivers.profile_loader import ProfileError

Command = Callable[[argparse.Namespace, Settings], int]

# Without a command, and for ``commission``, the site's gateway is built (run.run).
COMMANDS: dict[str, Command] = {
    "profile": profile.run,
    "site": site.run,
    "simulate": simulate.run,
    "users": users.run,
    "audit": audit.run,
    "export": export.run,
    "dispatch": dispatch.run,
    "cloud": cloud.run,
    "fleet": fleet.run,
    "discover": discover.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # stores, exports and the lock are private to the service user
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"bessai: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.LOG_LEVEL)
    notice.configure(settings.SYSTEM_USE_NOTICE)  # shown before every login prompt (SR 1.12)
    try:
        return COMMANDS.get(args.command, run.run)(args, settings)
    except (ConfigError, ProfileError) as exc:
        print(f"bessai: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (StartError, StoreUnusable) as exc:
        print(f"bessai: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
