"""``bessai cloud setup``: the Pub/Sub topics and subscriptions that packaging/terraform
creates, made through the API; existing ones are left alone."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bessai.core.config.settings import Settings

if TYPE_CHECKING:
    from bessai.cli.common import Subparsers


def add_parser(sub: Subparsers) -> None:
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


def run(args: argparse.Namespace, settings: Settings) -> int:
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
