"""``bessai cloud setup``: the fleet's Pub/Sub side through the admin API, for users without
Terraform. It creates what ``packaging/terraform`` creates on Pub/Sub (the telemetry and
events topics, a dead-letter topic, the fleet subscription ordered per device with a
dead-letter policy, the events archive subscription), and leaves what exists alone.

BigQuery, service accounts and Workload Identity are Terraform's only: they need project
IAM that a setup command should not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as api_errors
from google.api_core.retry import Retry, if_exception_type
from google.cloud import pubsub_v1

MAX_DELIVERY_ATTEMPTS = 10


@dataclass(frozen=True)
class Step:
    """One resource: its kind, full name and what happened ("created" or "exists")."""

    kind: str
    name: str
    outcome: str


class SetupError(Exception):
    """Pub/Sub refused a step; the message names the resource and the reason."""


def _create(kind: str, name: str, make: Callable[[], Any]) -> Step:
    try:
        make()
    except api_errors.AlreadyExists:
        return Step(kind, name, "exists")
    except api_errors.GoogleAPIError as exc:
        raise SetupError(
            f"{kind} {name}: {type(exc).__name__}: {exc.message if hasattr(exc, 'message') else exc}"
        ) from exc
    return Step(kind, name, "created")


def setup_cloud(
    project_id: str,
    topic: str,
    events_topic: str,
    *,
    publisher_factory: Callable[[], Any] = pubsub_v1.PublisherClient,
    subscriber_factory: Callable[[], Any] = pubsub_v1.SubscriberClient,
    timeout_s: float = 30.0,
) -> list[Step]:
    """Create the topics and subscriptions (blocking); raise SetupError on the first refusal."""
    publisher, subscriber = publisher_factory(), subscriber_factory()

    def topic_path(name: str) -> str:
        return f"projects/{project_id}/topics/{name}"

    def sub_path(name: str) -> str:
        return f"projects/{project_id}/subscriptions/{name}"

    # An unreachable service is retried for at most timeout_s per step, then reported.
    retry = Retry(
        predicate=if_exception_type(api_errors.ServiceUnavailable, api_errors.DeadlineExceeded),
        timeout=timeout_s,
    )
    dead_letter = f"{topic}-dead-letter"
    steps: list[Step] = []
    try:

        def make_topic(path: str) -> Callable[[], Any]:
            return lambda: publisher.create_topic(
                request={"name": path, "labels": {"app": "bessai-edge"}},
                retry=retry,
                timeout=timeout_s,
            )

        def make_subscription(path: str, fields: dict[str, Any]) -> Callable[[], Any]:
            return lambda: subscriber.create_subscription(
                request={"name": path, **fields}, retry=retry, timeout=timeout_s
            )

        for name in (topic, events_topic, dead_letter):
            steps.append(_create("topic", topic_path(name), make_topic(topic_path(name))))
        subscriptions: list[tuple[str, dict[str, Any]]] = [
            (
                f"{topic}-fleet",
                {
                    "topic": topic_path(topic),
                    "ack_deadline_seconds": 30,
                    "enable_message_ordering": True,
                    "dead_letter_policy": {
                        "dead_letter_topic": topic_path(dead_letter),
                        "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
                    },
                },
            ),
            (f"{topic}-dead-letter", {"topic": topic_path(dead_letter)}),
            (f"{events_topic}-archive", {"topic": topic_path(events_topic)}),
        ]
        for name, fields in subscriptions:
            path = sub_path(name)
            steps.append(_create("subscription", path, make_subscription(path, fields)))
    finally:
        for client in (publisher, subscriber):
            transport = getattr(client, "transport", None)
            if transport is not None:
                transport.close()
    return steps
