"""Traces: an in-process OTLP gRPC receiver on loopback gets a full poll cycle's span tree."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from argon2 import PasswordHasher
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from bessai.core.config.settings import DeviceConfig
from bessai.core.control.events import ControlMode
from bessai.core.observe.tracing import make_provider, setup_tracing
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Role
from bessai.drivers.simulator.server import BessSimulator


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[Any] = []

    async def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC's name
        for resource_spans in request.resource_spans:
            for scope in resource_spans.scope_spans:
                self.spans.extend(scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, int]]:
    server = grpc.aio.server()
    servicer = Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, port
    finally:
        await server.stop(0)


def attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = (
            value.string_value or value.int_value or value.double_value or value.bool_value
        )
    return out


async def run_gateway(tmp_path: Path, tracer: Any, seconds: float, auto: bool) -> None:
    sim = BessSimulator(seed=1)
    port = await sim.start_tcp("127.0.0.1", 0)
    cfg = DeviceConfig(
        name="bess", profile="sim_bess", host="127.0.0.1", port=port, poll_interval_s=0.1
    )
    gw = Gateway("trace-site", [cfg], data_dir=tmp_path, tracer=tracer)
    gw.auth.hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    await gw.start()
    try:
        if auto:
            await gw.auth.add_user("ana", Role.ADMIN, "271828")
            session = await gw.auth.login("ana", "271828")
            for _ in range(150):
                if gw.controller().telemetry.comms_up:
                    break
                await asyncio.sleep(0.02)
            assert (await gw.controller().set_mode(session, ControlMode.AUTO)).ok
        await asyncio.sleep(seconds)
    finally:
        await gw.stop()
        await sim.stop()


async def test_a_poll_cycle_arrives_as_a_span_tree(
    tmp_path: Path, receiver: tuple[Receiver, int]
) -> None:
    servicer, port = receiver
    provider = make_provider(
        OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True), "trace-site"
    )
    try:
        await run_gateway(tmp_path, provider.get_tracer("bessai"), 1.0, auto=True)
        assert await asyncio.to_thread(provider.force_flush, 10_000)
    finally:
        await asyncio.to_thread(provider.shutdown)
    by_id = {s.span_id: s for s in servicer.spans}
    polls = [s for s in servicer.spans if s.name == "poll"]
    assert len(polls) >= 5
    complete = 0
    for poll in polls:
        children = {s.name: s for s in servicer.spans if s.parent_span_id == poll.span_id}
        if {"read", "decode", "safety", "dispatch", "publish"} <= set(children):
            complete += 1
            assert attrs(poll)["device"] == "bess"
            assert attrs(poll)["outcome"] == "good"
            assert attrs(children["read"])["modbus.requests"] == 2
            assert attrs(children["dispatch"])["dispatch.source"] == "model"
            for child in children.values():
                assert poll.start_time_unix_nano <= child.start_time_unix_nano
                assert child.end_time_unix_nano <= poll.end_time_unix_nano
                assert child.trace_id == poll.trace_id
    assert complete >= 3
    assert all(by_id.get(s.parent_span_id) is not None for s in servicer.spans if s.parent_span_id)


async def test_a_dead_collector_neither_spams_nor_slows_polling(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    provider = make_provider(
        OTLPSpanExporter(endpoint="127.0.0.1:9", insecure=True, timeout=1), "trace-site"
    )
    started = time.perf_counter()
    try:
        await run_gateway(tmp_path, provider.get_tracer("bessai"), 3.0, auto=False)
    finally:
        await asyncio.to_thread(provider.shutdown)
    elapsed = time.perf_counter() - started
    exporter_lines = [r for r in caplog.records if r.name.startswith("opentelemetry")]
    assert len(exporter_lines) <= 1, [r.getMessage() for r in exporter_lines]
    assert elapsed < 8.0


def test_no_endpoint_means_no_exporter() -> None:
    assert setup_tracing(None, "s") is None
    assert setup_tracing("", "s") is None
