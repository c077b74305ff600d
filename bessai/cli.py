"""The ``bessai`` command: the composition root.

``bessai`` runs the gateway (the operator app once it exists; headless until
then), ``bessai --headless`` the unattended service, ``bessai simulate`` the
BESS simulator as a standalone Modbus server, ``bessai profile check`` a
device profile's validation. Configuration errors end with exit code 2 and
one line naming what is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bessai import __version__
from bessai.core.config.settings import (
    ConfigError,
    Settings,
    app_site_file,
    device_limits,
    ids_baseline_s,
    ids_enabled,
    load_settings,
    load_site_file,
    site_config,
)
from bessai.core.control.events import ControlMode
from bessai.core.control.proposals import DispatchRecord
from bessai.core.dispatch import DispatchModel, ModelError
from bessai.core.dispatch.model import builtin_model_path
from bessai.core.observe.console import print_status
from bessai.core.observe.logs import setup_logging
from bessai.core.observe.tracing import setup_tracing
from bessai.core.runtime.heap import freeze_startup_heap
from bessai.core.site.gateway import CloudConfig, Gateway
from bessai.core.site.instance import StartError, prepare_data_dir, raise_open_file_limit
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.auth import AuthError, AuthService, Role
from bessai.core.stores.database import StoreUnusable
from bessai.core.stores.history import History
from bessai.drivers.profile_loader import ProfileError, load_profile, registry_ids
from bessai.drivers.simulator.attacks import Attack, flood, rogue_master, scan
from bessai.drivers.simulator.server import BessSimulator, Fault
from bessai.drivers.simulator.sunspec_chain import sunspec_simulator_map

log = logging.getLogger("bessai")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bessai", description="BESSAI Edge gateway for battery storage"
    )
    parser.add_argument("--version", action="version", version=f"bessai-edge {__version__}")
    parser.add_argument(
        "--headless", action="store_true", help="run the gateway without the operator app"
    )
    parser.add_argument(
        "--kiosk", action="store_true", help="operator app full-screen for the touch panel"
    )
    parser.add_argument(
        "--lang",
        choices=["es", "en"],
        default=None,
        help="language of the operator app (default: the screen's last choice, else es)",
    )
    parser.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds"
    )
    parser.add_argument(
        "--status-every", type=float, default=2.0, metavar="S", help="status line period (headless)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the embedded simulator")
    parser.add_argument(
        "--login",
        metavar="USER",
        help="log in (PIN/password from the terminal or stdin) to command",
    )
    parser.add_argument(
        "--mode", choices=[m.value for m in ControlMode], help="control mode to set after start"
    )
    parser.add_argument(
        "--setpoint-kw", type=float, metavar="KW", help="manual setpoint, positive = discharge"
    )
    sub = parser.add_subparsers(dest="command")

    site = sub.add_parser("site", help="site files")
    site_sub = site.add_subparsers(dest="site_command", required=True)
    site_check = site_sub.add_parser(
        "check", help="validate site files with their profiles and limits (exit 2 naming the fault)"
    )
    site_check.add_argument("files", nargs="+", type=Path)

    users = sub.add_parser("users", help="operator accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (the first one must be an admin)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.name.lower() for r in Role], default="operator")
    add.add_argument(
        "--as", dest="admin", metavar="ADMIN", help="an admin who authorises the change"
    )
    users_sub.add_parser("list", help="list users and roles")
    for command, text in (
        ("remove", "remove a user (admin)"),
        ("reset", "give a user a new PIN or password, and unlock it (admin)"),
        ("unlock", "clear a user's failed logins and lockout (admin)"),
    ):
        managed = users_sub.add_parser(command, help=text)
        managed.add_argument("name")
        managed.add_argument(
            "--as", dest="admin", metavar="ADMIN", required=True, help="the admin who does it"
        )
    recover = users_sub.add_parser(
        "recover-admin",
        help="local recovery of a forgotten or locked-out administrator (needs write access "
        "to DATA_DIR; audited)",
    )
    recover.add_argument("name")

    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "verify", help="check the hash chain; exit 1 if a row was changed or deleted"
    )
    export = audit_sub.add_parser("export", help="export the audit trail as CSV")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")

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

    sim = sub.add_parser(
        "simulate", help="serve the simulated battery as a Modbus TCP (and RTU) server"
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sim.add_argument(
        "--port", type=int, default=5020, help="TCP port (default 5020; 0 picks a free one)"
    )
    sim.add_argument("--serial", metavar="DEVICE", help="also serve Modbus RTU on this serial port")
    sim.add_argument("--baudrate", type=int, default=19200)
    sim.add_argument("--seed", type=int, default=0, help="random seed (measurement noise)")
    sim.add_argument(
        "--profile", default="sim_bess", help="profile to serve (registry id or JSON file)"
    )
    sim.add_argument(
        "--unit-id", type=int, default=None, help="Modbus unit id (default: the profile's)"
    )
    sim.add_argument(
        "--sunspec",
        action="store_true",
        help="serve the battery as a SunSpec device (models 1, 124, 713, 802, 803 at 40000) "
        "instead of a profile",
    )
    sim.add_argument(
        "--attack",
        action="append",
        default=[],
        choices=[a.value for a in Attack],
        help="also run a scripted attack against the simulator (IDS demos)",
    )
    sim.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=[f.value for f in Fault],
        help="start with a fault injected",
    )
    sim.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds"
    )

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

    cloud = sub.add_parser("cloud", help="the Google Cloud side")
    cloud_sub = cloud.add_subparsers(dest="cloud_command", required=True)
    setup = cloud_sub.add_parser(
        "setup",
        help="create the Pub/Sub topics and subscriptions (what packaging/terraform creates on "
        "Pub/Sub); existing ones are left alone",
    )
    setup.add_argument("--project", required=True, help="Google Cloud project id")
    setup.add_argument("--topic", default="bessai-telemetry", help="telemetry topic")
    setup.add_argument("--events-topic", default="bessai-events", help="events topic")
    setup.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="give up a step after S seconds"
    )

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

    disc = sub.add_parser(
        "discover",
        help="find a device's unit id and map: a SunSpec chain becomes a profile; otherwise "
        "what answered, and the shipped profiles that fit",
    )
    disc.add_argument("host", help="the device's address")
    disc.add_argument("--port", type=int, default=502, help="Modbus TCP port (default 502)")
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

    prof = sub.add_parser("profile", help="device profiles")
    prof_sub = prof.add_subparsers(dest="profile_command", required=True)
    check = prof_sub.add_parser("check", help="validate profile files")
    check.add_argument("files", nargs="+", type=Path)
    prof_sub.add_parser("list", help="list the shipped profiles")
    return parser


async def _wait_for_stop(duration_s: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if duration_s is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration_s)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def read_secret(prompt: str) -> str:
    """A PIN or password from the terminal (not echoed) or, when piped, from stdin's first line."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


async def command_from_cli(gateway: Gateway, args: argparse.Namespace, secret: str | None) -> None:
    """Log in and apply --mode / --setpoint-kw once the first sample is in."""
    if not gateway.controllers:
        print(
            "no device to command: no profile of this site has a control section "
            "(or a writable setpoint_power_kw register) or a watchdog register",
            flush=True,
        )
        return
    controller = gateway.controller()
    for _ in range(100):
        if controller.telemetry.comms_up:
            break
        await asyncio.sleep(0.1)
    try:
        session = await gateway.auth.login(args.login, secret or "")
    except AuthError as exc:
        print(f"login refused: {exc}", flush=True)
        return
    if args.mode is not None:
        result = await controller.set_mode(session, ControlMode(args.mode))
        print(
            f"mode {args.mode}: {'ok' if result.ok else 'refused'} - {result.message_en}",
            flush=True,
        )
    if args.setpoint_kw is not None:
        result = await controller.command_setpoint(session, args.setpoint_kw)
        value = f"{result.verdict.value_kw:+.1f} kW" if result.verdict else ""
        print(
            f"setpoint {args.setpoint_kw:+.1f} kW: {'ok' if result.ok else 'refused'} {value} - {result.message_en}",
            flush=True,
        )


async def run_headless(
    gateway: Gateway,
    duration_s: float | None,
    status_every_s: float,
    args: argparse.Namespace | None = None,
    secret: str | None = None,
) -> None:
    await gateway.start()
    freeze_startup_heap()
    printer = asyncio.create_task(
        print_status(gateway.statuses, sys.stdout, every_s=status_every_s)
    )
    try:
        if args is not None and args.login:
            await command_from_cli(gateway, args, secret)
        await _wait_for_stop(duration_s)
    finally:
        printer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await printer
        await gateway.stop()


async def run_commissioning(gateway: Gateway, args: argparse.Namespace, secret: str) -> int:
    """``bessai commission``: start the site, run the device's tests, write JSON and PDF."""

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
    if not _display_available():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtGui import QGuiApplication

    from bessai.gui.report import write_pdf

    app = QGuiApplication.instance() or QGuiApplication([])
    write_pdf(report, path, language)
    del app


async def run_simulator(args: argparse.Namespace) -> None:
    if args.sunspec:
        profile, constants = sunspec_simulator_map()
        sim = BessSimulator(profile, seed=args.seed, unit_id=args.unit_id, constants=constants)
    else:
        sim = BessSimulator(load_profile(args.profile), seed=args.seed, unit_id=args.unit_id)
        profile = sim.profile
    for name in args.fault:
        sim.inject(Fault(name))
    port = await sim.start_tcp(args.host, args.port)
    print(f"simulator {profile.id} on tcp://{args.host}:{port} unit {sim.unit_id}", flush=True)
    attacks: list[asyncio.Task[None]] = []
    for name in args.attack:
        if name == Attack.REPLAY:
            sim.inject(Fault.FROZEN)
            continue
        runners: dict[Attack, Callable[[str, int, int], Coroutine[Any, Any, None]]] = {
            Attack.ROGUE_MASTER: rogue_master,
            Attack.SCAN: scan,
            Attack.FLOOD: flood,
        }
        attacks.append(asyncio.create_task(runners[Attack(name)](args.host, port, sim.unit_id)))
        print(f"attack {name} running", flush=True)
    if args.serial:
        await sim.start_rtu(args.serial, args.baudrate)
        print(f"simulator {profile.id} on rtu://{args.serial} unit {sim.unit_id}", flush=True)
    try:
        await _wait_for_stop(args.duration)
    finally:
        for task in attacks:
            task.cancel()
        for task in attacks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await sim.stop()


def _profile_command(args: argparse.Namespace) -> int:
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
            print(f"ok      {shown}, {len(p.registers)} registers")
    return status


def _site_command(args: argparse.Namespace) -> int:
    """``bessai site check``: the site file, every profile it names and every device's limits."""
    status = 0
    for path in args.files:
        shown = " ".join(repr(str(path))[1:-1].split())
        try:
            site = load_site_file(path)
            profiles = {d.name: load_profile(d.profile) for d in site.devices}
            try:
                device_limits(site.limits, site.devices, profiles)
            except ConfigError as exc:
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


def _display_available() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def cloud_config(settings: Settings) -> CloudConfig | None:
    if settings.GCP_PROJECT_ID is None or settings.GCP_PUBSUB_TOPIC is None:
        return None
    return CloudConfig(
        settings.GCP_PROJECT_ID,
        settings.GCP_PUBSUB_TOPIC,
        settings.GCP_PUBSUB_EVENTS_TOPIC,
        max_rows=settings.OUTBOX_MAX_ROWS,
        max_bytes=int(settings.OUTBOX_MAX_MB * 1024 * 1024),
    )


def _export_command(args: argparse.Namespace, settings: Settings) -> int:
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


def _fleet_command(args: argparse.Namespace, settings: Settings) -> int:
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


def _cloud_command(args: argparse.Namespace) -> int:
    from bessai.core.cloud.setup import SetupError, setup_cloud

    try:
        steps = setup_cloud(args.project, args.topic, args.events_topic, timeout_s=args.timeout)
    except SetupError as exc:
        print(f"bessai: cloud setup stopped: {exc}", file=sys.stderr)
        return 1
    for step in steps:
        print(f"{step.kind} {step.name}: {step.outcome}")
    print(
        f"gateways: GCP_PROJECT_ID={args.project} GCP_PUBSUB_TOPIC={args.topic} "
        f"GCP_PUBSUB_EVENTS_TOPIC={args.events_topic}"
    )
    return 0


def _discover_command(args: argparse.Namespace) -> int:
    """``bessai discover``: report what answered; a SunSpec map is written as a profile."""
    from bessai.drivers.discovery import (
        DiscoveryError,
        discover,
        discovered_profile,
        write_profile,
    )
    from bessai.drivers.profile_loader import parse_profile

    if args.out is not None and args.out.exists() and not args.force:
        print(f"bessai: {args.out} exists (pass --force to replace it)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        found = asyncio.run(
            discover(
                args.host,
                args.port,
                unit=args.unit,
                allow_remote=args.allow_remote,
                all_units=args.all_units,
                timeout_s=args.timeout,
                interval_s=args.interval,
            )
        )
    except DiscoveryError as exc:
        print(f"bessai: discover: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(
        f"{args.host}:{args.port}: {found.requests} requests in {found.elapsed_s:.1f} s; "
        f"units answering: {', '.join(map(str, found.units)) or 'none'}"
    )
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
        sunspec, args.host, args.port, datetime.now().isoformat(timespec="seconds")
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


def _dispatch_command(args: argparse.Namespace, settings: Settings) -> int:
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


def _users_command(args: argparse.Namespace, settings: Settings) -> int:
    auth = AuthService(
        settings.DATA_DIR / "users.db", audit=AuditTrail(settings.DATA_DIR / "audit.db").append
    )
    try:
        if args.users_command == "list":
            for name, role in auth.users():
                print(f"{name:<24} {role.name.lower()}")
            return 0

        async def add() -> None:
            admin = None
            if auth.has_users():
                if not args.admin:
                    raise AuthError(
                        "forbidden", "users exist already: name an admin with --as ADMIN"
                    )
                admin = await auth.login(
                    args.admin, read_secret(f"{args.admin}'s PIN or password: ")
                )
            secret = read_secret(f"new PIN or password for {args.name}: ")
            await auth.add_user(args.name, Role[args.role.upper()], secret, by=admin)

        async def manage() -> str:
            if args.users_command == "recover-admin":
                secret = read_secret(f"new PIN or password for administrator {args.name}: ")
                await auth.recover_admin(args.name, secret)
                return f"administrator {args.name} recovered (audited as a local recovery)"
            admin = await auth.login(args.admin, read_secret(f"{args.admin}'s PIN or password: "))
            if args.users_command == "remove":
                await auth.remove_user(args.name, by=admin)
                return f"user {args.name} removed"
            if args.users_command == "unlock":
                await auth.unlock(args.name, by=admin)
                return f"user {args.name} unlocked"
            await auth.reset_secret(
                args.name, read_secret(f"new PIN or password for {args.name}: "), by=admin
            )
            return f"user {args.name} has a new PIN or password"

        if args.users_command != "add":
            print(asyncio.run(manage()))
            return 0
        asyncio.run(add())
        print(f"user {args.name} added as {args.role}")
        return 0
    except AuthError as exc:
        print(f"bessai: {exc}", file=sys.stderr)
        return 1
    finally:
        auth.close()


def _audit_command(args: argparse.Namespace, settings: Settings) -> int:
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


def _gateway_or_config_error(settings: Settings, *args: Any, **kwargs: Any) -> Gateway:
    """The gateway; a device's limits that do not fit its profile name the site file too."""
    try:
        return Gateway(*args, **kwargs)
    except ConfigError as exc:
        if settings.SITE_FILE is not None and str(exc).startswith("devices["):
            raise ConfigError(f"site file {settings.SITE_FILE}: {exc}") from None
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.umask(0o077)  # stores, exports and the lock are private to the service user
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"bessai: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.LOG_LEVEL)
    try:
        if args.command == "profile":
            return _profile_command(args)
        if args.command == "site":
            return _site_command(args)
        if args.command == "simulate":
            asyncio.run(run_simulator(args))
            return 0
        if args.command == "users":
            return _users_command(args, settings)
        if args.command == "audit":
            return _audit_command(args, settings)
        if args.command == "export":
            return _export_command(args, settings)
        if args.command == "dispatch":
            return _dispatch_command(args, settings)
        if args.command == "cloud":
            return _cloud_command(args)
        if args.command == "fleet":
            return _fleet_command(args, settings)
        if args.command == "discover":
            return _discover_command(args)
        site_id, devices, limits, dispatch = site_config(settings)
        if args.command == "commission" and args.device not in {d.name for d in devices}:
            known = ", ".join(d.name for d in devices)
            print(
                f"bessai: commission: no device {args.device!r} in this site ({known})",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        lock = prepare_data_dir(settings.DATA_DIR)
        raise_open_file_limit()
        secret = read_secret(f"{args.login}'s PIN or password: ") if args.login else None
        gateway = _gateway_or_config_error(
            settings,
            site_id,
            devices,
            simulator_seed=args.seed,
            data_dir=settings.DATA_DIR,
            limits=limits,
            dispatch=dispatch,
            heartbeat_interval_s=min(2.0, settings.WATCHDOG_TIMEOUT / 2),
            health_port=settings.HEALTH_PORT,
            health_bind=settings.HEALTH_BIND,
            cloud=cloud_config(settings),
            history_raw_retention_s=settings.HISTORY_RAW_DAYS * 86400,
            history_max_bytes=int(settings.HISTORY_MAX_MB * 1024 * 1024),
            ids_baseline_s=ids_baseline_s(settings),
            ids_enabled=ids_enabled(settings),
        )
        provider = setup_tracing(settings.OTEL_EXPORTER_OTLP_ENDPOINT, site_id)
        try:
            if args.command == "commission":
                return asyncio.run(run_commissioning(gateway, args, secret or ""))
            if not args.headless and not _display_available():
                log.warning(
                    "no display (DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM): running headless"
                )
                args.headless = True
            if not args.headless:
                from bessai.gui.app import main as run_app  # Qt only when the app is wanted

                fleet = None
                if settings.GCP_PROJECT_ID and settings.GCP_FLEET_SUBSCRIPTION:
                    fleet = (settings.GCP_PROJECT_ID, settings.GCP_FLEET_SUBSCRIPTION)
                # The devices page saves to the site file; without one (the simulator, not
                # INVERTER_IP) to DATA_DIR/site.toml, which the next start reads.
                site_file = settings.SITE_FILE
                if site_file is None and settings.INVERTER_IP is None:
                    site_file = app_site_file(settings)
                return run_app(
                    gateway, kiosk=args.kiosk, language=args.lang, fleet=fleet, site_file=site_file
                )
            asyncio.run(run_headless(gateway, args.duration, args.status_every, args, secret))
        finally:
            if provider is not None:
                provider.shutdown()
            lock.release()
        return 0
    except (ConfigError, ProfileError) as exc:
        print(f"bessai: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (StartError, StoreUnusable) as exc:
        print(f"bessai: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
