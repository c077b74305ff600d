"""``bessai dispatch check|export``: load the dispatch model as the gateway would; export
the proposal record."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bessai.core.config.settings import Settings
from bessai.core.control.proposals import DispatchRecord
from bessai.core.dispatch import DispatchModel, ModelError
from bessai.core.dispatch.model import builtin_model_path

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    dispatch = sub.add_parser("dispatch", help="the dispatch model and the proposal record")
    dispatch_sub = dispatch.add_subparsers(dest="dispatch_command", required=True)
    model = dispatch_sub.add_parser(
        "check", help="load a dispatch model as the gateway would; exit 1 if it is not usable"
    )
    model.add_argument(
        "model",
        nargs="?",
        type=Path,
        help="ONNX file (default: DISPATCH_MODEL_PATH or the shipped model)",
    )
    record = dispatch_sub.add_parser(
        "export", help="export the proposal record (shadow and active) as CSV"
    )
    record.add_argument("--device", help="only this device")
    record.add_argument("--hours", type=float, default=24.0, help="how far back (default 24)")
    record.add_argument("--out", type=Path, help="file to write (default: standard output)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.dispatch_command == "check":
        path = args.model or settings.DISPATCH_MODEL_PATH or builtin_model_path()
        try:
            model = DispatchModel(path)
        except ModelError as exc:
            print(f"bessai: {exc}", file=sys.stderr)
            return 1
        meta = model.metadata
        features = ", ".join(f"{f.name} [{f.unit}]" for f in meta.features)
        print(f"{path}: {meta.name} {meta.version}, sha256 {meta.sha256}")
        print(f"  inputs: {features}")
        print(
            f"  output: {meta.output.name} ({meta.output.meaning}), {meta.output.min}..{meta.output.max}"
        )
        print(f"  trained: {meta.training.get('command', '?')}")
        return 0
    record = DispatchRecord(settings.DATA_DIR / "dispatch.db")
    try:
        since = time.time() - args.hours * 3600
        if args.out:
            with args.out.open("w", newline="", encoding="utf-8") as out:
                n = record.export_csv(out, args.device, since)
        else:
            n = record.export_csv(sys.stdout, args.device, since)
        print(f"{n} proposals exported", file=sys.stderr)
        return 0
    finally:
        record.db.close()
