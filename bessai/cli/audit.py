"""``bessai audit verify|export``: check the audit trail's hash chain, export it as CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bessai.core.config.settings import Settings
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.database import StoreUnusable

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "verify", help="check the hash chain; exit 1 if a row was changed or deleted"
    )
    export = audit_sub.add_parser("export", help="export the audit trail as CSV")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        trail = AuditTrail(settings.DATA_DIR / "audit.db")
    except StoreUnusable as exc:
        print(f"audit trail TAMPERED or corrupt: {exc}", file=sys.stderr)
        return 1
    try:
        if args.audit_command == "verify":
            result = trail.verify()
            if result.ok:
                seq, digest = trail.head()
                print(f"audit trail intact: {result.rows} rows; head #{seq} {digest}")
                return 0
            print(f"audit trail TAMPERED: {result.problem}", file=sys.stderr)
            return 1
        if args.out:
            with args.out.open("w", newline="", encoding="utf-8") as out:
                n = trail.export_csv(out)
            print(f"{n} rows written to {args.out}")
        else:
            trail.export_csv(sys.stdout)
        return 0
    finally:
        trail.close()
