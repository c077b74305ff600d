"""``bessai commission``: a device's commissioning tests run headless on the started site,
the report written as JSON and PDF. The gateway is built by :mod:`bessai.cli.run`, which
hands it here."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bessai.cli.common import EXIT_CONFIG, display_available
from bessai.core.stores.auth import AuthError

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers
    from bessai.core.site.gateway import Gateway


def add_parser(sub: Subparsers) -> None:
    commission = sub.add_parser(
        "commission",
        help="run a device's commissioning tests headless (identity, poll, setpoint step, "
        "watchdog, interlock) and write the report as JSON and PDF",
    )
    commission.add_argument("--device", required=True, help="the device, as the site file names it")
    commission.add_argument(
        "--report", required=True, type=Path, help="report file: FILE.json and FILE.pdf are written"
    )
    commission.add_argument(
        "--login", required=True, metavar="USER", help="the engineer who runs it (PIN from stdin)"
    )
    commission.add_argument(
        "--comms-loss",
        type=float,
        metavar="S",
        help="also run the comms-loss test: wait up to S s for the link to drop and come back",
    )
    commission.add_argument("--step-kw", type=float, help="size of the setpoint steps")
    commission.add_argument(
        "--tests",
        default="identity,poll,step,watchdog,interlock",
        help="comma-separated tests to run, in order (default: all but comms_loss)",
    )
    commission.add_argument(
        "--lang", choices=["es", "en"], default="es", help="language of the PDF (default es)"
    )


async def run_commissioning(gateway: Gateway, args: argparse.Namespace, secret: str) -> int:
    """Start the site, run the device's tests, write JSON and PDF."""

    from bessai.core.site.commissioning import (
        TESTS,
        CommissioningError,
        CommissioningRun,
        write_report_json,
    )

    unknown = [t for t in args.tests.split(",") if t.strip() and t.strip() not in TESTS]
    if unknown:
        print(
            f"bessai: commission: unknown test {unknown[0]!r} (tests: {', '.join(TESTS)})",
            file=sys.stderr,
        )
        return EXIT_CONFIG

    await gateway.start()
    try:
        try:
            session = await gateway.auth.login(args.login, secret)
        except AuthError as exc:
            print(f"bessai: commission: login refused: {exc}", file=sys.stderr)
            return 1
        try:
            run = CommissioningRun(
                gateway,
                args.device,
                session,
                step_kw=args.step_kw,
                comms_wait_s=args.comms_loss or 120.0,
            )
        except CommissioningError as exc:
            print(f"bessai: commission: {exc}", file=sys.stderr)
            return 1
        run.progress = lambda test, text: print(f"{test}: {text}", flush=True)
        tests = tuple(t.strip() for t in args.tests.split(",") if t.strip())
        tests += ("comms_loss",) if args.comms_loss and "comms_loss" not in tests else ()
        report = (await run.run(tests)).to_json()
    finally:
        await gateway.stop()
    json_path, pdf_path = args.report.with_suffix(".json"), args.report.with_suffix(".pdf")
    try:
        write_report_json(report, json_path)
        _write_report_pdf(report, pdf_path, args.lang)
    except OSError as exc:
        print(
            f"bessai: commission: cannot write the report: {exc.strerror}: {exc.filename}",
            file=sys.stderr,
        )
        return 1
    for test in report["tests"]:
        verdict = "not run" if test["passed"] is None else "PASS" if test["passed"] else "FAIL"
        print(f"{verdict:<8} {test['name']}: {test['detail']}")
    print(f"audit head #{report['audit_head_seq']} {report['audit_head_hash']}")
    print(f"report: {json_path} and {pdf_path}")
    return 0 if report["passed"] else 1


def _write_report_pdf(report: dict[str, Any], path: Path, language: str) -> None:
    """The PDF through Qt's writer; offscreen when there is no display."""
    if not display_available():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtGui import QGuiApplication

    from bessai.gui.report import write_pdf

    app = QGuiApplication.instance() or QGuiApplication([])
    write_pdf(report, path, language)
    del app
