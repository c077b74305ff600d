"""``bessai fleet``: every site's latest state, live, from the telemetry subscription."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from bessai.cli.common import EXIT_CONFIG
from bessai.core.config.settings import Settings

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    fleet = sub.add_parser(
        "fleet", help="every site's latest state, live, from the telemetry subscription"
    )
    fleet.add_argument("--subscription", required=True, help="subscription on the telemetry topic")
    fleet.add_argument("--project", help="Google Cloud project (default: GCP_PROJECT_ID)")
    fleet.add_argument(
        "--stale-after",
        type=float,
        default=30.0,
        metavar="S",
        help="a silent site is stale after S s",
    )
    fleet.add_argument("--every", type=float, default=1.0, metavar="S", help="redraw every S s")
    fleet.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """A live table: redrawn in place on a terminal, printed as blocks when piped."""
    from google.api_core import exceptions as api_errors

    from bessai.core.cloud.fleet import Fleet, FleetReader, render

    project = args.project or settings.GCP_PROJECT_ID
    if not project:
        print("bessai: fleet needs --project or GCP_PROJECT_ID", file=sys.stderr)
        return EXIT_CONFIG
    fleet = Fleet(stale_after_s=args.stale_after)
    reader = FleetReader(project, args.subscription, fleet)
    tty = sys.stdout.isatty()
    started = time.monotonic()
    drawn = 0.0
    try:
        while args.duration is None or time.monotonic() - started < args.duration:
            try:
                reader.pull_once(timeout_s=min(2.0, args.every))
            except api_errors.NotFound:
                print(f"bessai: subscription {reader.path} does not exist", file=sys.stderr)
                return 1
            except (api_errors.DeadlineExceeded, api_errors.ServiceUnavailable):
                pass  # nothing arrived, or the link is down: the ages show it
            if time.monotonic() - drawn >= args.every:
                drawn = time.monotonic()
                table = render(fleet.rows(), fleet)
                print(("\x1b[H\x1b[2J" if tty else "") + table + ("" if tty else "\n"), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
    return 0
