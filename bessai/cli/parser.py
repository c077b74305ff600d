"""The ``bessai`` argument parser, assembled from the part each command module adds."""

from __future__ import annotations

import argparse

from bessai import __version__
from bessai.cli import (
    audit,
    cloud,
    commission,
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


def build_parser() -> argparse.ArgumentParser:
    """The gateway's own flags, then one subparser per command, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(
        prog="bessai", description="BESSAI Edge gateway for battery storage"
    )
    parser.add_argument("--version", action="version", version=f"bessai-edge {__version__}")
    run.add_arguments(parser)
    sub = parser.add_subparsers(dest="command")
    for module in (
        site,
        users,
        audit,
        export,
        simulate,
        dispatch,
        cloud,
        fleet,
        discover,
        commission,
        profile,
    ):
        module.add_parser(sub)
    return parser
