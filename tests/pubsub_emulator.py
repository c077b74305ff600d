"""Google's Pub/Sub emulator as a test fixture: a real server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from google.cloud import pubsub_v1

from tests.helpers import free_port

CANDIDATES = [
    os.environ.get("PUBSUB_EMULATOR_BIN", ""),
    "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
    "/usr/share/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
    shutil.which("cloud-pubsub-emulator") or "",
]


def emulator_binary() -> str | None:
    for path in CANDIDATES:
        if path and Path(path).is_file():
            return path
    return None


class PubSubEmulator:
    """Starts, kills and restarts the emulator; creates topics and reads back what arrived."""

    def __init__(self, binary: str, port: int | None = None, project: str = "bessai-test") -> None:
        self.binary = binary
        self.port = port or free_port()
        self.project = project
        self.proc: subprocess.Popen[bytes] | None = None
        self.host = f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--host=127.0.0.1", f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Pub/Sub emulator did not listen on {self.port} within {timeout_s} s")

    def kill(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(10)
            self.proc = None

    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": self.host}

    def create(self, topic: str, subscription: str) -> None:
        os.environ["PUBSUB_EMULATOR_HOST"] = self.host
        publisher = pubsub_v1.PublisherClient()
        subscriber = pubsub_v1.SubscriberClient()
        topic_path = publisher.topic_path(self.project, topic)
        publisher.create_topic(name=topic_path)
        subscriber.create_subscription(
            request={
                "name": subscriber.subscription_path(self.project, subscription),
                "topic": topic_path,
                "enable_message_ordering": True,
                "ack_deadline_seconds": 60,
            }
        )
        subscriber.close()
        publisher.stop()

    def pull(self, subscription: str, *, idle_s: float = 1.0, max_s: float = 60.0) -> list[Any]:
        """Every message that arrives until none came for ``idle_s`` (acknowledged as read)."""
        os.environ["PUBSUB_EMULATOR_HOST"] = self.host
        subscriber = pubsub_v1.SubscriberClient()
        path = subscriber.subscription_path(self.project, subscription)
        received: list[Any] = []
        last = time.monotonic()
        deadline = last + max_s
        try:
            while time.monotonic() - last < idle_s and time.monotonic() < deadline:
                response = subscriber.pull(
                    request={"subscription": path, "max_messages": 1000}, timeout=5.0
                )
                if response.received_messages:
                    received.extend(m.message for m in response.received_messages)
                    subscriber.acknowledge(
                        request={
                            "subscription": path,
                            "ack_ids": [m.ack_id for m in response.received_messages],
                        }
                    )
                    last = time.monotonic()
                else:
                    time.sleep(0.05)
        finally:
            subscriber.close()
        return received

    def stop(self) -> None:
        self.kill()
