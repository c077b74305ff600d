"""``bessai export``: local history (raw samples) as CSV."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bessai.core.config.settings import Settings
from bessai.core.stores.history import History

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    history = sub.add_parser("export", help="export local history (raw samples) as CSV")
    history.add_argument("--device", help="only this device")
    history.add_argument(
        "--from",
        dest="start",
        type=datetime.fromisoformat,
        help="start, ISO 8601 (default: 24 h ago)",
    )
    history.add_argument(
        "--to", dest="end", type=datetime.fromisoformat, help="end, ISO 8601 (default: now)"
    )
    history.add_argument("--out", type=Path, help="file to write (default: standard output)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    history = History(settings.DATA_DIR / "history.db")
    try:
        end = args.end.timestamp() if args.end else time.time()
        start = args.start.timestamp() if args.start else end - 86400
        if args.out:
            with args.out.open("w", newline="", encoding="utf-8") as out:
                n = history.export_csv(out, args.device, start, end)
        else:
            n = history.export_csv(sys.stdout, args.device, start, end)
        print(f"{n} samples exported", file=sys.stderr)
        return 0
    finally:
        history.db.close()
