"""The gateway itself (``bessai`` with no command): the site built from the settings, then
the operator app, or headless with a status line; ``bessai commission`` runs on the same
assembly."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import Any

from bessai.cli.commission import run_commissioning
from bessai.cli.common import EXIT_CONFIG, display_available, read_secret, wait_for_stop
from bessai.core.config.settings import (
    ConfigError,
    Settings,
    app_site_file,
    ids_baseline_s,
    ids_enabled,
    load_site_file,
    profile_dir,
    site_config,
    site_plant,
)
from bessai.core.control.events import ControlMode
from bessai.core.observe.console import print_status
from bessai.core.observe.tracing import setup_tracing
from bessai.core.runtime.heap import freeze_startup_heap
from bessai.core.site.gateway import Gateway
from bessai.core.site.gateway_cloud import CloudConfig
from bessai.core.site.instance import prepare_data_dir, raise_open_file_limit
from bessai.core.site.scada_link import ScadaLink
from bessai.core.stores.auth import AuthError

log = logging.getLogger("bessai")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The top-level flags: how the gateway runs, and a command to give once it is up."""
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
    parser.add_argument(
        "--confirm-unverified",
        action="store_true",
        help="with --mode manual: the engineer logged in confirms the target's unverified power "
        "registers (named in the audit); Auto stays refused until a commissioning run verifies them",
    )
    parser.add_argument(
        "--target",
        metavar="NAME",
        help="what --mode and --setpoint-kw command: 'site' (every battery, the setpoint split "
        "among them; the default with several) or one device's name",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build the site's gateway under the data directory's lock, then run what was asked."""
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
        health_web_config=settings.HEALTH_WEB_CONFIG,
        profile_dir=profile_dir(settings),
        plant=site_plant(settings),
    )
    site_path = settings.SITE_FILE
    scada = load_site_file(site_path).scada if site_path is not None else None
    if site_path is not None and scada is not None:  # the grid operator's link
        gateway.links.append(ScadaLink(gateway, scada, site_path.parent))
    provider = setup_tracing(settings.OTEL_EXPORTER_OTLP_ENDPOINT, site_id)
    try:
        if args.command == "commission":
            return asyncio.run(run_commissioning(gateway, args, secret or ""))
        if not args.headless and not display_available():
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


async def command_from_cli(gateway: Gateway, args: argparse.Namespace, secret: str | None) -> None:
    """Log in and apply --mode / --setpoint-kw once the first sample is in."""
    if not gateway.controllers:
        print(
            "no device to command: no profile of this site has a control section "
            "(or a writable setpoint_power_kw register) or a watchdog register",
            flush=True,
        )
        return
    targets = gateway.commands.targets()
    target = args.target or targets[0]
    if target not in targets:
        print(f"--target {target}: not one of {', '.join(targets)}", flush=True)
        return
    for _ in range(100):
        if all(c.telemetry.comms_up for c in gateway.controllers.values()):
            break
        await asyncio.sleep(0.1)
    try:
        session = await gateway.auth.login(args.login, secret or "")
    except AuthError as exc:
        print(f"login refused: {exc}", flush=True)
        return
    if args.mode is not None:
        result = await gateway.commands.set_mode(
            session,
            ControlMode(args.mode),
            target,
            confirm_unverified=getattr(args, "confirm_unverified", False),
        )
        print(
            f"mode {args.mode}: {'ok' if result.ok else 'refused'} - {result.message_en}",
            flush=True,
        )
    if args.setpoint_kw is not None:
        result = await gateway.commands.command_setpoint(session, args.setpoint_kw, target)
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
    """Start, print the status line every ``status_every_s`` and stop on a signal."""
    await gateway.start()
    freeze_startup_heap()
    printer = asyncio.create_task(
        print_status(gateway.statuses, sys.stdout, every_s=status_every_s)
    )
    try:
        if args is not None and args.login:
            await command_from_cli(gateway, args, secret)
        await wait_for_stop(duration_s)
    finally:
        printer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await printer
        await gateway.stop()


def cloud_config(settings: Settings) -> CloudConfig | None:
    """The Pub/Sub side when a project and topic are set, else none."""
    if settings.GCP_PROJECT_ID is None or settings.GCP_PUBSUB_TOPIC is None:
        return None
    return CloudConfig(
        settings.GCP_PROJECT_ID,
        settings.GCP_PUBSUB_TOPIC,
        settings.GCP_PUBSUB_EVENTS_TOPIC,
        max_rows=settings.OUTBOX_MAX_ROWS,
        max_bytes=int(settings.OUTBOX_MAX_MB * 1024 * 1024),
    )


def _gateway_or_config_error(settings: Settings, *args: Any, **kwargs: Any) -> Gateway:
    """The gateway; a device's limits that do not fit its profile name the site file too."""
    try:
        return Gateway(*args, **kwargs)
    except ConfigError as exc:
        if settings.SITE_FILE is not None and str(exc).startswith("devices["):
            raise ConfigError(f"site file {settings.SITE_FILE}: {exc}") from None
        raise
