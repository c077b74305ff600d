"""Store-and-forward to Pub/Sub with the real client against Google's emulator: nothing lost."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sqlite3
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pytest
from google.pubsub_v1.types import PublishRequest, PublishResponse

from bessai.core.config.settings import DeviceConfig
from bessai.core.runtime.events import SampleTaken
from bessai.core.site.gateway import Gateway
from bessai.core.site.gateway_cloud import CloudConfig
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import until
from tests.pubsub_emulator import PubSubEmulator

# A batch stuck on a dead emulator makes the publisher drop that client and close its
# channel; the client's own commit thread then dies on "closed channel". Its messages stay
# in the outbox, which the outage tests check.
pytestmark = pytest.mark.filterwarnings("ignore:Exception in thread Thread-CommitBatchPublisher")

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads(
    (ROOT / "bessai" / "resources" / "schemas" / "telemetry-v1.json").read_text(encoding="utf-8")
)


def samples_of(messages: list[Any]) -> list[Any]:
    return [m for m in messages if m.attributes["kind"] == "sample"]


def check_order(messages: list[Any]) -> None:
    """Per device (ordering key), samples arrive in time order, as a subscriber sees them
    after dropping duplicates by sample_id."""
    by_device: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for m in samples_of(messages):
        if m.attributes["sample_id"] in seen:
            continue
        seen.add(m.attributes["sample_id"])
        by_device[m.attributes["device"]].append(json.loads(m.data)["ts"])
    for device, stamps in by_device.items():
        assert stamps == sorted(stamps), f"{device} out of order"


def link_up(gw: Gateway) -> bool | None:
    summary = gw.outbox_summary()
    return None if summary is None else summary.link_up


async def start_gateway(
    tmp_path: Path, emulator: PubSubEmulator, poll_s: float, **cloud: Any
) -> tuple[Gateway, BessSimulator, list[str]]:
    sim = BessSimulator(seed=4)
    port = await sim.start_tcp("127.0.0.1", 0)
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=poll_s
    )
    gw = Gateway(
        "cl-site-7",
        [cfg],
        data_dir=tmp_path,
        cloud=CloudConfig(
            emulator.project, "telemetry", **{"retry_max_s": 1.0, "publish_timeout_s": 2.0, **cloud}
        ),
    )
    ids: list[str] = []
    gw.bus.subscribe(
        SampleTaken, lambda e: ids.append(f"cl-site-7:bess:{round(e.sample.ts * 1000)}")
    )
    await gw.start()
    return gw, sim, ids


async def drain_and_stop(gw: Gateway, sim: BessSimulator) -> None:
    for poller in gw.pollers.values():
        poller.stopping = True
    await asyncio.sleep(0.3)
    assert gw.outbox is not None
    await until(lambda: gw.outbox is not None and gw.outbox.depth == 0, 20, "outbox drained")
    await gw.stop()
    await sim.stop()


async def test_normal_flow_every_sample_once_with_attributes_and_schema(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
    gw, sim, ids = await start_gateway(tmp_path, pubsub_emulator, 0.05)
    await asyncio.sleep(2.0)
    await drain_and_stop(gw, sim)
    messages = await asyncio.to_thread(pubsub_emulator.pull, "sub")
    got = [m.attributes["sample_id"] for m in samples_of(messages)]
    assert len(ids) >= 30
    assert sorted(got) == sorted(ids)
    assert len(set(got)) == len(got)
    for m in messages:
        assert m.attributes["site_id"] == "cl-site-7"
        assert m.attributes["schema_version"] == "1"
        body = json.loads(m.data)
        jsonschema.validate(body, SCHEMA)
        if m.attributes["kind"] == "status":  # the site's, every status_every_s
            assert m.ordering_key == m.attributes["device"] == "_site"
            assert body["id"] == m.attributes["sample_id"]
            continue
        assert m.attributes["device"] == "bess"
        assert m.ordering_key == "bess"
        assert body["sample_id"] == m.attributes["sample_id"]
    check_order(messages)
    assert gw.outbox is not None
    assert gw.outbox.stats.acked == len(messages)


async def test_emulator_killed_then_restarted_loses_nothing_and_keeps_order(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
    gw, sim, ids = await start_gateway(tmp_path, pubsub_emulator, 0.02)
    assert gw.outbox is not None
    assert gw.publisher is not None
    await asyncio.sleep(1.0)
    # The emulator keeps what it acknowledged in memory only: read it all before killing it.
    gw.publisher.pause()
    await asyncio.sleep(0.5)
    before = await asyncio.to_thread(pubsub_emulator.pull, "sub")
    await asyncio.to_thread(pubsub_emulator.kill)
    gw.publisher.resume()
    at_kill = len(ids)
    await until(lambda: len(ids) >= at_kill + 300, 30, "300 samples during the outage")
    await until(
        lambda: gw.publisher is not None and not gw.publisher.state.up, 10, "the outage noticed"
    )
    assert gw.outbox.depth >= 250
    health = gw.outbox_summary()
    assert health is not None
    assert health.depth >= 250
    assert health.oldest_age_s is not None
    assert health.oldest_age_s > 1.0
    gw.publisher.pause()  # the topic must exist again before anything is sent
    await asyncio.to_thread(pubsub_emulator.start)
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
    gw.publisher.resume()
    await drain_and_stop(gw, sim)
    after = await asyncio.to_thread(pubsub_emulator.pull, "sub")
    got = [m.attributes["sample_id"] for m in samples_of(before + after)]
    assert set(got) == set(ids), f"missing {len(set(ids) - set(got))}"
    check_order(after)
    assert gw.publisher.state.failed > 0


async def test_gateway_sigkilled_during_an_outage_delivers_everything_after_restart(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    pubsub_emulator.kill()  # the outage: nothing listens on the emulator's port yet
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE"))},
        "SITE_ID": "cl-site-8",
        "GCP_PROJECT_ID": pubsub_emulator.project,
        "GCP_PUBSUB_TOPIC": "telemetry",
        "PUBSUB_EMULATOR_HOST": pubsub_emulator.host,
        "POLL_INTERVAL_S": "0.05",
        "DATA_DIR": str(tmp_path),
        "HEALTH_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "bessai", "--headless", "--status-every", "60"]
    first = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    outbox = tmp_path / "outbox.db"

    def committed() -> list[str]:
        conn = sqlite3.connect(outbox)
        try:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT message_id FROM outbox WHERE kind = 'raw' ORDER BY id"
                )
            ]
        except sqlite3.OperationalError:
            return []  # the file is there a moment before the gateway creates its table
        finally:
            conn.close()

    try:
        await until(
            lambda: outbox.exists() and len(committed()) >= 60,
            30,
            "samples committed during the outage",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    saved = committed()
    assert len(saved) >= 60

    await asyncio.to_thread(pubsub_emulator.start)
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
    second = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await until(lambda: not set(saved) & set(committed()), 30, "the saved samples published")
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(second.communicate(), 30)
    assert second.returncode == 0, err.decode()[-2000:]
    messages = await asyncio.to_thread(pubsub_emulator.pull, "sub")
    got = [m.attributes["sample_id"] for m in samples_of(messages)]
    assert set(saved) <= set(got)
    bodies: dict[str, bytes] = {}
    for m in samples_of(messages):  # a duplicate is the same message again, never another one
        assert bodies.setdefault(m.attributes["sample_id"], m.data) == m.data
        assert json.loads(m.data)["sample_id"] == m.attributes["sample_id"]
    check_order(messages)


class FlakyPublisher:
    """An in-process Pub/Sub Publisher service (google.pubsub_v1 types) that fails on demand."""

    def __init__(self) -> None:
        self.failing = False
        self.received: list[Any] = []
        self.refused = 0
        self._ids = itertools.count(1)

    async def publish(
        self, request: PublishRequest, context: grpc.aio.ServicerContext
    ) -> PublishResponse:
        if self.failing:
            self.refused += len(request.messages)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "injected failure")
        self.received.extend(request.messages)
        return PublishResponse(message_ids=[str(next(self._ids)) for _ in request.messages])


async def test_service_errors_are_retried_with_backoff_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyPublisher()
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(
        flaky.publish,
        request_deserializer=PublishRequest.deserialize,
        response_serializer=PublishResponse.serialize,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("google.pubsub.v1.Publisher", {"Publish": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{port}")
    emulator = PubSubEmulator("unused", port)
    try:
        gw, sim, ids = await start_gateway(tmp_path, emulator, 0.05)
        assert gw.publisher is not None
        await asyncio.sleep(0.7)
        flaky.failing = True
        await until(
            lambda: (
                flaky.refused >= 5 and gw.publisher is not None and gw.publisher.state.failed > 0
            ),
            10,
            "failures seen",
        )
        await asyncio.sleep(1.5)
        flaky.failing = False
        await drain_and_stop(gw, sim)
    finally:
        await server.stop(0)
    got = [m.attributes["sample_id"] for m in flaky.received if m.attributes["kind"] == "sample"]
    assert set(got) == set(ids)
    first_seen: dict[str, int] = {}
    for i, sample_id in enumerate(got):
        first_seen.setdefault(sample_id, i)
    assert [s for s in sorted(first_seen, key=first_seen.__getitem__)] == sorted(
        set(got), key=lambda s: int(s.rsplit(":", 1)[1])
    )
    text = gw.metrics.render().decode()
    assert 'bessai_pubsub_messages_failed_total{site="cl-site-7",topic="telemetry"}' in text


def test_missing_cloud_settings_turn_the_outbox_off(tmp_path: Path) -> None:
    gw = Gateway(
        "s", [DeviceConfig(name="b", profile="sim_bess", simulated=True)], data_dir=tmp_path
    )
    assert gw.outbox is None
    assert gw.outbox_summary() is None


async def test_link_down_is_seen_within_3_s(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
    gw, sim, _ = await start_gateway(tmp_path, pubsub_emulator, 0.05, publish_timeout_s=10.0)
    try:
        await until(lambda: link_up(gw) is True, 10, "link up")
        await asyncio.to_thread(pubsub_emulator.kill)
        killed = asyncio.get_running_loop().time()
        await until(lambda: link_up(gw) is False, 6, "link seen down")
        seen = asyncio.get_running_loop().time() - killed
        print(f"\n[cloud] link down seen {seen:.2f} s after the emulator died")
        assert seen < 3.0
    finally:
        await gw.stop()
        await sim.stop()


async def test_a_graceful_stop_flushes_the_outbox(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
    gw, sim, ids = await start_gateway(tmp_path, pubsub_emulator, 0.02)
    assert gw.publisher is not None
    assert gw.outbox is not None
    await asyncio.sleep(1.0)
    gw.publisher.pause()  # a backlog builds up ...
    await until(lambda: gw.outbox is not None and gw.outbox.depth >= 40, 10, "a backlog")
    gw.publisher.resume()
    for poller in gw.pollers.values():
        poller.stopping = True
    await gw.stop()  # ... and the stop delivers it instead of leaving it for the next start
    await sim.stop()
    got = [
        m.attributes["sample_id"]
        for m in samples_of(await asyncio.to_thread(pubsub_emulator.pull, "sub"))
    ]
    assert set(ids) <= set(got), f"{len(set(ids) - set(got))} samples left behind"
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


async def test_the_audit_head_is_anchored_on_the_events_topic(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "sub")
    await asyncio.to_thread(pubsub_emulator.create, "events", "events-sub")
    gw, sim, _ = await start_gateway(tmp_path, pubsub_emulator, 0.1, events_topic="events")
    try:
        await gw.audit.append("ana", "limits", "ok", max_charge_kw=50)
        seq, digest = gw.audit.head()
        await asyncio.sleep(1.0)
    finally:
        await drain_and_stop(gw, sim)
    events = await asyncio.to_thread(pubsub_emulator.pull, "events-sub")
    heads = [json.loads(m.data) for m in events if m.attributes["kind"] == "audit_head"]
    assert heads, [m.attributes["kind"] for m in events]
    assert (heads[-1]["seq"], heads[-1]["hash"]) == (seq, digest)
