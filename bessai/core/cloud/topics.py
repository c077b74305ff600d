"""Before trusting the outbox to drain: does each Pub/Sub topic exist, may we publish to it?

A missing topic or a missing permission would otherwise show only as an
outbox that grows for ever. The check reads the topic (``pubsub.topics.get``)
and asks Pub/Sub which of ``pubsub.topics.publish`` this identity holds
(``testIamPermissions``, which any caller may ask). A link that is down, or an
emulator that does not implement IAM, leaves the check undecided: that is the
publisher's backoff's business, not a configuration problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CHECK_TIMEOUT_S = 10.0
HOW_TO_CREATE = "create it with packaging/terraform or `bessai cloud setup`"


@dataclass(frozen=True)
class TopicCheck:
    """One topic's verdict: ``problem`` says what is wrong; ``decided`` is False when the check
    could not reach Pub/Sub (then nothing is known either way)."""

    topic: str
    problem: str | None
    decided: bool


def check_topic(client: Any, project_id: str, topic: str) -> TopicCheck:
    # Imported here, as in every caller of Pub/Sub: an app with no cloud never pays its ~50 MB.
    from google.api_core import exceptions as api_errors

    path = f"projects/{project_id}/topics/{topic}"
    try:
        client.get_topic(request={"topic": path}, timeout=CHECK_TIMEOUT_S)
    except api_errors.NotFound:
        return TopicCheck(topic, f"Pub/Sub topic {path} does not exist: {HOW_TO_CREATE}", True)
    except api_errors.PermissionDenied:
        pass  # a publish-only identity may not read the topic: ask about publishing below
    except (api_errors.GoogleAPIError, OSError) as exc:
        return TopicCheck(topic, None, False) if _unreachable(exc) else _other(topic, path, exc)
    try:
        granted = client.test_iam_permissions(
            request={"resource": path, "permissions": ["pubsub.topics.publish"]},
            timeout=CHECK_TIMEOUT_S,
        )
    except api_errors.NotFound:
        return TopicCheck(topic, f"Pub/Sub topic {path} does not exist: {HOW_TO_CREATE}", True)
    except api_errors.MethodNotImplemented:
        return TopicCheck(topic, None, True)  # the emulator has no IAM: the topic exists
    except (api_errors.GoogleAPIError, OSError):
        return TopicCheck(topic, None, False)
    if "pubsub.topics.publish" not in list(granted.permissions):
        return TopicCheck(
            topic,
            f"this identity may not publish to Pub/Sub topic {path}: grant it "
            "roles/pubsub.publisher on the topic (packaging/terraform does, per site)",
            True,
        )
    return TopicCheck(topic, None, True)


def _unreachable(exc: BaseException) -> bool:
    from google.api_core import exceptions as api_errors

    return isinstance(
        exc,
        (
            api_errors.ServiceUnavailable,
            api_errors.DeadlineExceeded,
            api_errors.RetryError,
            api_errors.InternalServerError,
            OSError,
        ),
    )


def _other(topic: str, path: str, exc: BaseException) -> TopicCheck:
    return TopicCheck(
        topic, f"Pub/Sub topic {path} cannot be used: {type(exc).__name__}: {exc}", True
    )


def check_topics(
    project_id: str,
    topics: list[str],
    client_factory: Callable[[], Any] | None = None,
) -> list[TopicCheck]:
    """Each topic's verdict (blocking: run it in a worker thread)."""
    if client_factory is None:
        from google.cloud import pubsub_v1

        client_factory = pubsub_v1.PublisherClient
    client = client_factory()
    try:
        return [check_topic(client, project_id, topic) for topic in topics]
    finally:
        transport = getattr(client, "transport", None)
        if transport is not None:
            transport.close()
