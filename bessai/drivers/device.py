"""ModbusDevice: one device over Modbus TCP or RTU, polled by a read plan.

Every request is timed and kept as a ``TrafficRecord``. A timeout or a lost
connection closes the client (so that a late answer cannot be taken for the
next one) and reconnection waits an exponential backoff with jitter. A write
is followed by a read-back that must return the same words.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from bessai.drivers.codec import CodecError, RegisterCodec, Value, compile_codecs
from bessai.drivers.planner import ReadBlock, ReadPlan
from bessai.drivers.profile import Profile, Register, Table
from bessai.drivers.traffic import Outcome, TrafficRecord

log = logging.getLogger(__name__)

ILLEGAL_DATA_ADDRESS = 2

_READ_FC = {Table.COIL: 1, Table.DISCRETE: 2, Table.HOLDING: 3, Table.INPUT: 4}
_READ_METHOD = {
    Table.COIL: "read_coils",
    Table.DISCRETE: "read_discrete_inputs",
    Table.HOLDING: "read_holding_registers",
    Table.INPUT: "read_input_registers",
}


# True in the task reading back a write it just made (see ModbusDevice.write).
_VERIFYING: contextvars.ContextVar[bool] = contextvars.ContextVar("verifying", default=False)


@dataclass(frozen=True)
class TcpEndpoint:
    host: str
    port: int = 502

    def __str__(self) -> str:
        return f"tcp://{self.host}:{self.port}"


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
    words: dict[str, list[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    requests: int = 0
    duration_s: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.errors

    @property
    def empty(self) -> bool:
        """Nothing usable was decoded: every read was refused or every value is missing."""
        return not self.texts and all(v is None for v in self.values.values())


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
        traffic_capacity: int = 4096,
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
        self.codecs: dict[str, RegisterCodec] = compile_codecs(
            profile.registers, profile.connection
        )
        self.traffic: deque[TrafficRecord] = deque(maxlen=traffic_capacity)
        self.traffic_listeners: list[Callable[[TrafficRecord], None]] = []
        self.stats = DeviceStats()
        self._client: Any = None
        self._rng = random.Random(seed)
        self._attempt = 0
        self._next_attempt_at = 0.0
        self._ever_connected = False
        self._bytes_sent = 0
        self._bytes_received = 0
        self.last_error: str | None = None
        self._connect_lock = asyncio.Lock()
        self.last_words: dict[str, list[int]] = {}
        # One request on the wire at a time (the client would queue them anyway): each
        # record's latency and byte counts are then its own, not its neighbour's.
        self._request_lock = asyncio.Lock()
        self.last_read_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"ModbusDevice({self.name!r}, {self.profile.id}, {self.endpoint}, unit={self.unit_id})"
        )

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending:
            self._bytes_sent += len(data)
        else:
            self._bytes_received += len(data)
        return data

    def _new_client(self) -> Any:
        common: dict[str, Any] = {
            "timeout": self.timeout_s,
            "retries": 0,
            "reconnect_delay": 0,
            "trace_packet": self._trace_packet,
        }
        if isinstance(self.endpoint, TcpEndpoint):
            return AsyncModbusTcpClient(self.endpoint.host, port=self.endpoint.port, **common)
        return AsyncModbusSerialClient(
            self.endpoint.port,
            baudrate=self.endpoint.baudrate,
            bytesize=self.endpoint.bytesize,
            parity=self.endpoint.parity,
            stopbits=self.endpoint.stopbits,
            **common,
        )

    def seconds_until_retry(self) -> float:
        return max(0.0, self._next_attempt_at - time.monotonic())

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
        if self._client is not None:  # the peer closed the link
            self.stats.disconnects += 1
        self._drop_client()
        client = self._new_client()
        try:
            ok = bool(await client.connect())
        except (OSError, ModbusException) as exc:
            ok = False
            self.last_error = f"connect failed: {exc}"
        if not ok:
            client.close()
            self.last_error = self.last_error or f"cannot connect to {self.endpoint}"
            self._schedule_retry()
            return False
        delay = self.profile.connection.connect_delay_s
        if delay:
            # Some devices (Huawei's SDongle) drop requests sent right after the connect.
            await asyncio.sleep(delay)
        self._client = client
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
        if self._client is not None:
            self._client.close()
            self._client = None

    def mark_lost(self, reason: str) -> None:
        """Close the link after a failure; the next connect waits out the backoff."""
        if self._client is not None:
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
        sent0: int,
        recv0: int,
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
            bytes_sent=self._bytes_sent - sent0,
            bytes_received=self._bytes_received - recv0,
            read_back=_VERIFYING.get(),
        )
        self.stats.requests += 1
        self.traffic.append(rec)
        for listener in self.traffic_listeners:
            listener(rec)

    async def _request(
        self, fc: int, address: int, count: int, call: Callable[[Any], Awaitable[Any]]
    ) -> Any:
        """Run one client call, record it, and translate its failures."""
        async with self._request_lock:
            return await self._request_now(fc, address, count, call)

    async def _request_now(
        self, fc: int, address: int, count: int, call: Callable[[Any], Awaitable[Any]]
    ) -> Any:
        client = self._client
        if client is None or not self.connected:
            raise DeviceUnavailable(self.last_error or f"{self.name}: not connected")
        started = time.perf_counter()
        sent0, recv0 = self._bytes_sent, self._bytes_received
        try:
            response = await call(client)
        except (ModbusIOException, TimeoutError) as exc:
            self.stats.timeouts += 1
            self._record(started, fc, address, count, Outcome.TIMEOUT, None, sent0, recv0)
            self.mark_lost(f"no answer within {self.timeout_s} s (fc {fc} @ {address})")
            raise DeviceUnavailable(str(exc)) from None
        except (ConnectionException, OSError, ModbusException) as exc:
            self.stats.errors += 1
            self._record(started, fc, address, count, Outcome.ERROR, None, sent0, recv0)
            self.mark_lost(f"connection error: {exc}")
            raise DeviceUnavailable(str(exc)) from None
        if response.isError():
            code = int(getattr(response, "exception_code", 0) or 0)
            self.stats.exceptions[code] = self.stats.exceptions.get(code, 0) + 1
            self._record(started, fc, address, count, Outcome.EXCEPTION, code, sent0, recv0)
            raise DeviceException(
                f"{self.name}: exception {code} for fc {fc} at {address} (+{count})", code
            )
        self._record(started, fc, address, count, Outcome.OK, None, sent0, recv0)
        return response

    async def read_block(self, block: ReadBlock) -> list[int]:
        """The block's raw words (or bits as 0/1)."""
        fc = _READ_FC[block.table]
        method = _READ_METHOD[block.table]
        unit = self.unit_id if block.unit_id is None else block.unit_id
        response = await self._request(
            fc,
            block.address,
            block.count,
            lambda c: getattr(c, method)(block.address, count=block.count, device_id=unit),
        )
        if block.table.is_bit:
            words = [int(bool(b)) for b in response.bits[: block.count]]
        else:
            words = list(response.registers)
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

    def decode_block(self, block: ReadBlock, words: list[int], result: PollResult) -> None:
        for name, start, stop, codec in self._layout(block):
            part = words[start:stop]
            result.words[name] = part
            try:
                value: Value = codec.decode(part)
            except CodecError as exc:
                result.errors.append(str(exc))
                value = None
            if isinstance(value, str):
                result.texts[name] = value
            else:
                result.values[name] = value

    async def read_all(self) -> tuple[PollResult, list[tuple[ReadBlock, list[int]]]]:
        """Read every block of the plan (splitting refused ones); raises DeviceUnavailable."""
        started = time.perf_counter()
        result = PollResult()
        if not await self.connect():
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
        """Decode what ``read_all`` read into the result's values and texts."""
        for block, words in read:
            self.decode_block(block, words, result)
        self.last_words.update(result.words)
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

    def register_table(self) -> list[RegisterRow]:
        """Every register as last read: where it is, its raw words, its value as text."""
        rows = []
        for reg in self.profile.registers:
            words = self.last_words.get(reg.name)
            if words is None:
                raw, value = "", ("unsupported" if reg.name in self.plan.unsupported else "")
            else:
                raw = " ".join(f"{w:04X}" for w in words)
                decoded = (
                    self.codecs[reg.name].decode(words) if not reg.table.is_bit else float(words[0])
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
        try:
            words = [int(bool(value))] if register.table.is_bit else codec.encode(value)
        except CodecError as exc:
            raise WriteRejected(str(exc)) from None
        if not await self.connect():
            raise DeviceUnavailable(self.last_error or f"{self.name}: not connected")
        address = register.address
        unit = self.unit_id if register.unit_id is None else register.unit_id
        if register.table is Table.COIL:
            await self._request(
                5, address, 1, lambda c: c.write_coil(address, bool(words[0]), device_id=unit)
            )
        elif len(words) == 1:
            await self._request(
                6, address, 1, lambda c: c.write_register(address, words[0], device_id=unit)
            )
        else:
            await self._request(
                16, address, len(words), lambda c: c.write_registers(address, words, device_id=unit)
            )
        # A context variable, not a flag on the device: a poll running meanwhile in its
        # own task must not have its reads taken for this write's read-back.
        token = _VERIFYING.set(True)
        try:
            back = await self.read_register(register)
        finally:
            _VERIFYING.reset(token)
        if back != words:
            raise WriteRejected(f"{self.name}: read-back of {name} gave {back}, wrote {words}")
        return None if register.table.is_bit else codec.decode(back)
