"""/health and /metrics against slow, many and malformed clients, over real sockets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bessai.core.observe.http import HealthServer
from bessai.core.observe.logs import JsonFormatter, Repeats
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import sim_device


@pytest.fixture
async def server(
    simulator: tuple[BessSimulator, int], tmp_path: Path
) -> AsyncIterator[HealthServer]:
    _, port = simulator
    gw = Gateway("http", [sim_device(port)], data_dir=tmp_path)
    await gw.start()
    http = HealthServer(gw, gw.metrics, "127.0.0.1", 0, max_connections=20, header_timeout_s=1.0)
    await http.start()
    try:
        yield http
    finally:
        await http.stop()
        await gw.stop()


async def _get(port: int, path: str = "/health") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data.split(b"\r\n", 1)[0]


async def test_slow_clients_are_cut_off(server: HealthServer) -> None:
    async def slow() -> float:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        started = time.monotonic()
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        for _ in range(20):
            if reader.at_eof():
                break
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
            await asyncio.sleep(0.25)
        writer.close()
        return time.monotonic() - started

    held = await asyncio.gather(*(slow() for _ in range(10)))
    assert max(held) < 2.5, held
    assert await _get(server.port) == b"HTTP/1.1 200 OK"


async def test_connections_past_the_cap_get_503_and_health_comes_back(
    server: HealthServer,
) -> None:
    idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(60)]
    try:
        assert await _get(server.port) == b"HTTP/1.1 503 Service Unavailable"
        assert server.refused > 0
        await asyncio.sleep(1.5)  # idle connections are closed after the header timeout
        assert await _get(server.port) == b"HTTP/1.1 200 OK"
    finally:
        for _, writer in idle:
            writer.close()


async def test_a_malformed_request_is_400_and_at_most_one_log_line(server: HealthServer) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Repeats())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)  # the worst case: aiohttp tells every bad request at DEBUG
    try:
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"\x16\x03\x01\x00garbage\r\n\r\n")
            await writer.drain()
            assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.0 400")
            writer.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    bad = [line for line in lines if line["logger"].startswith("aiohttp")]
    assert len(bad) <= 1, bad
    assert all("exc" not in line for line in lines)


def test_repeated_library_errors_are_folded_into_one_line() -> None:
    folding = Repeats(window_s=60)
    records = []
    for i in range(100):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            record = logging.getLogger("asyncio").makeRecord(
                "asyncio",
                logging.ERROR,
                __file__,
                1,
                "socket.accept() out of system resource\nsocket: %d",
                (i,),
                None,
            )
            import sys

            record.exc_info = sys.exc_info()
        records.append(record)
    passed = [r for r in records if folding.filter(r)]
    assert len(passed) == 1
    assert passed[0].exc_info is None
    assert "\n" not in passed[0].getMessage()
    assert passed[0].error == "OSError: [Errno 24] Too many open files"  # type: ignore[attr-defined]
    own = logging.getLogger("bessai.x").makeRecord(
        "bessai.x", logging.ERROR, __file__, 1, "x", (), None
    )
    assert folding.filter(own)
    assert folding.filter(own)
