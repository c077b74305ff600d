"""Links to a device: Modbus/TCP (plain or TLS) on pymodbus' framer and PDUs, RTU on its client.

A poll sends one request at a time and waits for its answer, so the TCP link
needs none of pymodbus' transaction layer (its lock, retries and per-request
futures wrapped in ``wait_for``): ``StreamLink`` frames pymodbus PDUs with
pymodbus' MBAP framer, writes them on an asyncio transport and resolves one
future when the matching answer arrives. Register answers are decoded by
pymodbus' response classes with the register loop done in one ``struct``
call. RTU keeps pymodbus' serial client, whose timing rules it needs.

Every link counts the bytes it sent and received, raises ``TimeoutError``
when no answer comes in time and ``ConnectionException`` when the link is
gone; an answer that cannot be decoded raises ``BadAnswer`` and the caller
drops the link.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
from typing import Protocol

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerSocket
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
)

log = logging.getLogger(__name__)

_MAX_TID = 65000  # pymodbus' own wrap-around


class _HoldingRegisters(ReadHoldingRegistersResponse):
    """fc 3's answer, its words unpacked in one call rather than one ``struct`` call per word."""

    def decode(self, data: bytes) -> None:
        size = data[0]
        if size >= len(data) or size % 2:
            raise ModbusIOException(
                f"byte_count {size} does not fit a packet of {len(data)}",
                function_code=self.function_code,
            )
        self.registers = list(struct.unpack_from(f">{size // 2}H", data, 1))


class _InputRegisters(ReadInputRegistersResponse):
    """fc 4's answer, decoded as fc 3's."""

    decode = _HoldingRegisters.decode


class BadAnswer(ModbusException):
    """Bytes that are no answer to the request: not a frame, another function, undecodable."""


_FAST_ANSWERS: dict[int, type[ModbusPDU]] = {3: _HoldingRegisters, 4: _InputRegisters}


class Link(Protocol):
    """What a device needs of its connection."""

    bytes_sent: int
    bytes_received: int

    @property
    def connected(self) -> bool: ...

    async def execute(self, request: ModbusPDU, payload: bytes | None = None) -> ModbusPDU: ...

    def close(self) -> None: ...


def encode_pdu(request: ModbusPDU) -> bytes:
    """A request's PDU bytes (function code, then its data), as pymodbus' framers send them.

    A poll asks the same blocks every cycle: they are encoded once and passed
    to ``execute`` beside their request.
    """
    data: bytes = request.function_code.to_bytes(1, "big") + request.encode()
    return data


class StreamLink(asyncio.Protocol):
    """One Modbus/TCP connection (TLS or not), one request in flight."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.bytes_sent = 0
        self.bytes_received = 0
        self._framer = FramerSocket(DecodePDU(False))
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._tid = 0
        self._waiter: asyncio.Future[ModbusPDU] | None = None
        self._expect_unit = 0
        self._expect_tid = 0
        self._expect_fc = 0
        self._loop = asyncio.get_running_loop()
        # One timer watches the request in flight: re-arming a timer per request costs
        # more than the rest of the request's own work.
        self._deadline = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def connected(self) -> bool:
        return self._transport is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._stop_watching()
        self._fail(ConnectionException(f"connection lost: {exc}" if exc else "connection closed"))

    def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()  # no lingering: a late answer must not be read by anyone
        self._stop_watching()
        self._fail(ConnectionException("connection closed"))

    def _stop_watching(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _watch(self) -> None:
        """Fail the request in flight once its deadline has passed; idle, the timer stops."""
        self._watchdog = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._loop.time() >= self._deadline:
            waiter.set_exception(TimeoutError(f"no answer within {self.timeout_s} s"))
        else:
            self._watchdog = self._loop.call_at(self._deadline, self._watch)

    async def execute(self, request: ModbusPDU, payload: bytes | None = None) -> ModbusPDU:
        """Send a request (``payload``: its ``encode_pdu`` bytes, if already made) and await its answer."""
        transport = self._transport
        if transport is None:
            raise ConnectionException("not connected")
        self._tid = tid = self._tid + 1 if self._tid < _MAX_TID else 1
        request.transaction_id = tid
        if payload is None:
            payload = encode_pdu(request)
        frame = self._framer.encode(payload, request.dev_id, tid)
        loop = self._loop
        self._waiter = waiter = loop.create_future()
        self._expect_unit, self._expect_tid, self._expect_fc = request.dev_id, tid, payload[0]
        self._buffer = b""
        self._deadline = loop.time() + self.timeout_s
        if self._watchdog is None:
            self._watchdog = loop.call_at(self._deadline, self._watch)
        transport.write(frame)
        self.bytes_sent += len(frame)
        try:
            answer: ModbusPDU = await waiter
        finally:
            self._waiter = None
        return answer

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        buffer = self._buffer + data if self._buffer else data
        while buffer:
            used, unit, tid, pdu = self._framer.decode(buffer)
            if not used:
                if len(buffer) > self._framer.MAX_SIZE:
                    self._buffer = b""
                    self._fail(BadAnswer(f"{len(buffer)} bytes that are no Modbus frame"))
                    return
                break
            buffer = buffer[used:]
            self._answer(unit, tid, pdu)
        self._buffer = buffer

    def _answer(self, unit: int, tid: int, frame: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done() or tid != self._expect_tid:
            log.debug("answer to no pending request dropped (transaction %d)", tid)
            return
        if self._expect_unit and unit != self._expect_unit:
            log.debug("answer from unit %d dropped, asked %d", unit, self._expect_unit)
            return
        if not frame or frame[0] & 0x7F != self._expect_fc:
            got = frame[0] & 0x7F if frame else 0
            waiter.set_exception(
                BadAnswer(f"answer for function {got} to function {self._expect_fc}")
            )
            return
        pdu = _decode(self._framer.decoder, frame)
        if pdu is None:
            waiter.set_exception(BadAnswer(f"undecodable answer {frame[:16].hex()}"))
            return
        pdu.dev_id, pdu.transaction_id = unit, tid
        waiter.set_result(pdu)


def _decode(decoder: DecodePDU, frame: bytes) -> ModbusPDU | None:
    """A response PDU from its bytes (function code first), or None when it does not decode."""
    answer = _FAST_ANSWERS.get(frame[0])
    if answer is None:
        return decoder.decode(frame)
    pdu = answer()
    try:
        pdu.decode(frame[1:])
    except (ModbusIOException, ValueError, IndexError, struct.error):
        return None
    return pdu


async def open_stream(
    host: str,
    port: int,
    timeout_s: float,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_name: str | None = None,
) -> StreamLink:
    """A connected ``StreamLink``; raises OSError, ssl.SSLError or TimeoutError."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        _, link = await loop.create_connection(
            lambda: StreamLink(timeout_s),
            host,
            port,
            ssl=ssl_context,
            server_hostname=(server_name or host) if ssl_context is not None else None,
        )
    return link


class SerialLink:
    """Modbus RTU through pymodbus' serial client (its inter-frame timing is the hard part)."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int,
        bytesize: int,
        parity: str,
        stopbits: int,
        timeout_s: float,
    ) -> None:
        self.bytes_sent = 0
        self.bytes_received = 0
        self._client = AsyncModbusSerialClient(
            port,
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            timeout=timeout_s,
            retries=0,
            reconnect_delay=0,
            trace_packet=self._trace_packet,
        )

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self.bytes_sent += len(data)
        else:
            self.bytes_received += len(data)
        return data

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def connect(self) -> bool:
        return bool(await self._client.connect())

    async def execute(self, request: ModbusPDU, payload: bytes | None = None) -> ModbusPDU:
        """Send a request through pymodbus' client (``payload`` is not needed: it encodes)."""
        answer: ModbusPDU = await self._client.execute(False, request)
        return answer

    def close(self) -> None:
        self._client.close()
