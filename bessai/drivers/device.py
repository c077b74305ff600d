"""ModbusDevice: one device over Modbus TCP or RTU, polled by a read plan.

Every request is timed and kept as a ``TrafficRecord``. A timeout or a lost
connection closes the link (so that a late answer cannot be taken for the
next one) and reconnection waits an exponential backoff with jitter. Modbus/TCP
goes plain or over TLS (Modbus/TCP Security: the server's certificate checked
against the site's CA, the files read again at every connect); RTU goes
through pymodbus' serial client (see ``link``). A write is followed by a
read-back that must return the same words. Registers scaled by a live scale
factor are decoded with the exponent read in the same poll, and written with
the exponent read just before the write. A block's plain numbers are decoded
by one ``struct`` call laid out once per block.

Over 500 lines on purpose: the device's link lifecycle, read plan execution, write and read-back, and register table share one connection state.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import random
import ssl
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadDiscreteInputsRequest,
    WriteSingleCoilRequest,
)
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)

from bessai.drivers.codec import (
    CodecError,
    PlainDecoder,
    RegisterCodec,
    Value,
    compile_codecs,
    usable_sf,
)
from bessai.drivers.link import Link, SerialLink, encode_pdu, open_stream
from bessai.drivers.planner import ReadBlock, ReadPlan
from bessai.drivers.profile import Profile, Register, RegisterType, Table
from bessai.drivers.tls import TlsFiles, TlsSetupError, client_context, describe_handshake_error
from bessai.drivers.traffic import Outcome, TrafficRecord

log = logging.getLogger(__name__)

ILLEGAL_DATA_ADDRESS = 2

_READ_REQUEST: dict[Table, type[ModbusPDU]] = {
    Table.COIL: ReadCoilsRequest,
    Table.DISCRETE: ReadDiscreteInputsRequest,
    Table.HOLDING: ReadHoldingRegistersRequest,
    Table.INPUT: ReadInputRegistersRequest,
}


# True in the task reading back a write it just made (see ModbusDevice.write).
_VERIFYING: contextvars.ContextVar[bool] = contextvars.ContextVar("verifying", default=False)


@dataclass(frozen=True)
class TcpEndpoint:
    """Modbus/TCP, or Modbus/TCP Security when ``tls`` names the certificate files."""

    host: str
    port: int = 502
    tls: TlsFiles | None = None

    def __str__(self) -> str:
        return f"{'tls' if self.tls else 'tcp'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class SerialEndpoint:
    port: str
    baudrate: int = 19200
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    def __str__(self) -> str:
        return f"rtu://{self.port}@{self.baudrate}/{self.bytesize}{self.parity}{self.stopbits}"


Endpoint = TcpEndpoint | SerialEndpoint


class DeviceError(Exception):
    """A request that did not get a usable answer."""


class DeviceUnavailable(DeviceError):
    """No connection, or no answer in time: the link is considered down."""


class DeviceException(DeviceError):
    """The device answered with a Modbus exception response."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class WriteRejected(DeviceError):
    """A write that was refused before sending, failed, or did not read back."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter between reconnection attempts."""

    base_s: float = 0.1
    max_s: float = 1.6

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.max_s, self.base_s * 2.0 ** min(attempt, 30))
        return float(ceiling * (0.5 + 0.5 * rng.random()))


@dataclass
class PollResult:
    """What one full poll produced."""

    values: dict[str, float | None] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    blocks: list[tuple[ReadBlock, list[int]]] = field(default_factory=list)  # decoded, as read
    errors: list[str] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    requests: int = 0
    duration_s: float = 0.0

    @property
    def words(self) -> dict[str, list[int]]:
        """Each decoded register's raw words, worked out when asked (a poll needs none)."""
        return _words_of(self.blocks)

    @property
    def complete(self) -> bool:
        return not self.errors

    @property
    def empty(self) -> bool:
        """Nothing usable was decoded: every read was refused or every value is missing."""
        return not self.texts and all(v is None for v in self.values.values())


def _words_of(blocks: Iterable[tuple[ReadBlock, list[int]]]) -> dict[str, list[int]]:
    return {reg.name: words[block.span(reg)] for block, words in blocks for reg in block.registers}


class RegisterRow(NamedTuple):
    """One line of a device's live register table (for the Devices page)."""

    where: str
    name: str
    raw: str
    value: str
    unit: str
    access: str


@dataclass
class DeviceStats:
    requests: int = 0
    timeouts: int = 0
    errors: int = 0
    exceptions: dict[int, int] = field(default_factory=dict)
    reconnects: int = 0
    connects: int = 0
    disconnects: int = 0


@dataclass(frozen=True)
class _WireLayout:
    """How a block's answer decodes: its plain numbers by one ``struct`` over its bytes.

    ``plain`` decodes the registers that struct unpacks; ``rest`` are those their
    codec decodes from their words (reordered words, bits, an overlap),
    with the name of their live scale factor; ``numbers`` are the names a poll's
    values hold, in the block's order.
    """

    words: struct.Struct | None
    unpacker: struct.Struct | None
    plain: PlainDecoder | None
    rest: tuple[tuple[str, int, int, RegisterCodec, str | None], ...]
    every: tuple[tuple[str, int, int, RegisterCodec, str | None], ...]
    numbers: dict[str, None]

    @classmethod
    def for_block(
        cls, block: ReadBlock, layout: list[tuple[str, int, int, RegisterCodec]]
    ) -> _WireLayout:
        codes = [">"]
        at = 0
        plain: list[tuple[str, int, RegisterCodec]] = []
        for name, start, stop, codec in sorted(layout, key=lambda f: f[1]):
            code = None if block.table.is_bit else codec.wire_code
            if code is None or start < at or struct.calcsize(">" + code) != 2 * (stop - start):
                continue
            codes.append("x" * (2 * (start - at)) + code)
            plain.append((name, len(plain), codec))
            at = stop
        unpacked = {name for name, _, _ in plain}
        every = tuple((n, a, b, c, c.scale_factor) for n, a, b, c in layout)
        return cls(
            struct.Struct(f">{block.count}H") if plain else None,
            struct.Struct("".join(codes)) if plain else None,
            PlainDecoder(plain) if plain else None,
            tuple(f for f in every if f[0] not in unpacked),
            every,
            dict.fromkeys(n for n, _, _, c in layout if c.type is not RegisterType.STRING),
        )

    def unpack(self, words: list[int]) -> tuple[int | float | bytes, ...]:
        """The plain numbers' raw values, or () when the words do not fill the block."""
        if self.unpacker is None or self.words is None or len(words) * 2 != self.words.size:
            return ()
        return self.unpacker.unpack_from(self.words.pack(*words))


class ModbusDevice:
    """A Modbus device described by a profile, reached over TCP or a serial line."""

    def __init__(
        self,
        name: str,
        profile: Profile,
        endpoint: Endpoint,
        *,
        unit_id: int | None = None,
        timeout_s: float | None = None,
        backoff: Backoff | None = None,
        traffic_capacity: int = 64,
        seed: int | None = None,
    ) -> None:
        self.name = name
        self.profile = profile
        self.endpoint = endpoint
        self.unit_id = profile.connection.unit_id if unit_id is None else unit_id
        self.timeout_s = timeout_s or profile.connection.timeout_s
        self.backoff = backoff or Backoff()
        self.plan = ReadPlan.for_profile(profile)
        self._layouts: dict[
            tuple[Table, int, int, int | None], list[tuple[str, int, int, RegisterCodec]]
        ] = {}
        self._wire: dict[tuple[Table, int, int, int | None], _WireLayout] = {}
        self._reads: dict[tuple[Table, int, int, int | None], tuple[ModbusPDU, bytes]] = {}
        self.codecs: dict[str, RegisterCodec] = compile_codecs(
            profile.registers, profile.connection
        )
        self._sf_names = frozenset(
            r.scale_factor for r in profile.registers if r.scale_factor is not None
        )
        # The exponents of the last poll, by scale-factor register (None: not usable).
        self.exponents: dict[str, int | None] = {}
        # The last requests, for a look at the link: metrics and the intrusion detector take
        # every record as it is made (traffic_listeners). 4,096 a device grew a 100-device
        # gateway by ~85 MB over its first half hour (208 B a record).
        self.traffic: deque[TrafficRecord] = deque(maxlen=traffic_capacity)
        self.traffic_listeners: list[Callable[[TrafficRecord], None]] = []
        self.stats = DeviceStats()
        self._link: Link | None = None
        self._rng = random.Random(seed)
        self._attempt = 0
        self._next_attempt_at = 0.0
        self._ever_connected = False
        self.last_error: str | None = None
        self._said_tls: str | None = None
        self._answered = False  # the link has carried an answer since it connected
        self._connect_lock = asyncio.Lock()
        self._last_blocks: dict[
            tuple[Table, int, int, int | None], tuple[ReadBlock, list[int]]
        ] = {}
        # One request on the wire at a time (Modbus devices take one): each
        # record's latency and byte counts are then its own, not its neighbour's.
        self._request_lock = asyncio.Lock()
        self.last_read_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"ModbusDevice({self.name!r}, {self.profile.id}, {self.endpoint}, unit={self.unit_id})"
        )

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.connected

    async def _open_link(self) -> Link | None:
        """A connected link, or None with ``last_error`` saying why."""
        endpoint = self.endpoint
        if isinstance(endpoint, SerialEndpoint):
            serial = SerialLink(
                endpoint.port,
                baudrate=endpoint.baudrate,
                bytesize=endpoint.bytesize,
                parity=endpoint.parity,
                stopbits=endpoint.stopbits,
                timeout_s=self.timeout_s,
            )
            try:
                if await serial.connect():
                    return serial
            except (OSError, ModbusException) as exc:
                self.last_error = f"connect failed: {exc}"
            serial.close()
            return None
        context = None
        if endpoint.tls is not None:
            try:
                context = client_context(endpoint.tls)  # the files as they are now: rotation
            except TlsSetupError as exc:
                self._say_tls(f"{self.name}: {exc}")
                return None
        try:
            return await open_stream(
                endpoint.host,
                endpoint.port,
                self.timeout_s,
                ssl_context=context,
                server_name=endpoint.tls.server_name if endpoint.tls else None,
            )
        except ssl.SSLError as exc:
            assert endpoint.tls is not None
            self._say_tls(describe_handshake_error(exc, f"{self.name}: {endpoint}", endpoint.tls))
        except TimeoutError:
            self.last_error = f"cannot connect to {endpoint}: no answer within {self.timeout_s} s"
        except OSError as exc:  # errno's words, not asyncio's "Connect call failed (...)"
            why = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror
            self.last_error = f"cannot connect to {endpoint}: {why or exc}"
        return None

    def _closed_reason(self, exc: Exception) -> str:
        """Why the link failed; a TLS link closed before any answer most likely refused us."""
        tls = self.endpoint.tls if isinstance(self.endpoint, TcpEndpoint) else None
        if tls is None or self._answered or not isinstance(exc, ConnectionException):
            return f"connection error: {exc}"
        line = (
            f"{self.name}: {self.endpoint} closed the TLS connection before any answer: "
            f"does it accept this gateway's certificate ({tls.cert or 'none given'})?"
        )
        self._say_tls(line)
        return line

    def _say_tls(self, line: str) -> None:
        """A TLS failure is the link's error, logged once until it changes or the link comes up."""
        self.last_error = line
        if line != self._said_tls:
            self._said_tls = line
            log.error(line, extra={"device": self.name, "endpoint": str(self.endpoint)})

    async def connect(self) -> bool:
        """Connect now if the backoff allows; True when connected."""
        if self.connected:
            return True
        async with self._connect_lock:
            return await self._connect_locked()

    async def _connect_locked(self) -> bool:
        if self.connected:  # another task connected while this one waited
            return True
        if time.monotonic() < self._next_attempt_at:
            return False
        if self._link is not None:  # the peer closed the link
            self.stats.disconnects += 1
        self._drop_client()
        link = await self._open_link()
        if link is None:
            self.last_error = self.last_error or f"cannot connect to {self.endpoint}"
            self._schedule_retry()
            return False
        delay = self.profile.connection.connect_delay_s
        if delay:
            # Some devices (Huawei's SDongle) drop requests sent right after the connect.
            await asyncio.sleep(delay)
        self._link = link
        self._answered = False
        self.stats.connects += 1
        if self._ever_connected:
            self.stats.reconnects += 1
        self._ever_connected = True
        self._attempt = 0
        self._next_attempt_at = 0.0
        self.last_error = None
        log.info("connected", extra={"device": self.name, "endpoint": str(self.endpoint)})
        return True

    def _schedule_retry(self) -> None:
        self._next_attempt_at = time.monotonic() + self.backoff.delay_s(self._attempt, self._rng)
        self._attempt += 1

    def _drop_client(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def mark_lost(self, reason: str) -> None:
        """Close the link after a failure; the next connect waits out the backoff."""
        if self._link is not None:
            self.stats.disconnects += 1
            log.warning("link lost", extra={"device": self.name, "reason": reason})
        self._drop_client()
        self.last_error = reason
        self._schedule_retry()

    async def close(self) -> None:
        self._drop_client()

    def _record(
        self,
        started: float,
        fc: int,
        address: int,
        count: int,
        outcome: Outcome,
        code: int | None,
        sent: int,
        received: int,
    ) -> None:
        rec = TrafficRecord(
            ts=time.time(),
            device=self.name,
            function_code=fc,
            unit_id=self.unit_id,
            address=address,
            count=count,
            latency_s=time.perf_counter() - started,
            outcome=outcome,
            exception_code=code,
            bytes_sent=sent,
            bytes_received=received,
            read_back=_VERIFYING.get(),
        )
        self.stats.requests += 1
        self.traffic.append(rec)
        for listener in self.traffic_listeners:
            listener(rec)

    async def _request(
        self, address: int, count: int, request: ModbusPDU, payload: bytes | None = None
    ) -> ModbusPDU:
        """Send one request on the link, record it, and translate its failures.

        One request on the wire at a time: each record's latency and byte counts are its own.
        """
        async with self._request_lock:
            link = self._link
            if link is None or not link.connected:
                raise DeviceUnavailable(self.last_error or f"{self.name}: not connected")
            fc = request.function_code
            started = time.perf_counter()
            sent0, recv0 = link.bytes_sent, link.bytes_received
            try:
                response = await link.execute(request, payload)
            except (ModbusIOException, TimeoutError) as exc:
                self.stats.timeouts += 1
                sent, received = link.bytes_sent - sent0, link.bytes_received - recv0
                self._record(started, fc, address, count, Outcome.TIMEOUT, None, sent, received)
                self.mark_lost(f"no answer within {self.timeout_s} s (fc {fc} @ {address})")
                raise DeviceUnavailable(str(exc)) from None
            except (ConnectionException, OSError, ModbusException) as exc:
                self.stats.errors += 1
                sent, received = link.bytes_sent - sent0, link.bytes_received - recv0
                self._record(started, fc, address, count, Outcome.ERROR, None, sent, received)
                self.mark_lost(self._closed_reason(exc))
                raise DeviceUnavailable(str(exc)) from None
            sent, received = link.bytes_sent - sent0, link.bytes_received - recv0
            if response.isError():
                code = int(getattr(response, "exception_code", 0) or 0)
                self.stats.exceptions[code] = self.stats.exceptions.get(code, 0) + 1
                self._record(started, fc, address, count, Outcome.EXCEPTION, code, sent, received)
                self._answered = True
                raise DeviceException(
                    f"{self.name}: exception {code} for fc {fc} at {address} (+{count})", code
                )
            self._record(started, fc, address, count, Outcome.OK, None, sent, received)
            if not self._answered:
                self._answered, self._said_tls = True, None
            return response

    async def read_block(self, block: ReadBlock) -> list[int]:
        """The block's raw words (or bits as 0/1)."""
        key = (block.table, block.address, block.count, block.unit_id)
        prepared = self._reads.get(key)
        if prepared is None:
            unit = self.unit_id if block.unit_id is None else block.unit_id
            request = _READ_REQUEST[block.table](
                address=block.address, count=block.count, dev_id=unit
            )
            prepared = self._reads[key] = (request, encode_pdu(request))
        response = await self._request(block.address, block.count, *prepared)
        if block.table.is_bit:
            words = [int(bool(b)) for b in response.bits[: block.count]]
        else:
            registers = response.registers  # a fresh list from the link's decoder
            words = registers if type(registers) is list else list(registers)
        if len(words) != block.count:
            self.stats.errors += 1
            raise DeviceException(
                f"{self.name}: asked {block.count} values at {block.address}, got {len(words)}", 0
            )
        return words

    def _layout(self, block: ReadBlock) -> list[tuple[str, int, int, RegisterCodec]]:
        """Where each register of a block sits in its words, worked out once per block."""
        key = (block.table, block.address, block.count, block.unit_id)
        layout = self._layouts.get(key)
        if layout is None:
            layout = []
            for reg in block.registers:
                span = block.span(reg)
                layout.append((reg.name, span.start, span.stop, self.codecs[reg.name]))
            self._layouts[key] = layout
        return layout

    def _wire_layout(self, block: ReadBlock) -> _WireLayout:
        """The block's plain numbers as one ``struct`` over its bytes, worked out once per block."""
        key = (block.table, block.address, block.count, block.unit_id)
        wire = self._wire.get(key)
        if wire is None:
            wire = _WireLayout.for_block(block, self._layout(block))
            self._wire[key] = wire
        return wire

    def decode_block(
        self,
        block: ReadBlock,
        words: list[int],
        result: PollResult,
        exponents: dict[str, int | None] | None = None,
    ) -> None:
        """Decode one block's words; ``exponents`` are the sample's live scale factors.

        The plain numbers and texts (big-endian, as most devices send them) come out of
        one ``struct`` call over the block; reordered words and bits go through their codec.
        """
        wire = self._wire_layout(block)
        raws = wire.unpack(words)
        values, texts = result.values, result.texts
        values.update(wire.numbers)  # the registers' order, whichever way each decodes
        result.blocks.append((block, words))
        rest = wire.every
        if raws and wire.plain is not None:
            wire.plain.decode_into(raws, values, texts, exponents)
            rest = wire.rest
        for name, start, stop, codec, sf_name in rest:
            part = words[start:stop]
            sf = None
            if sf_name is not None and exponents is not None:
                sf = exponents.get(sf_name)
            try:
                value: Value = codec.decode(part, sf)
            except CodecError as exc:
                result.errors.append(str(exc))
                value = None
            if isinstance(value, str):
                texts[name] = value
            else:
                values[name] = value

    async def read_all(self) -> tuple[PollResult, list[tuple[ReadBlock, list[int]]]]:
        """Read every block of the plan (splitting refused ones); raises DeviceUnavailable."""
        started = time.perf_counter()
        result = PollResult()
        if not self.connected and not await self.connect():
            raise DeviceUnavailable(self.last_error or f"{self.name}: not connected")
        read: list[tuple[ReadBlock, list[int]]] = []
        queue = list(self.plan.blocks)
        while queue:
            block = queue.pop(0)
            result.requests += 1
            try:
                read.append((block, await self.read_block(block)))
            except DeviceException as exc:
                if exc.code == ILLEGAL_DATA_ADDRESS:
                    queue[0:0] = self.plan.split(block, str(exc))
                else:
                    result.errors.append(str(exc))
                    for reg in block.registers:
                        result.values.setdefault(reg.name, None)
                        result.refused.add(reg.name)
        result.duration_s = time.perf_counter() - started
        return result, read

    def decode_all(self, result: PollResult, read: list[tuple[ReadBlock, list[int]]]) -> PollResult:
        """Decode what ``read_all`` read into the result's values and texts: the scale
        factors first, then every register with the exponents of this same sample."""
        exponents: dict[str, int | None] = {}
        if self._sf_names:
            for block, words in read:
                for name, start, stop, codec in self._layout(block):
                    if name in self._sf_names:
                        exponents[name] = self._exponent(codec, words[start:stop])
        self.exponents = exponents
        for block, words in read:
            self.decode_block(block, words, result, exponents)
        last = self._last_blocks
        for block, words in result.blocks:
            key = (block.table, block.address, block.count, block.unit_id)
            last.pop(key, None)  # to the end: the newest words of a register win
            last[key] = (block, words)
        self.last_read_at = time.time()
        for name in self.plan.unsupported:
            result.values.setdefault(name, None)
            result.refused.add(name)
        return result

    async def poll(self) -> PollResult:
        """Read and decode every register of the plan once; raises DeviceUnavailable when the link is down."""
        started = time.perf_counter()
        result, read = await self.read_all()
        self.decode_all(result, read)
        result.duration_s = time.perf_counter() - started
        return result

    @property
    def last_words(self) -> dict[str, list[int]]:
        """Each register's raw words as last read."""
        return _words_of(self._last_blocks.values())

    def register_table(self) -> list[RegisterRow]:
        """Every register as last read: where it is, its raw words, its value as text."""
        rows = []
        last_words = self.last_words
        for reg in self.profile.registers:
            words = last_words.get(reg.name)
            if words is None:
                raw, value = "", ("unsupported" if reg.name in self.plan.unsupported else "")
            else:
                raw = " ".join(f"{w:04X}" for w in words)
                sf = self.exponents.get(reg.scale_factor) if reg.scale_factor else None
                decoded = (
                    self.codecs[reg.name].decode(words, sf)
                    if not reg.table.is_bit
                    else float(words[0])
                )
                if isinstance(decoded, float) and reg.enum and str(int(decoded)) in reg.enum:
                    value = reg.enum[str(int(decoded))]
                elif isinstance(decoded, float):
                    value = f"{decoded:.6g}"
                else:
                    value = "--" if decoded is None else decoded
            rows.append(
                RegisterRow(
                    f"{reg.table.value[0].upper()}{reg.address}",
                    reg.name,
                    raw,
                    value,
                    reg.unit,
                    reg.access.value,
                )
            )
        return rows

    @staticmethod
    def _exponent(codec: RegisterCodec, words: list[int]) -> int | None:
        try:
            return usable_sf(codec.raw(words))
        except CodecError:
            return None

    async def live_sf(self, register: Register) -> int | None:
        """The exponent of a register's scale factor as the device reports it now (None for
        a register without one); raises WriteRejected when it is not usable."""
        if register.scale_factor is None:
            return None
        sf_register = self.profile.by_name(register.scale_factor)
        words = await self.read_register(sf_register)
        exponent = self._exponent(self.codecs[sf_register.name], words)
        self.exponents[sf_register.name] = exponent
        if exponent is None:
            raw = " ".join(f"0x{w:04X}" for w in words)
            raise WriteRejected(
                f"{self.name}: {register.name}'s scale factor {sf_register.name} reads {raw}: "
                "not a usable exponent (-10..10), so its value is unknown"
            )
        return exponent

    async def read_value(self, name: str) -> float | None:
        """One register's value read now, with its live scale factor (None: not available);
        raises WriteRejected when its scale factor is not usable."""
        register = self.profile.by_name(name)
        if not await self.connect():
            raise DeviceUnavailable(self.last_error or f"{self.name}: not connected")
        sf = await self.live_sf(register)
        value = self.codecs[name].decode(await self.read_register(register), sf)
        return value if isinstance(value, float) else None

    async def read_register(self, register: Register) -> list[int]:
        block = ReadBlock(
            register.table, register.address, register.words, (register,), register.unit_id
        )
        return await self.read_block(block)

    async def write(self, name: str, value: float | str) -> float | str | None:
        """Write one register and read it back; returns the value read back.

        Refuses a read-only register, a value outside the profile's min/max or
        the type's range, and a read-back that differs from what was written.
        """
        try:
            register = self.profile.by_name(name)
        except KeyError:
            raise WriteRejected(f"{self.name}: no register named {name!r}") from None
        if not register.writable:
            raise WriteRejected(f"{self.name}: register {name!r} is read-only")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if register.min is not None and value < register.min:
                raise WriteRejected(
                    f"{self.name}: {name}={value} is below its minimum {register.min}"
                )
            if register.max is not None and value > register.max:
                raise WriteRejected(
                    f"{self.name}: {name}={value} is above its maximum {register.max}"
                )
        codec = self.codecs[name]
        sf = None
        if register.scale_factor is not None:
            # A live scale factor is read right before the write: the one the device holds now.
            if not await self.connect():
                raise DeviceUnavailable(self.last_error or f"{self.name}: not connected")
            sf = await self.live_sf(register)
        try:
            words = [int(bool(value))] if register.table.is_bit else codec.encode(value, sf=sf)
        except CodecError as exc:
            raise WriteRejected(str(exc)) from None
        if not await self.connect():
            raise DeviceUnavailable(self.last_error or f"{self.name}: not connected")
        address = register.address
        unit = self.unit_id if register.unit_id is None else register.unit_id
        if register.table is Table.COIL:
            request: ModbusPDU = WriteSingleCoilRequest(
                address=address, bits=[bool(words[0])], dev_id=unit
            )
        elif len(words) == 1:
            request = WriteSingleRegisterRequest(address=address, registers=words, dev_id=unit)
        else:
            request = WriteMultipleRegistersRequest(address=address, registers=words, dev_id=unit)
        await self._request(address, len(words), request)
        # A context variable, not a flag on the device: a poll running meanwhile in its
        # own task must not have its reads taken for this write's read-back.
        token = _VERIFYING.set(True)
        try:
            back = await self.read_register(register)
        finally:
            _VERIFYING.reset(token)
        if back != words:
            raise WriteRejected(f"{self.name}: read-back of {name} gave {back}, wrote {words}")
        return None if register.table.is_bit else codec.decode(back, sf)
