"""The cloud side provisioned and checked: `bessai cloud setup` and the gateway's start-up topic
check, with the real google-cloud-pubsub client against Google's emulator."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

from bessai.core.config.settings import DeviceConfig
from bessai.core.observe.health import health_report
from bessai.core.site.gateway import Gateway
from bessai.core.site.gateway_cloud import CloudConfig
from tests.helpers import until
from tests.pubsub_emulator import PubSubEmulator

ROOT = Path(__file__).resolve().parents[2]


def setup(emulator: PubSubEmulator, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bessai", "cloud", "setup", "--project", emulator.project, *extra],
        env={**os.environ, **emulator.env()},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_cloud_setup_creates_topics_and_an_ordered_subscription_with_a_dead_letter_topic(
    pubsub_emulator: PubSubEmulator,
) -> None:
    first = setup(pubsub_emulator)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    created = [line for line in lines if line.endswith(": created")]
    assert len(created) == 6, first.stdout  # three topics, three subscriptions
    project = pubsub_emulator.project
    assert f"topic projects/{project}/topics/bessai-telemetry: created" in lines
    assert f"subscription projects/{project}/subscriptions/bessai-telemetry-fleet: created" in lines
    assert "GCP_PUBSUB_TOPIC=bessai-telemetry" in lines[-1]
    subscriber = pubsub_v1.SubscriberClient()
    try:
        fleet = subscriber.get_subscription(
            request={"subscription": f"projects/{project}/subscriptions/bessai-telemetry-fleet"}
        )
    finally:
        subscriber.close()
    assert fleet.topic == f"projects/{project}/topics/bessai-telemetry"
    assert fleet.enable_message_ordering
    assert fleet.dead_letter_policy.dead_letter_topic.endswith("/bessai-telemetry-dead-letter")
    assert fleet.dead_letter_policy.max_delivery_attempts == 10
    again = setup(pubsub_emulator)  # idempotent: what exists is left alone
    assert again.returncode == 0, again.stderr
    assert sum(line.endswith(": exists") for line in again.stdout.splitlines()) == 6


def test_cloud_setup_without_a_reachable_pubsub_is_one_line_and_exit_1(
    pubsub_emulator: PubSubEmulator,
) -> None:
    pubsub_emulator.kill()
    result = setup(pubsub_emulator, "--timeout", "3")
    assert result.returncode == 1
    assert result.stderr.startswith("bessai: cloud setup stopped: topic projects/")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def test_a_missing_topic_is_one_line_and_a_health_problem_until_it_exists(
    tmp_path: Path, pubsub_emulator: PubSubEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    gw = Gateway(
        "cl-site-9",
        [DeviceConfig(name="bess", profile="sim_bess", simulated=True, poll_interval_s=0.2)],
        data_dir=tmp_path,
        cloud=CloudConfig(pubsub_emulator.project, "telemetry", retry_max_s=1.0),
    )
    gw.topic_recheck_s = 0.5
    caplog.set_level(logging.INFO, logger="bessai.core.site.gateway_cloud")
    await gw.start()
    try:
        await until(lambda: bool(gw.cloud_problems), 15.0, "the missing topic seen")
        report = health_report(gw)
        assert report["status"] == "degraded"
        problem = next(p for p in report["problems"] if "telemetry" in p)
        assert f"projects/{pubsub_emulator.project}/topics/telemetry does not exist" in problem
        assert "packaging/terraform" in problem
        await asyncio.sleep(1.5)  # several re-checks: still one line, not one per check
        failed = [r for r in caplog.records if r.getMessage() == "cloud topic check failed"]
        assert len(failed) == 1
        await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
        await until(lambda: not gw.cloud_problems, 15.0, "the topic found once created")
        assert not any("telemetry" in p for p in health_report(gw)["problems"])
        assert any(r.getMessage() == "cloud topic check passed" for r in caplog.records)
    finally:
        await gw.stop()
