"""The topic check's verdicts for what the emulator cannot show: IAM answers (a publish-only
identity, a missing grant). The client here answers as Pub/Sub's API does; the emulator's
own answers (a missing topic, an existing one) are tested in test_cloud_setup.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from google.api_core import exceptions as api_errors

from bessai.core.cloud.topics import check_topic


class IamAnswers:
    """get_topic and testIamPermissions as Pub/Sub answers them for a given identity."""

    def __init__(self, *, may_read: bool, may_publish: bool, reachable: bool = True) -> None:
        self.may_read, self.may_publish, self.reachable = may_read, may_publish, reachable

    def get_topic(self, request: dict[str, Any], timeout: float) -> object:
        if not self.reachable:
            raise api_errors.ServiceUnavailable("connection refused")
        if not self.may_read:
            raise api_errors.PermissionDenied("pubsub.topics.get denied")
        return SimpleNamespace(name=request["topic"])

    def test_iam_permissions(self, request: dict[str, Any], timeout: float) -> object:
        granted = [p for p in request["permissions"] if self.may_publish]
        return SimpleNamespace(permissions=granted)


def test_a_publish_only_identity_passes_without_reading_the_topic() -> None:
    check = check_topic(IamAnswers(may_read=False, may_publish=True), "p", "telemetry")
    assert check.problem is None
    assert check.decided


def test_an_identity_without_publish_is_a_problem_naming_the_role() -> None:
    check = check_topic(IamAnswers(may_read=True, may_publish=False), "p", "telemetry")
    assert check.decided
    assert check.problem is not None
    assert "may not publish to Pub/Sub topic projects/p/topics/telemetry" in check.problem
    assert "roles/pubsub.publisher" in check.problem


def test_an_unreachable_service_decides_nothing() -> None:
    check = check_topic(IamAnswers(may_read=True, may_publish=True, reachable=False), "p", "t")
    assert check.problem is None
    assert not check.decided
