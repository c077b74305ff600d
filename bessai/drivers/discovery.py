"""Finding a device on the bus: which unit ids answer, a SunSpec map, or a shipped profile.

Every request goes through one rate-limited, short-timeout probe, and the
whole search is bounded (unit ids probed, requests, seconds) so that a
commissioning laptop never floods a site's network. Unit ids are scanned
only on the engineer's own network (a subnet of one of this computer's
interfaces) unless told otherwise; one named unit id is always allowed. On
a serial line (Modbus RTU) the usual baud rates and parities are tried, the
common unit ids first on each, then every unit id, until the deadline.

Over 500 lines on purpose: one bounded probe (TCP, RTU, TLS) and its reporting; splitting it would scatter the budget of requests and seconds it enforces.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import serial
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, AsyncModbusTlsClient
from pymodbus.exceptions import ModbusException

from bessai.drivers.codec import CodecError, RegisterCodec, usable_sf
from bessai.drivers.profile import Profile, Register, RegisterType, Role, Table
from bessai.drivers.profile_loader import load_profile, registry_ids
from bessai.drivers.sunspec import (
    BASE_ADDRESSES,
    END_ID,
    MAX_MODELS,
    NO_DOUBTS,
    SUNS_MARKER,
    Doubts,
    Model,
    Placed,
    instances,
    model,
    profile_dict,
    register_name,
)
from bessai.drivers.tls import TlsFiles, TlsSetupError, client_context

log = logging.getLogger(__name__)

# Unit ids devices ship with, tried before the rest: SunSpec and most inverters 1,
# SMA 3, Kostal 71, Victron 100, GoodWe 247, then 2 and 126 (SMA's other defaults).
COMMON_UNIT_IDS = (1, 3, 71, 100, 247, 2, 126)
# Serial line settings devices ship with, most common first (8 data bits, 1 stop bit).
SERIAL_BAUDRATES = (9600, 19200, 38400, 115200, 57600, 4800)
SERIAL_PARITIES = ("N", "E", "O")
VENDOR_IDS = (64000, 65534)  # model ids SunSpec leaves to vendors
RANGE_PROBES = (0, 1, 100, 256, 1000, 3000, 5000, 10000, 13000, 30000, 32000, 37000, 40000)


class DiscoveryError(Exception):
    """Discovery cannot go on (refused target, nothing answers at all)."""


class LineRefused(DiscoveryError):
    """A serial port that cannot be opened with one line setting (a pty takes no parity)."""


@dataclass(frozen=True)
class Answer:
    """What one request got: words, a Modbus exception code, or nothing."""

    words: list[int] | None = None
    exception: int | None = None

    @property
    def answered(self) -> bool:
        return self.words is not None or self.exception is not None


@dataclass(frozen=True)
class SunSpecMap:
    """A SunSpec chain as the device reports it."""

    unit_id: int
    base: int
    chain: list[Placed]
    unknown: list[int]  # model ids pysunspec2 has no definition of (vendor models)
    identity: dict[str, str]
    scale_factors: dict[str, int]
    rated_w: float | None
    problems: list[str] = field(default_factory=list)  # what did not read as SunSpec says
    doubts: Doubts = NO_DOUBTS  # the models and scale factors those problems touch


@dataclass(frozen=True)
class Suggestion:
    """A shipped profile whose identity registers read plausibly on the device."""

    profile_id: str
    matched: int
    read: int
    values: dict[str, Any]


@dataclass
class Discovery:
    """Everything discovery found at one host and port."""

    host: str
    port: int
    units: list[int] = field(default_factory=list)
    sunspec: SunSpecMap | None = None
    ranges: list[tuple[str, int, str]] = field(default_factory=list)  # table, address, outcome
    suggestions: list[Suggestion] = field(default_factory=list)
    requests: int = 0
    elapsed_s: float = 0.0
    line: LineSetting | None = None  # the serial setting that answered (RTU only)
    skipped: list[str] = field(default_factory=list)  # serial settings the port refused


@dataclass(frozen=True)
class LineSetting:
    """A serial line's framing: ``19200 8E1``."""

    baudrate: int
    parity: str = "N"
    stopbits: int = 1

    def __str__(self) -> str:
        return f"{self.baudrate} 8{self.parity}{self.stopbits}"


def own_network(host: str) -> bool:
    """True if ``host`` is this computer or on a subnet of one of its interfaces."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise DiscoveryError(f"host {host!r} does not resolve: {exc.strerror}") from None
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    networks = []
    for nics in psutil.net_if_addrs().values():
        for nic in nics:
            if nic.family not in (socket.AF_INET, socket.AF_INET6) or not nic.netmask:
                continue
            try:
                address = nic.address.split("%")[0]
                networks.append(ipaddress.ip_interface(f"{address}/{nic.netmask}").network)
            except ValueError:
                continue
    return all(a.is_loopback or any(a in n for n in networks) for a in addresses)


def _refusal(port: str, line: LineSetting) -> str | None:
    """Why the port will not take the setting (a pty takes no parity), or None: tried with
    pyserial first, which closes the port again whatever happens, so that a refused setting
    never leaves it open and locked."""
    try:
        with serial.Serial(
            port,
            baudrate=line.baudrate,
            bytesize=8,
            parity=line.parity,
            stopbits=line.stopbits,
            exclusive=True,
            timeout=0,
        ):
            return None
    except (serial.SerialException, OSError, ValueError, termios.error) as exc:
        return str(exc)


class Probe:
    """One Modbus TCP connection (or serial line); one request at a time, at most one per
    ``interval_s``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout_s: float = 0.5,
        interval_s: float = 0.05,
        max_requests: int = 2000,
        line: LineSetting | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.max_requests = max_requests
        self.requests = 0
        self._last = 0.0
        self.line = line
        self.tls = tls
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if line is None and tls is not None:  # Modbus/TCP Security: the device checked by the CA
            try:
                context = client_context(tls)
            except TlsSetupError as exc:
                raise DiscoveryError(str(exc)) from None
            self._client = AsyncModbusTlsClient(
                host, port=port, sslctx=context, timeout=timeout_s, retries=0
            )
        elif line is None:
            self._client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
        else:
            self._client = AsyncModbusSerialClient(
                host,
                baudrate=line.baudrate,
                bytesize=8,
                parity=line.parity,
                stopbits=line.stopbits,
                timeout=timeout_s,
                retries=0,
                reconnect_delay=0,  # no reconnection in the background: it would hold the port
            )
        self._reads: dict[Table, Callable[..., Any]] = {
            Table.HOLDING: self._client.read_holding_registers,
            Table.INPUT: self._client.read_input_registers,
            Table.COIL: self._client.read_coils,
            Table.DISCRETE: self._client.read_discrete_inputs,
        }

    async def connect(self) -> None:
        if self.line is not None:
            refused = await asyncio.to_thread(_refusal, self.host, self.line)
            if refused is not None:
                raise LineRefused(f"serial port {self.host} refuses {self.line}: {refused}")
            try:
                opened = await self._client.connect()
            except Exception as exc:  # pyserial and termios raise their own error types
                raise LineRefused(f"serial port {self.host} refuses {self.line}: {exc}") from None
            if not opened:
                raise LineRefused(f"serial port {self.host} cannot be opened")
            return
        if not await self._client.connect():
            if self.tls is not None:
                raise DiscoveryError(
                    f"no Modbus/TCP Security at {self.host}:{self.port}: nothing listens, or "
                    f"its certificate is not signed by {self.tls.ca} for {self.host}"
                )
            raise DiscoveryError(f"nothing accepts Modbus TCP at {self.host}:{self.port}")

    def close(self) -> None:
        self._client.close()

    async def release(self) -> None:
        """Close, and give the loop the moment the transport takes to let go of the port (a
        serial port opened again at once is still locked)."""
        self._client.close()
        await asyncio.sleep(0.05)

    async def read(self, table: Table, address: int, count: int, unit: int) -> Answer:
        if not (address >= 0 and count >= 1 and address + count <= 65536):
            return Answer()  # past the address space: nothing to ask
        if self.requests >= self.max_requests:
            raise DiscoveryError(f"request budget of {self.max_requests} spent")
        wait = self._last + self.interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.requests += 1
        self._last = time.monotonic()
        try:
            if not self._client.connected:
                self._client.close()  # a serial port stays locked by a half-closed transport
                await self._client.connect()
        except Exception:  # a serial port gone, a connection refused: no answer
            return Answer()
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                response = await self._reads[table](address, count=count, device_id=unit)
        except (ModbusException, TimeoutError, OSError, ValueError):
            return Answer()
        if response.isError():
            return Answer(exception=int(getattr(response, "exception_code", 0) or 0))
        if table.is_bit:
            return Answer(words=[int(b) for b in response.bits[:count]])
        return Answer(words=list(response.registers))


async def find_units(
    probe: Probe, candidates: list[int], *, stop_at_first: bool = True, deadline_s: float = 120.0
) -> list[int]:
    """Unit ids that answer (data or an exception) a read at a SunSpec base address."""
    found: list[int] = []
    started = time.monotonic()
    for unit in candidates:
        if time.monotonic() - started > deadline_s:
            break
        answer = await probe.read(Table.HOLDING, BASE_ADDRESSES[0], 2, unit)
        if not answer.answered:
            answer = await probe.read(Table.HOLDING, 0, 1, unit)
        if answer.answered:
            found.append(unit)
            if stop_at_first:
                break
    return found


def unit_candidates(unit: int | None) -> list[int]:
    if unit is not None:
        return [unit]
    return list(COMMON_UNIT_IDS) + [u for u in range(1, 248) if u not in COMMON_UNIT_IDS]


async def _read_span(probe: Probe, address: int, count: int, unit: int) -> list[int] | None:
    words: list[int] = []
    while count > 0:
        n = min(count, 100)
        answer = await probe.read(Table.HOLDING, address, n, unit)
        if answer.words is None or len(answer.words) < n:
            return None
        words += answer.words
        address += n
        count -= n
    return words


def _text(words: list[int]) -> str:
    data = b"".join(w.to_bytes(2, "big") for w in words)
    return data.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()


def _signed(word: int) -> int:
    return word - 0x10000 if word >= 0x8000 else word


def _model_doubts(chain: list[Placed], at: int, reason: str, doubts: dict[int, str]) -> None:
    """Mark the model at ``at`` (the last one read, when ``at`` is -1) doubtful."""
    if chain:
        doubts.setdefault(chain[at].address, reason)


async def _walk_chain(
    probe: Probe, unit: int, base: int
) -> tuple[list[Placed], list[int], list[str], dict[int, str]]:
    """The models from the marker to the end marker: placed (known) models, vendor model
    ids, problems, and the models whose extent is in doubt (by address) with the reason."""
    chain: list[Placed] = []
    unknown: list[int] = []
    problems: list[str] = []
    doubts: dict[int, str] = {}
    seen: dict[int, int] = {}  # model id -> address of its first instance
    lost: str | None = None  # why every model from here on is in doubt
    repeats: dict[int, tuple[int, list[int]]] = {}  # model id -> (its warning, addresses)
    address = base + 2
    for _ in range(MAX_MODELS):
        if address + 2 > 65536:
            problems.append(
                f"the chain reaches the end of the address space ({address}) with no end "
                "marker: the last model's length is not confirmed"
            )
            _model_doubts(chain, -1, "no end marker follows it", doubts)
            return chain, unknown, problems, doubts
        head = await probe.read(Table.HOLDING, address, 2, unit)
        if head.words is None or len(head.words) < 2:
            problems.append(
                f"no model header at {address}: the chain ends without the end marker 0xFFFF, "
                "so the last model's length is not confirmed"
            )
            _model_doubts(chain, -1, f"no end marker follows it (nothing at {address})", doubts)
            return chain, unknown, problems, doubts
        mid, length = head.words
        if mid == END_ID:
            if length != 0:
                problems.append(f"the end marker at {address} has L={length}, not 0")
            return chain, unknown, problems, doubts
        if mid == 0:
            problems.append(
                f"model id 0 at {address}: not the end marker 0xFFFF; the chain is taken to end "
                "here, and the last model's length is not confirmed"
            )
            _model_doubts(chain, -1, f"model id 0, not 0xFFFF, follows it at {address}", doubts)
            return chain, unknown, problems, doubts
        if address + 2 + length > 65536:
            problems.append(f"model {mid} at {address} claims L={length}: past address 65535")
            _model_doubts(chain, -1, f"model {mid} after it runs past address 65535", doubts)
            return chain, unknown, problems, doubts
        definition = model(mid)
        if definition is None:
            unknown.append(mid)
            if not VENDOR_IDS[0] <= mid <= VENDOR_IDS[1] and lost is None:
                problems.append(
                    f"model id {mid} at {address} is neither a model pysunspec2 defines nor a "
                    f"vendor model ({VENDOR_IDS[0]}-{VENDOR_IDS[1]}): the chain may be misread "
                    "from the model before it on"
                )
                lost = f"the chain reads an unknown model id {mid} at {address}"
                _model_doubts(chain, -1, lost, doubts)
        else:
            chain.append(Placed(mid, address, length))
            if lost is not None:
                doubts.setdefault(address, lost)
            if length < definition.fixed_length:
                problems.append(
                    f"model {mid} at {address} is shorter (L={length}) than its definition "
                    f"({definition.fixed_length}): the points past its end are left out and "
                    "none of its points is trusted"
                )
                doubts[address] = (
                    f"L={length} is shorter than model {mid}'s {definition.fixed_length}"
                )
            if mid in seen:
                # One warning per model id, however often it repeats (a loop repeats it 63 times).
                again = repeats.setdefault(mid, (len(problems), []))[1]
                again.append(address)
                shown = ", ".join(map(str, again[:5])) + (" …" if len(again) > 5 else "")
                text = (
                    f"model {mid} appears again at {shown} (first at {seen[mid]}; "
                    f"{len(again) + 1} in all): no role is taken from any of them"
                )
                if len(again) == 1:
                    problems.append(text)
                else:
                    problems[repeats[mid][0]] = text
        seen.setdefault(mid, address)
        address += 2 + length
    problems.append(
        f"no end marker after {MAX_MODELS} models (a loop, or a chain without end): "
        "none of its models is trusted"
    )
    for placed in chain:
        doubts.setdefault(placed.address, "the chain has no end marker within its bound")
    return chain, unknown, problems, doubts


async def read_sunspec(probe: Probe, unit: int) -> SunSpecMap | None:
    """The SunSpec chain of a unit: the marker at 40000, 0 or 50000, then ID/L to 0xFFFF.

    Whatever could not be read as SunSpec says is kept as a problem, and the models
    and scale factors it touches are marked doubtful so that no role is taken from them."""
    for base in BASE_ADDRESSES:
        marker = await probe.read(Table.HOLDING, base, 2, unit)
        if marker.words is not None and tuple(marker.words) == SUNS_MARKER:
            break
    else:
        return None
    chain, unknown, problems, doubts = await _walk_chain(probe, unit, base)
    identity: dict[str, str] = {}
    scale_factors: dict[str, int] = {}
    bad_sf: dict[str, str] = {}
    rated_w: float | None = None
    for placed, instance in zip(chain, instances(chain), strict=True):
        definition = model(placed.id)
        assert definition is not None
        body = await _read_span(probe, placed.address, placed.length + 2, unit)
        if body is None:
            problems.append(
                f"model {placed.id} at {placed.address} could not be read whole: "
                "none of its points is trusted"
            )
            doubts.setdefault(placed.address, "the model could not be read whole")
            continue

        def words_of(
            name: str, body: list[int] = body, definition: Model = definition
        ) -> list[int] | None:
            point = definition.point(name)
            if point is None or point.offset + point.size > len(body):
                return None
            return body[point.offset : point.offset + point.size]

        unusable: list[str] = []
        for point in definition.points:
            sf = words_of(point.name) if point.kind == "sunssf" else None
            if sf is None:
                continue
            name = register_name(placed.id, point.name, instance)
            exponent = usable_sf(sf[0])
            if exponent is None:
                unusable.append(f"{point.name} reads {_signed(sf[0])}")
                bad_sf[name] = (
                    f"its scale factor {point.name} read {_signed(sf[0])} at discovery: not usable"
                )
            else:
                scale_factors[name] = exponent
        if unusable:
            problems.append(
                f"model {placed.id} at {placed.address}: {', '.join(unusable)}: not a usable "
                "scale factor (-32768 is 'not implemented'); the points it scales get no role "
                "and stay unknown until it reads -10..10"
            )
        if placed.id == 1 and instance == 0:
            for name in ("Mn", "Md", "Opt", "Vr", "SN"):
                text = words_of(name)
                if text is not None:
                    identity[name] = _text(text)
        if placed.id == 124 and instance == 0:
            raw = words_of("WChaMax")
            wchamax_sf = scale_factors.get("st_wchamax_sf")
            if raw is None or raw[0] in (0, 0xFFFF) or wchamax_sf is None:
                problems.append(
                    "model 124's WChaMax (the 100 % of the charge and discharge limits) is not "
                    "usable: the profile gets no control section"
                )
            elif "st_inoutwrte_sf" not in scale_factors:
                problems.append(
                    "model 124's InOutWRte_SF is not usable: the charge and discharge limits "
                    "cannot be scaled, the profile gets no control section"
                )
            else:
                rated_w = raw[0] * 10.0**wchamax_sf
    return SunSpecMap(
        unit,
        base,
        chain,
        unknown,
        identity,
        scale_factors,
        rated_w,
        problems,
        Doubts(doubts, bad_sf, []),
    )


async def probe_ranges(probe: Probe, unit: int) -> list[tuple[str, int, str]]:
    """Which tables answer at a few addresses devices use: data, an exception, or nothing."""
    found: list[tuple[str, int, str]] = []
    for table in (Table.HOLDING, Table.INPUT):
        for address in RANGE_PROBES:
            answer = await probe.read(table, address, 1, unit)
            outcome = (
                "data"
                if answer.words is not None
                else f"exception {answer.exception}"
                if answer.exception is not None
                else "no answer"
            )
            found.append((table.value, address, outcome))
    for table in (Table.COIL, Table.DISCRETE):
        answer = await probe.read(table, 0, 1, unit)
        found.append((table.value, 0, "data" if answer.words is not None else "no data"))
    return found


def _identity_registers(profile: Profile) -> list[Register]:
    chosen = [r for r in profile.registers if r.type is RegisterType.STRING and not r.table.is_bit]
    for role in (Role.SOC_PCT, Role.PACK_VOLTAGE_V, Role.BATTERY_TEMP_C):
        reg = profile.by_role(role)
        if reg is not None and not reg.table.is_bit:
            chosen.append(reg)
    return chosen[:6]


def _plausible(profile: Profile, reg: Register, value: Any) -> bool:
    if isinstance(value, str):
        return bool(value) and value.isprintable() and "\ufffd" not in value
    if value is None:
        return False
    if reg.role is Role.SOC_PCT:
        return bool(0.0 <= value <= 100.0)
    if reg.role is Role.PACK_VOLTAGE_V:
        rated = profile.ratings
        low, high = (rated.pack_voltage_min_v, rated.pack_voltage_max_v) if rated else (1.0, 1500.0)
        return bool(0.8 * low <= value <= 1.2 * high)
    if reg.role is Role.BATTERY_TEMP_C:
        return bool(-40.0 <= value <= 100.0)
    return True


async def suggest_profiles(probe: Probe, unit: int) -> list[Suggestion]:
    """Shipped profiles whose identity registers read plausibly, best first."""
    suggestions: list[Suggestion] = []
    for pid in registry_ids():
        profile = load_profile(pid)
        regs = _identity_registers(profile)
        matched = 0
        values: dict[str, Any] = {}
        for reg in regs:
            answer = await probe.read(
                reg.table, reg.address, reg.words, reg.unit_id if reg.unit_id is not None else unit
            )
            if answer.words is None or len(answer.words) != reg.words:
                continue
            try:
                value = RegisterCodec(reg, profile.connection).decode(answer.words)
            except CodecError:
                continue
            values[reg.name] = value
            matched += _plausible(profile, reg, value)
        if regs and matched == len(regs):
            suggestions.append(Suggestion(pid, matched, len(regs), values))
    return sorted(suggestions, key=lambda s: -s.matched)


async def discover(
    host: str,
    port: int = 502,
    *,
    unit: int | None = None,
    allow_remote: bool = False,
    all_units: bool = False,
    timeout_s: float = 0.5,
    interval_s: float = 0.05,
    deadline_s: float = 120.0,
    tls: TlsFiles | None = None,
) -> Discovery:
    """Find the units at ``host:port`` (over TLS with ``tls``) and, for the first, a SunSpec
    map or matching profiles."""
    if unit is None and not allow_remote and not own_network(host):
        raise DiscoveryError(
            f"{host} is not on this computer's networks: unit ids are not scanned there "
            "(name one with --unit, or pass --allow-remote if this network is yours)"
        )
    started = time.monotonic()
    probe = Probe(host, port, timeout_s=timeout_s, interval_s=interval_s, tls=tls)
    await probe.connect()
    result = Discovery(host, port)
    try:
        result.units = await find_units(
            probe, unit_candidates(unit), stop_at_first=not all_units, deadline_s=deadline_s
        )
        await _explore(probe, result)
    finally:
        probe.close()
        result.requests = probe.requests
        result.elapsed_s = time.monotonic() - started
    return result


async def _explore(probe: Probe, result: Discovery) -> None:
    """The first answering unit's SunSpec map, or what answers and which profiles fit."""
    if not result.units:
        return
    first = result.units[0]
    result.sunspec = await read_sunspec(probe, first)
    if result.sunspec is None:
        result.ranges = await probe_ranges(probe, first)
        result.suggestions = await suggest_profiles(probe, first)


async def discover_serial(
    port: str,
    *,
    unit: int | None = None,
    baudrates: tuple[int, ...] = SERIAL_BAUDRATES,
    parities: tuple[str, ...] = SERIAL_PARITIES,
    all_units: bool = False,
    timeout_s: float = 0.3,
    interval_s: float = 0.02,
    deadline_s: float = 120.0,
) -> Discovery:
    """Find a device on a Modbus RTU line: the baud rate and parity it answers at (the named
    unit, or the common unit ids on every setting first, then every unit id), then its
    SunSpec map or matching profiles as over TCP. Bounded by ``deadline_s``."""
    started = time.monotonic()
    settings = [LineSetting(b, p) for b in baudrates for p in parities]
    passes = [[unit]] if unit is not None else [list(COMMON_UNIT_IDS), unit_candidates(None)]
    result = Discovery(port, 0)
    requests = 0
    refused: dict[LineSetting, str] = {}
    try:
        for candidates in passes:
            for line in settings:
                left_s = deadline_s - (time.monotonic() - started)
                if left_s <= 0:
                    return result
                if line in refused:
                    continue
                probe = Probe(port, 0, timeout_s=timeout_s, interval_s=interval_s, line=line)
                try:
                    await probe.connect()
                except LineRefused as exc:
                    await probe.release()
                    refused[line] = str(exc)
                    result.skipped.append(str(exc))
                    continue
                try:
                    units = await find_units(probe, candidates, deadline_s=left_s)
                    if not units:
                        continue
                    result.line = line
                    result.units = units
                    if all_units:
                        rest = [u for u in unit_candidates(None) if u not in units]
                        left_s = deadline_s - (time.monotonic() - started)
                        more = await find_units(
                            probe, rest, stop_at_first=False, deadline_s=max(0.0, left_s)
                        )
                        result.units = sorted(units + more)
                    await _explore(probe, result)
                    return result
                finally:
                    await probe.release()
                    requests += probe.requests
                    result.requests = requests
        if len(refused) == len(settings):
            raise DiscoveryError(f"no setting could be applied: {next(iter(refused.values()))}")
    finally:
        result.elapsed_s = time.monotonic() - started
    return result


def write_profile(data: dict[str, Any], path: Path) -> None:
    """A discovered profile as the registry's files are written (raises OSError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def profile_id_for(identity: dict[str, str]) -> str:
    """A registry-style id from the manufacturer and model (``bessai_sim_bess_sunspec``)."""
    text = f"{identity.get('Mn', '')}_{identity.get('Md', '')}".lower()
    slug = "".join(c if c.isalnum() else "_" for c in text if c.isascii())
    slug = "_".join(part for part in slug.split("_") if part)
    return slug[:48] or "sunspec_device"


def discovered_profile(
    found: SunSpecMap, host: str, port: int, when: str, *, line: LineSetting | None = None
) -> dict[str, Any]:
    """The profile a SunSpec map becomes: the model chain at its addresses, scale factors live,
    the discovery's warnings kept. ``line``: found on a serial line (``host`` is the port)."""
    where = f"{host} at {line}" if line is not None else f"{host}:{port}"
    data = profile_dict(
        found.chain,
        found.base,
        found.scale_factors,
        identity=found.identity,
        profile_id=profile_id_for(found.identity),
        source=f"SunSpec model chain read from {where} unit {found.unit_id} "
        f"by bessai discover on {when}",
        rated_w=found.rated_w,
        doubts=Doubts(found.doubts.models, found.doubts.scale_factors, list(found.problems)),
    )
    if line is None:
        data["connection"].update(unit_id=found.unit_id, port=port)
    else:
        data["connection"].update(unit_id=found.unit_id)
        data["protocol"] = ["rtu"]
        data["description"] += f" Found over Modbus RTU at {line} (8 data bits)."
    return data
