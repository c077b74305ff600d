"""SunSpec models as profile registers.

The layout of every model (point names, offsets, types, scale-factor points,
units, access) comes from the model definitions that pysunspec2 ships; this
module only decides which points carry a role and turns a model chain, with
the scale factors the device reported, into a profile dictionary that
``parse_profile`` validates like any shipped one. The simulator serves the
same chain (``bessai simulate --sunspec``), discovery writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import version
from typing import Any

from bessai.drivers.profile import RegisterType, Role

SUNS_MARKER = (0x5375, 0x6E53)
BASE_ADDRESSES = (40000, 0, 50000)
END_ID = 0xFFFF
MAX_MODELS = 64

_TYPES: dict[str, tuple[RegisterType, list[int]]] = {
    "uint16": (RegisterType.U16, [0xFFFF]),
    "count": (RegisterType.U16, [0xFFFF]),
    "acc16": (RegisterType.U16, []),
    "enum16": (RegisterType.U16, [0xFFFF]),
    "bitfield16": (RegisterType.U16, [0xFFFF]),
    "int16": (RegisterType.I16, [0x8000]),
    "sunssf": (RegisterType.I16, [0x8000]),
    "uint32": (RegisterType.U32, [0xFFFFFFFF]),
    "acc32": (RegisterType.U32, []),
    "enum32": (RegisterType.U32, [0xFFFFFFFF]),
    "bitfield32": (RegisterType.U32, [0xFFFFFFFF]),
    "int32": (RegisterType.I32, [0x80000000]),
    "uint64": (RegisterType.U64, [0xFFFFFFFFFFFFFFFF]),
    "acc64": (RegisterType.U64, []),
    "int64": (RegisterType.I64, [0x8000000000000000]),
    "float32": (RegisterType.F32, [0x7FC00000]),
    "float64": (RegisterType.F64, []),
    "string": (RegisterType.STRING, []),
}

# Which point of which model carries a role. A role goes to the first model of
# ROLE_PRIORITY that has it: the battery's own models before the storage
# control model, the storage models before the inverter's AC side.
ROLE_POINTS: dict[int, dict[str, Role]] = {
    802: {
        "SoC": Role.SOC_PCT,
        "SoH": Role.SOH_PCT,
        "V": Role.PACK_VOLTAGE_V,
        "A": Role.PACK_CURRENT_A,
        "W": Role.ACTIVE_POWER_KW,
        "WHRtg": Role.CAPACITY_KWH,
        "WChaRteMax": Role.MAX_CHARGE_POWER_KW,
        "WDisChaRteMax": Role.MAX_DISCHARGE_POWER_KW,
    },
    803: {"ModTmpMax": Role.BATTERY_TEMP_C},
    804: {"ModTmpMax": Role.BATTERY_TEMP_C},
    713: {"SoC": Role.SOC_PCT, "SoH": Role.SOH_PCT, "WHRtg": Role.CAPACITY_KWH},
    714: {"DCW": Role.ACTIVE_POWER_KW, "DCA": Role.PACK_CURRENT_A},
    124: {"ChaState": Role.SOC_PCT, "InBatV": Role.PACK_VOLTAGE_V, "WChaMax": Role.RATED_POWER_KW},
    **{
        m: {
            "W": Role.ACTIVE_POWER_KW,
            "Hz": Role.GRID_FREQUENCY_HZ,
            "VAr": Role.REACTIVE_POWER_KVAR,
        }
        for m in (101, 102, 103, 111, 112, 113)
    },
    **{m: {"W": Role.ACTIVE_POWER_KW, "Hz": Role.GRID_FREQUENCY_HZ} for m in (701,)},
}
ROLE_PRIORITY = (802, 803, 804, 713, 714, 124, 701, 103, 102, 101, 113, 112, 111)
MODEL_PREFIX = {1: "c", 124: "st", 713: "ds", 802: "bat", 803: "lis", 804: "lim", 714: "dc"}

# SunSpec units the core wants in other units, and the factor.
_UNIT_FACTOR = {"W": ("kW", 0.001), "Wh": ("kWh", 0.001), "var": ("kvar", 0.001)}


@dataclass(frozen=True)
class Point:
    """One fixed point of a model: its offset from the model's ID register."""

    name: str
    offset: int
    size: int
    kind: str
    sf: str | None
    units: str
    writable: bool
    label: str
    symbols: dict[int, str]


@dataclass(frozen=True)
class Model:
    """A model's definition: its name and its fixed points (repeating groups left out)."""

    id: int
    name: str
    label: str
    points: tuple[Point, ...]

    @property
    def fixed_length(self) -> int:
        """The L of the model with no repeating group: its words after ID and L."""
        return sum(p.size for p in self.points) - 2

    def point(self, name: str) -> Point | None:
        return next((p for p in self.points if p.name == name), None)


def pysunspec2_version() -> str:
    return version("pysunspec2")


@cache
def model(model_id: int) -> Model | None:
    """The definition pysunspec2 ships for a model id, or None if it has none."""
    entry = resources.files("sunspec2").joinpath(f"models/json/model_{model_id}.json")
    if not entry.is_file():
        return None
    group = json.loads(entry.read_text(encoding="utf-8"))["group"]
    points: list[Point] = []
    offset = 0
    for p in group["points"]:
        size = int(p.get("size", 1))
        points.append(
            Point(
                name=p["name"],
                offset=offset,
                size=size,
                kind=p["type"],
                sf=p.get("sf") if isinstance(p.get("sf"), str) else None,
                units=p.get("units", ""),
                writable=p.get("access") == "RW",
                label=p.get("label", p["name"]),
                symbols={int(s["value"]): s["name"] for s in p.get("symbols", [])},
            )
        )
        offset += size
    return Model(model_id, group["name"], group.get("label", group["name"]), tuple(points))


def register_name(model_id: int, point: str) -> str:
    """A profile register name for a point: ``st_wchamax`` for model 124's WChaMax."""
    prefix = MODEL_PREFIX.get(model_id, f"m{model_id}")
    return f"{prefix}_{point.lower()}"[:64]


@dataclass(frozen=True)
class Placed:
    """A model found at an address of the chain."""

    id: int
    address: int  # of its ID register
    length: int  # L, words after ID and L


def chain_addresses(base: int, model_ids: list[int]) -> list[Placed]:
    """Where each model of a chain sits when served from ``base`` (the "SunS" marker)."""
    placed: list[Placed] = []
    address = base + 2
    for mid in model_ids:
        definition = model(mid)
        if definition is None:
            raise ValueError(f"pysunspec2 has no definition of model {mid}")
        placed.append(Placed(mid, address, definition.fixed_length))
        address += 2 + definition.fixed_length
    return placed


def _roles(chain: list[Placed]) -> dict[tuple[int, str], Role]:
    present = {p.id for p in chain}
    chosen: dict[tuple[int, str], Role] = {}
    taken: set[Role] = set()
    for mid in ROLE_PRIORITY:
        if mid not in present:
            continue
        for point, role in ROLE_POINTS.get(mid, {}).items():
            definition = model(mid)
            if role in taken or definition is None or definition.point(point) is None:
                continue
            chosen[(mid, point)] = role
            taken.add(role)
    return chosen


def profile_dict(
    chain: list[Placed],
    base: int,
    scale_factors: dict[str, int],
    *,
    identity: dict[str, str],
    profile_id: str,
    source: str,
    rated_w: float | None = None,
    revert_s: int = 60,
    verified: bool = False,
) -> dict[str, Any]:
    """A profile for a SunSpec chain: every fixed point a register, roles where they belong,
    scale factors (``register name -> exponent``, as read from the device) applied, and
    model 124's charge/discharge rate limits as the control window when the chain has it
    and the device reported its WChaMax (``rated_w``, the 100 % of those limits). A
    discovered map is unverified until the vendor's document and a step test agree."""
    roles = _roles(chain)
    registers: list[dict[str, Any]] = [
        {
            "name": "sunspec_marker",
            "table": "holding",
            "address": base,
            "type": "u32",
            "description": 'SunSpec marker "SunS" (0x53756E53)',
        }
    ]
    names: set[str] = {"sunspec_marker"}
    for placed in chain:
        definition = model(placed.id)
        if definition is None:
            continue
        for point in definition.points:
            if point.kind not in _TYPES or point.offset + point.size > placed.length + 2:
                continue
            name = register_name(placed.id, point.name)
            if name in names:
                continue
            names.add(name)
            rtype, sentinels = _TYPES[point.kind]
            reg: dict[str, Any] = {
                "name": name,
                "table": "holding",
                "address": placed.address + point.offset,
                "type": rtype.value,
                "description": f"model {placed.id} ({definition.name}) {point.name}: {point.label}",
            }
            if rtype is RegisterType.STRING:
                reg["count"] = point.size
            unit, factor = _UNIT_FACTOR.get(point.units, (point.units, 1.0))
            if point.sf is not None:
                sf_name = register_name(placed.id, point.sf)
                exponent = scale_factors.get(sf_name)
                if exponent is None:
                    reg["note"] = f"{point.sf} was not usable at discovery: unscaled, check it"
                    reg["verified"] = False
                else:
                    factor *= 10.0**exponent
                    reg["note"] = f"{point.sf} read as {exponent} at discovery"
            if factor != 1.0:
                reg["scale"] = float(f"{factor:.12g}")
            if unit:
                reg["unit"] = unit
            if sentinels:
                reg["not_available"] = sentinels
            if point.symbols and point.kind == "enum16":
                reg["enum"] = {str(k): v for k, v in sorted(point.symbols.items())}
                reg["type"] = RegisterType.ENUM.value
            if not verified:
                reg["verified"] = False
            role = roles.get((placed.id, point.name))
            if role is not None:
                reg["role"] = role.value
            if point.name in ("ID", "L"):
                expected = placed.id if point.name == "ID" else placed.length
                reg["description"] = f"model {placed.id} {point.name} (reads {expected})"
            registers.append(reg)
    end = chain[-1].address + 2 + chain[-1].length if chain else base + 2
    registers.append(
        {
            "name": "sunspec_end",
            "table": "holding",
            "address": end,
            "type": "u32",
            "description": "end of the model chain: ID 0xFFFF, L 0",
        }
    )
    profile: dict[str, Any] = {
        "id": profile_id,
        "manufacturer": identity.get("Mn") or "unknown",
        "model": identity.get("Md") or "SunSpec device",
        "source": source,
        "sources": [
            f"SunSpec Alliance information models as shipped by pysunspec2 {pysunspec2_version()}: "
            + ", ".join(f"model_{p.id}.json" for p in chain)
        ],
        "protocol": ["tcp"],
        "description": "SunSpec device; layout from the SunSpec models, scale factors as the "
        "device reported them at discovery. Firmware "
        + (identity.get("Vr") or "unknown")
        + ", serial "
        + (identity.get("SN") or "unknown")
        + ".",
        "connection": {
            "unit_id": 1,
            "port": 502,
            "timeout_s": 2.0,
            "max_registers_per_request": 100,
        },
        "registers": registers,
    }
    present = {p.id for p in chain}
    if 124 in present and rated_w:
        profile["registers"] = [_control_register(r) for r in registers]
        profile["control"] = {
            "method": "window",
            "charge_power": "st_inwrte",
            "discharge_power": "st_outwrte",
            "rated_power_kw": rated_w / 1000.0,
            "enter": [
                {"name": "st_storctl_mod", "value": 3},
                {"name": "st_inoutwrte_rvrttms", "value": revert_s},
            ],
            "leave": [{"name": "st_storctl_mod", "value": 0}],
            "timeout_s": revert_s,
            "fallback": "the device's own storage control (StorCtl_Mod 0) on leave; "
            f"the rate limits revert after InOutWRte_RvrtTms ({revert_s} s)",
        }
    return profile


# Model 124's points the control window writes, and their writable ranges (scaled).
_CONTROL_RANGES = {
    "st_inwrte": (-100.0, 100.0),
    "st_outwrte": (-100.0, 100.0),
    "st_storctl_mod": (0.0, 3.0),
    "st_inoutwrte_rvrttms": (0.0, 3600.0),
}


def _control_register(reg: dict[str, Any]) -> dict[str, Any]:
    span = _CONTROL_RANGES.get(reg["name"])
    if span is None:
        return reg
    return {**reg, "access": "rw", "min": span[0], "max": span[1]}
