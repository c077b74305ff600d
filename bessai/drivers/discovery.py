"""Finding a device on the bus: which unit ids answer, a SunSpec map, or a shipped profile.

Every request goes through one rate-limited, short-timeout probe, and the
whole search is bounded (unit ids probed, requests, seconds) so that a
commissioning laptop never floods a site's network. Unit ids are scanned
only on the engineer's own network (a subnet of one of this computer's
interfaces) unless told otherwise; one named unit id is always allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from bessai.drivers.codec import CodecError, RegisterCodec
from bessai.drivers.profile import Profile, Register, RegisterType, Role, Table
from bessai.drivers.profile_loader import load_profile, registry_ids
from bessai.drivers.sunspec import (
    BASE_ADDRESSES,
    END_ID,
    MAX_MODELS,
    SUNS_MARKER,
    Model,
    Placed,
    model,
    profile_dict,
    register_name,
)

log = logging.getLogger(__name__)

# Unit ids devices ship with, tried before the rest: SunSpec and most inverters 1,
# SMA 3, Kostal 71, Victron 100, GoodWe 247, then 2 and 126 (SMA's other defaults).
COMMON_UNIT_IDS = (1, 3, 71, 100, 247, 2, 126)
RANGE_PROBES = (0, 1, 100, 256, 1000, 3000, 5000, 10000, 13000, 30000, 32000, 37000, 40000)


class DiscoveryError(Exception):
    """Discovery cannot go on (refused target, nothing answers at all)."""


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


class Probe:
    """One Modbus TCP connection; one request at a time, at most one per ``interval_s``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout_s: float = 0.5,
        interval_s: float = 0.05,
        max_requests: int = 2000,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.max_requests = max_requests
        self.requests = 0
        self._last = 0.0
        self._client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
        self._reads: dict[Table, Callable[..., Any]] = {
            Table.HOLDING: self._client.read_holding_registers,
            Table.INPUT: self._client.read_input_registers,
            Table.COIL: self._client.read_coils,
            Table.DISCRETE: self._client.read_discrete_inputs,
        }

    async def connect(self) -> None:
        if not await self._client.connect():
            raise DiscoveryError(f"nothing accepts Modbus TCP at {self.host}:{self.port}")

    def close(self) -> None:
        self._client.close()

    async def read(self, table: Table, address: int, count: int, unit: int) -> Answer:
        if self.requests >= self.max_requests:
            raise DiscoveryError(f"request budget of {self.max_requests} spent")
        wait = self._last + self.interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.requests += 1
        self._last = time.monotonic()
        if not self._client.connected:
            await self._client.connect()
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                response = await self._reads[table](address, count=count, device_id=unit)
        except (ModbusException, TimeoutError, OSError):
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


async def read_sunspec(probe: Probe, unit: int) -> SunSpecMap | None:
    """The SunSpec chain of a unit: the marker at 40000, 0 or 50000, then ID/L to 0xFFFF."""
    for base in BASE_ADDRESSES:
        marker = await probe.read(Table.HOLDING, base, 2, unit)
        if marker.words is not None and tuple(marker.words) == SUNS_MARKER:
            break
    else:
        return None
    chain: list[Placed] = []
    unknown: list[int] = []
    problems: list[str] = []
    address = base + 2
    for _ in range(MAX_MODELS):
        head = await probe.read(Table.HOLDING, address, 2, unit)
        if head.words is None or len(head.words) < 2:
            problems.append(f"no model header at {address}: the chain ends without 0xFFFF")
            break
        if head.words[0] in (END_ID, 0):
            break
        mid, length = head.words
        if address + 2 + length > 65536:
            problems.append(f"model {mid} at {address} claims L={length}: past address 65535")
            break
        definition = model(mid)
        if definition is not None and length < definition.fixed_length:
            problems.append(
                f"model {mid} at {address} is shorter (L={length}) than its definition "
                f"({definition.fixed_length}): the points past its end are left out"
            )
        if model(mid) is None:
            unknown.append(mid)
        else:
            chain.append(Placed(mid, address, length))
        address += 2 + length
    identity: dict[str, str] = {}
    scale_factors: dict[str, int] = {}
    rated_w: float | None = None
    for placed in chain:
        definition = model(placed.id)
        assert definition is not None
        body = await _read_span(probe, placed.address, placed.length + 2, unit)
        if body is None:
            problems.append(f"model {placed.id} at {placed.address} could not be read whole")
            continue

        def words_of(
            name: str, body: list[int] = body, definition: Model = definition
        ) -> list[int] | None:
            point = definition.point(name)
            if point is None or point.offset + point.size > len(body):
                return None
            return body[point.offset : point.offset + point.size]

        for point in definition.points:
            sf = words_of(point.name) if point.kind == "sunssf" else None
            if sf is None:
                continue
            exponent = _signed(sf[0])
            if sf[0] == 0x8000 or not -10 <= exponent <= 10:
                problems.append(
                    f"model {placed.id} {point.name} reads {exponent}: not a usable scale "
                    "factor; the points it scales are left unscaled and marked"
                )
            else:
                scale_factors[register_name(placed.id, point.name)] = exponent
        if placed.id == 1:
            for name in ("Mn", "Md", "Opt", "Vr", "SN"):
                text = words_of(name)
                if text is not None:
                    identity[name] = _text(text)
        if placed.id == 124:
            raw = words_of("WChaMax")
            wchamax_sf = scale_factors.get("st_wchamax_sf")
            if raw is None or raw[0] in (0, 0xFFFF) or wchamax_sf is None:
                problems.append(
                    "model 124's WChaMax (the 100 % of the charge and discharge limits) is not "
                    "usable: the profile gets no control section"
                )
            else:
                rated_w = raw[0] * 10.0**wchamax_sf
    return SunSpecMap(unit, base, chain, unknown, identity, scale_factors, rated_w, problems)


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
) -> Discovery:
    """Find the units at ``host:port`` and, for the first, a SunSpec map or matching profiles."""
    if unit is None and not allow_remote and not own_network(host):
        raise DiscoveryError(
            f"{host} is not on this computer's networks: unit ids are not scanned there "
            "(name one with --unit, or pass --allow-remote if this network is yours)"
        )
    started = time.monotonic()
    probe = Probe(host, port, timeout_s=timeout_s, interval_s=interval_s)
    await probe.connect()
    result = Discovery(host, port)
    try:
        result.units = await find_units(
            probe, unit_candidates(unit), stop_at_first=not all_units, deadline_s=deadline_s
        )
        if result.units:
            first = result.units[0]
            result.sunspec = await read_sunspec(probe, first)
            if result.sunspec is None:
                result.ranges = await probe_ranges(probe, first)
                result.suggestions = await suggest_profiles(probe, first)
    finally:
        probe.close()
        result.requests = probe.requests
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


def discovered_profile(found: SunSpecMap, host: str, port: int, when: str) -> dict[str, Any]:
    """The profile a SunSpec map becomes: the model chain at its addresses, scale factors applied."""
    data = profile_dict(
        found.chain,
        found.base,
        found.scale_factors,
        identity=found.identity,
        profile_id=profile_id_for(found.identity),
        source=f"SunSpec model chain read from {host}:{port} unit {found.unit_id} "
        f"by bessai discover on {when}",
        rated_w=found.rated_w,
    )
    data["connection"].update(unit_id=found.unit_id, port=port)
    return data
