"""The Modbus/TCP link against a scripted server on raw sockets: what it takes and what it refuses.

Each test scripts the bytes a device sends back for a request (split, from
another unit, for a stale transaction, for another function, garbage, or
nothing) and checks what the device's poll makes of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from bessai.drivers.device import Backoff, DeviceUnavailable, ModbusDevice, TcpEndpoint
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.traffic import Outcome

# (transaction id, unit, request PDU) -> the chunks to send back, in order
Script = Callable[[int, int, bytes], list[bytes]]


def answer(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def registers(request: bytes, value: int = 0x1234) -> bytes:
    """The PDU answering a read of holding or input registers with ``value`` in every word."""
    fc, _, count = struct.unpack(">BHH", request[:5])
    return bytes([fc, 2 * count]) + struct.pack(f">{count}H", *([value] * count))


def proper(tid: int, unit: int, pdu: bytes) -> list[bytes]:
    return [answer(tid, unit, registers(pdu))]


@dataclass
class ScriptedServer:
    script: Script = proper
    requests: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                tid, _, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                chunks = self.script(tid, unit, pdu)
                if chunks == [b"close"]:
                    break
                for chunk in chunks:
                    writer.write(chunk)
                    await writer.drain()
                    await asyncio.sleep(0.001)  # each chunk its own segment
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[tuple[ScriptedServer, ModbusDevice]]:
    srv = ScriptedServer()
    port = await srv.start()
    device = ModbusDevice(
        "dev",
        load_profile("sim_bess"),
        TcpEndpoint("127.0.0.1", port),
        timeout_s=0.3,
        backoff=Backoff(base_s=0.0, max_s=0.0),
    )
    try:
        yield srv, device
    finally:
        await device.close()
        await srv.stop()


async def test_an_answer_split_byte_by_byte_is_read(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    srv, dev = server
    srv.script = lambda tid, unit, pdu: [bytes([b]) for b in answer(tid, unit, registers(pdu))]
    result = await dev.poll()
    assert result.complete
    assert result.values["device_state"] == 0x1234
    assert [r.outcome for r in dev.traffic] == [Outcome.OK] * 2
    assert dev.traffic[0].bytes_received == 9 + 2 * dev.traffic[0].count


async def test_answers_for_another_unit_or_a_stale_transaction_are_skipped(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    srv, dev = server

    def noisy(tid: int, unit: int, pdu: bytes) -> list[bytes]:
        good = registers(pdu)
        # Another unit's answer and a stale transaction's, in one segment with the right one.
        return [
            answer(tid, unit + 1, registers(pdu, 0xBAD))
            + answer(tid - 1, unit, good)
            + answer(tid, unit, good)
        ]

    srv.script = noisy
    result = await dev.poll()
    assert result.complete
    assert result.values["device_state"] == 0x1234
    assert dev.stats.errors == dev.stats.timeouts == 0


async def test_an_answer_for_another_function_drops_the_link_at_once(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    srv, dev = server
    dev.timeout_s = 5.0  # far beyond what an answer takes: an error, not the timeout
    srv.script = lambda tid, unit, pdu: [answer(tid, unit, bytes([6, 0, 1, 0, 1]))]
    started = asyncio.get_running_loop().time()
    with pytest.raises(DeviceUnavailable):
        await dev.poll()
    assert asyncio.get_running_loop().time() - started < dev.timeout_s  # not a timeout
    assert dev.traffic[-1].outcome is Outcome.ERROR
    assert dev.last_error is not None
    assert "answer for function 6 to function 3" in dev.last_error
    assert not dev.connected
    srv.script = proper
    assert (await dev.poll()).complete  # and comes back on a new connection


async def test_bytes_that_are_no_frame_drop_the_link_at_once(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    srv, dev = server
    srv.script = lambda tid, unit, pdu: [b"\xff" * 300]  # protocol id 0xFFFF: no MBAP frame
    with pytest.raises(DeviceUnavailable):
        await dev.poll()
    assert dev.traffic[-1].outcome is Outcome.ERROR
    assert dev.last_error is not None
    assert "no Modbus frame" in dev.last_error
    assert not dev.connected


async def test_a_byte_count_beyond_the_frame_is_an_error_not_a_value(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    srv, dev = server
    srv.script = lambda tid, unit, pdu: [answer(tid, unit, bytes([pdu[0], 200, 0, 1]))]
    with pytest.raises(DeviceUnavailable):
        await dev.poll()
    assert dev.traffic[-1].outcome is Outcome.ERROR
    assert dev.last_error is not None
    assert "undecodable answer" in dev.last_error


async def test_a_short_answer_is_refused_as_an_exception(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    """A well-formed answer with fewer words than asked: the block's registers are missing."""
    srv, dev = server
    srv.script = lambda tid, unit, pdu: [answer(tid, unit, bytes([pdu[0], 2, 0, 1]))]
    result = await dev.poll()
    assert not result.complete
    assert "asked" in result.errors[0]
    assert "got 1" in result.errors[0]
    assert dev.connected  # the link itself is fine


async def test_a_peer_closing_mid_request_is_an_error(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    srv, dev = server
    srv.script = lambda tid, unit, pdu: [b"close"]
    with pytest.raises(DeviceUnavailable):
        await dev.poll()
    assert dev.traffic[-1].outcome is Outcome.ERROR
    assert dev.last_error is not None
    assert dev.last_error.startswith("connection error:")
    srv.script = proper
    assert (await dev.poll()).complete


async def test_silence_is_a_timeout_and_a_new_connection_follows(
    server: tuple[ScriptedServer, ModbusDevice],
) -> None:
    srv, dev = server
    assert (await dev.poll()).complete
    srv.script = lambda tid, unit, pdu: []
    with pytest.raises(DeviceUnavailable):
        await dev.poll()
    assert dev.traffic[-1].outcome is Outcome.TIMEOUT
    assert dev.traffic[-1].latency_s >= dev.timeout_s
    assert dev.last_error == f"no answer within {dev.timeout_s} s (fc 3 @ 0)"
    assert not dev.connected
    srv.script = proper
    assert (await dev.poll()).complete
    assert dev.stats.reconnects == 1
