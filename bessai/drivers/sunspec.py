"""SunSpec models as profile registers.

The layout of every model (point names, offsets, types, scale-factor points,
units, access) comes from the model definitions that pysunspec2 ships; this
module only decides which points carry a role and turns a model chain into a
profile dictionary that ``parse_profile`` validates like any shipped one.
Scale factors stay live (each register names its ``*_SF`` register) except
where the model declares the scale factor static. A point is given a role
only when nothing about it is in doubt: its model was read whole and once,
its scale factor was usable, its unit is one the role is in. The simulator
serves the same chain (``bessai simulate --sunspec``), discovery writes it.

Over 500 lines on purpose: the SunSpec model chain's walk, its doubts and the role table are one reading of the specification.
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

# Each SunSpec type as a register type and its "not implemented" values (as pysunspec2's
# mb.py has them: an accumulator that reads 0 is not accumulating).
_TYPES: dict[str, tuple[RegisterType, list[int]]] = {
    "uint16": (RegisterType.U16, [0xFFFF]),
    "count": (RegisterType.U16, [0xFFFF]),
    "acc16": (RegisterType.U16, [0]),
    "enum16": (RegisterType.U16, [0xFFFF]),
    "bitfield16": (RegisterType.U16, [0xFFFF]),
    "int16": (RegisterType.I16, [0x8000]),
    "sunssf": (RegisterType.I16, [0x8000]),
    "uint32": (RegisterType.U32, [0xFFFFFFFF]),
    "acc32": (RegisterType.U32, [0]),
    "enum32": (RegisterType.U32, [0xFFFFFFFF]),
    "bitfield32": (RegisterType.U32, [0xFFFFFFFF]),
    "int32": (RegisterType.I32, [0x80000000]),
    "uint64": (RegisterType.U64, [0xFFFFFFFFFFFFFFFF]),
    "acc64": (RegisterType.U64, [0]),
    "int64": (RegisterType.I64, [0x8000000000000000]),
    "float32": (RegisterType.F32, [0x7FC00000]),
    "float64": (RegisterType.F64, []),
    "string": (RegisterType.STRING, []),
}

# A meter's per-phase points, phase by phase (a single-phase meter maps only its voltage:
# its other phases read "not implemented", and a missing phase would count as unknown).
_METER_PHASES: dict[str, Role] = {
    "WphA": Role.GRID_POWER_L1_KW,
    "VARphA": Role.GRID_REACTIVE_POWER_L1_KVAR,
    "PhVphA": Role.GRID_VOLTAGE_L1_V,
    "WphB": Role.GRID_POWER_L2_KW,
    "VARphB": Role.GRID_REACTIVE_POWER_L2_KVAR,
    "PhVphB": Role.GRID_VOLTAGE_L2_V,
    "WphC": Role.GRID_POWER_L3_KW,
    "VARphC": Role.GRID_REACTIVE_POWER_L3_KVAR,
    "PhVphC": Role.GRID_VOLTAGE_L3_V,
}

# Which point of which model carries a role. A role goes to the first model of
# ROLE_PRIORITY that has it undoubted: the battery's own models before the
# storage control model, the storage models before the inverter's AC side.
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
        "AChaMax": Role.CCL_A,
        "ADisChaMax": Role.DCL_A,
        "CellVMax": Role.CELL_VOLTAGE_MAX_V,
        "CellVMin": Role.CELL_VOLTAGE_MIN_V,
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
    # Meters (single, split, three phase wye and delta): the phases a model measures.
    **{
        m: {
            "W": Role.GRID_POWER_KW,
            "Hz": Role.GRID_FREQUENCY_HZ,
            "VAR": Role.GRID_REACTIVE_POWER_KVAR,
            **dict(list(_METER_PHASES.items())[: phases * 3]),
        }
        for m, phases in ((202, 2), (203, 3), (204, 3))
    },
    201: {
        "W": Role.GRID_POWER_KW,
        "Hz": Role.GRID_FREQUENCY_HZ,
        "VAR": Role.GRID_REACTIVE_POWER_KVAR,
        "PhVphA": Role.GRID_VOLTAGE_L1_V,  # its one phase's voltage; no per-phase powers
    },
}
ROLE_PRIORITY = (
    *(802, 803, 804, 713, 714, 124, 701, 103, 102, 101, 113, 112, 111),
    *(203, 204, 202, 201),
)
MODEL_PREFIX = {
    **{1: "c", 124: "st", 713: "ds", 802: "bat", 803: "lis", 804: "lim", 714: "dc"},
    **{201: "mt", 202: "mt", 203: "mt", 204: "mt"},
}

# The unit spellings of pysunspec2's model definitions, as the profile's unit and the
# factor to it ("W" and "WH" both occur; a percentage names what it is a percentage of).
_PERCENT = (
    "%",
    "Pct",
    "%WHRtg",
    "% AhrRtg",
    "% WChaMax",
    "% WDisChaMax",
    "% WMax",
    "% WRef",
    "% VRef",
    "% VArMax",
    "% VArAval",
    "% ARtg",
    "VNomPct",
    "WMaxPct",
    "VarPct",
)
UNITS: dict[str, tuple[str, float]] = {
    "W": ("kW", 0.001),
    "kW": ("kW", 1.0),
    "VA": ("kVA", 0.001),
    "var": ("kvar", 0.001),
    "Var": ("kvar", 0.001),
    "VAr": ("kvar", 0.001),
    "Wh": ("kWh", 0.001),
    "WH": ("kWh", 0.001),
    "kWh": ("kWh", 1.0),
    "VAh": ("kVAh", 0.001),
    "varh": ("kvarh", 0.001),
    "Varh": ("kvarh", 0.001),
    "V": ("V", 1.0),
    "A": ("A", 1.0),
    "Ah": ("Ah", 1.0),
    "AH": ("Ah", 1.0),
    "Hz": ("Hz", 1.0),
    "C": ("°C", 1.0),
    "Secs": ("s", 1.0),
    "Sec": ("s", 1.0),
    "mSecs": ("ms", 1.0),
    "PF": ("", 1.0),
    "cos()": ("", 1.0),
    **{p: ("%", 1.0) for p in _PERCENT},
    "% WChaMax/sec": ("%/s", 1.0),
    "% WMax/sec": ("%/s", 1.0),
}
# The unit a role's value is in: a point in any other unit does not get the role.
ROLE_UNITS: dict[Role, str] = {
    Role.SOC_PCT: "%",
    Role.SOH_PCT: "%",
    Role.ACTIVE_POWER_KW: "kW",
    Role.REACTIVE_POWER_KVAR: "kvar",
    Role.BATTERY_TEMP_C: "°C",
    Role.PACK_VOLTAGE_V: "V",
    Role.PACK_CURRENT_A: "A",
    Role.GRID_FREQUENCY_HZ: "Hz",
    Role.CAPACITY_KWH: "kWh",
    Role.RATED_POWER_KW: "kW",
    Role.MAX_CHARGE_POWER_KW: "kW",
    Role.MAX_DISCHARGE_POWER_KW: "kW",
    Role.CCL_A: "A",
    Role.DCL_A: "A",
    Role.CELL_VOLTAGE_MAX_V: "V",
    Role.CELL_VOLTAGE_MIN_V: "V",
    **{r: "kW" for r in (Role.GRID_POWER_KW, *list(_METER_PHASES.values())[0::3])},
    **{r: "kvar" for r in (Role.GRID_REACTIVE_POWER_KVAR, *list(_METER_PHASES.values())[1::3])},
    **{r: "V" for r in list(_METER_PHASES.values())[2::3]},
}


def unit_of(spelling: str) -> tuple[str, float] | None:
    """The profile unit and factor of a SunSpec unit, or None if it is not one known here."""
    text = spelling.strip()
    if not text:
        return ("", 1.0)
    return UNITS.get(text)


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
    static: bool = False


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
                static=p.get("static") == "S",
            )
        )
        offset += size
    return Model(model_id, group["name"], group.get("label", group["name"]), tuple(points))


def register_name(model_id: int, point: str, instance: int = 0) -> str:
    """A profile register name for a point: ``st_wchamax`` for model 124's WChaMax, and
    ``st2_wchamax`` for the second model 124 of a chain."""
    prefix = MODEL_PREFIX.get(model_id, f"m{model_id}")
    if instance:
        prefix += str(instance + 1)
    return f"{prefix}_{point.lower()}"[:64]


@dataclass(frozen=True)
class Placed:
    """A model found at an address of the chain."""

    id: int
    address: int  # of its ID register
    length: int  # L, words after ID and L


def instances(chain: list[Placed]) -> list[int]:
    """Each model's instance number in the chain: 0 for the first of its id, 1 for the next."""
    seen: dict[int, int] = {}
    numbers = []
    for placed in chain:
        numbers.append(seen.get(placed.id, 0))
        seen[placed.id] = numbers[-1] + 1
    return numbers


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


@dataclass(frozen=True)
class Doubts:
    """What discovery could not confirm: whole models (by address) and scale factors (by
    register name), each with the reason, and warnings for the profile."""

    models: dict[int, str]
    scale_factors: dict[str, str]
    warnings: list[str]


NO_DOUBTS = Doubts({}, {}, [])


def _fits(point: Point, placed: Placed) -> bool:
    return point.kind in _TYPES and point.offset + point.size <= placed.length + 2


def _point_doubt(
    placed: Placed, instance: int, point: Point, doubts: Doubts, repeated: set[int]
) -> str | None:
    """Why a point's value cannot be trusted as a role, or None."""
    if placed.address in doubts.models:
        return doubts.models[placed.address]
    if placed.id in repeated:
        return f"model {placed.id} appears more than once in the chain: which one is meant is not known"
    if point.sf is not None:
        definition = model(placed.id)
        sf_point = definition.point(point.sf) if definition is not None else None
        if sf_point is None or not _fits(sf_point, placed):
            return f"its scale factor {point.sf} is not in the model as the device serves it"
        reason = doubts.scale_factors.get(register_name(placed.id, point.sf, instance))
        if reason is not None:
            return reason
    if unit_of(point.units) is None:
        return f"unit {point.units.strip()!r} is not one bessai knows"
    return None


def _roles(
    chain: list[Placed], doubts: Doubts
) -> dict[tuple[int, str], Role]:  # (model address, point) -> role
    numbers = instances(chain)
    repeated = {p.id for p, n in zip(chain, numbers, strict=True) if n > 0}
    chosen: dict[tuple[int, str], Role] = {}
    taken: set[Role] = set()
    for mid in ROLE_PRIORITY:
        definition = model(mid)
        if definition is None:
            continue
        for placed, instance in zip(chain, numbers, strict=True):
            if placed.id != mid:
                continue
            for name, role in ROLE_POINTS.get(mid, {}).items():
                point = definition.point(name)
                if role in taken or point is None or not _fits(point, placed):
                    continue
                if _point_doubt(placed, instance, point, doubts, repeated) is not None:
                    continue
                unit = unit_of(point.units)
                if unit is None or unit[0] != ROLE_UNITS.get(role, unit[0]):
                    continue
                chosen[(placed.address, name)] = role
                taken.add(role)
    return chosen


def _point_register(
    placed: Placed,
    instance: int,
    point: Point,
    definition: Model,
    scale_factors: dict[str, int],
    doubt: str | None,
) -> dict[str, Any]:
    rtype, sentinels = _TYPES[point.kind]
    reg: dict[str, Any] = {
        "name": register_name(placed.id, point.name, instance),
        "table": "holding",
        "address": placed.address + point.offset,
        "type": rtype.value,
        "description": f"model {placed.id} ({definition.name}) {point.name}: {point.label}",
    }
    if rtype is RegisterType.STRING:
        reg["count"] = point.size
    notes: list[str] = []
    known = unit_of(point.units)
    if known is None:
        unit, factor = point.units.strip(), 1.0
        notes.append(f"unit {unit!r} is not one bessai knows: kept as written, unconverted")
    else:
        unit, factor = known
    sf_point = definition.point(point.sf) if point.sf is not None else None
    if point.sf is not None and (sf_point is None or not _fits(sf_point, placed)):
        notes.append(f"its scale factor {point.sf} is past the model's end: unscaled")
    elif point.sf is not None and sf_point is not None:
        sf_name = register_name(placed.id, point.sf, instance)
        exponent = scale_factors.get(sf_name)
        if sf_point.static and exponent is not None:
            # The model declares this scale factor static: a constant, read at discovery.
            factor *= 10.0**exponent
            notes.append(f"{point.sf} (static) read as {exponent} at discovery")
        else:
            reg["scale_factor"] = sf_name
            if exponent is not None:
                notes.append(f"scaled live by {point.sf} (read as {exponent} at discovery)")
    if doubt is not None:
        notes.append(f"not trusted: {doubt}")
    if factor != 1.0:
        reg["scale"] = float(f"{factor:.12g}")
    if unit:
        reg["unit"] = unit
    if sentinels:
        reg["not_available"] = sentinels
    if point.symbols and point.kind == "enum16":
        reg["enum"] = {str(k): v for k, v in sorted(point.symbols.items())}
        reg["type"] = RegisterType.ENUM.value
    if point.name in ("ID", "L"):
        expected = placed.id if point.name == "ID" else placed.length
        reg["description"] = f"model {placed.id} {point.name} (reads {expected})"
    if notes:
        reg["note"] = "; ".join(notes)
    return reg


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
    doubts: Doubts = NO_DOUBTS,
) -> dict[str, Any]:
    """A profile for a SunSpec chain: every fixed point a register, scale factors live
    (``scale_factors``, register name -> exponent as read, bakes only the static ones), roles
    where nothing is in doubt, and model 124's charge/discharge rate limits as the control
    window when the chain has it undoubted and the device reported its WChaMax (``rated_w``,
    the nominal 100 % of those limits; the live WChaMax is read before each write). A
    discovered map is unverified until the vendor's document and a step test agree."""
    roles = _roles(chain, doubts)
    numbers = instances(chain)
    repeated = {p.id for p, n in zip(chain, numbers, strict=True) if n > 0}
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
    for placed, instance in zip(chain, numbers, strict=True):
        definition = model(placed.id)
        if definition is None:
            continue
        for point in definition.points:
            if not _fits(point, placed):
                continue
            name = register_name(placed.id, point.name, instance)
            if name in names:
                continue
            names.add(name)
            doubt = _point_doubt(placed, instance, point, doubts, repeated)
            reg = _point_register(placed, instance, point, definition, scale_factors, doubt)
            if not verified:
                reg["verified"] = False
            role = roles.get((placed.address, point.name))
            if role is not None:
                reg["role"] = role.value
            registers.append(reg)
    end = chain[-1].address + 2 + chain[-1].length if chain else base + 2
    if end + 2 <= 65536:
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
            + ", ".join(dict.fromkeys(f"model_{p.id}.json" for p in chain))
        ],
        "protocol": ["tcp"],
        "description": "SunSpec device; layout from the SunSpec models, scale factors read live "
        "with the values (static ones as the device reported them at discovery). Firmware "
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
    warnings = list(doubts.warnings)
    control = _control(chain, doubts, rated_w, revert_s, names, warnings)
    if control is not None:
        profile["registers"] = [_control_register(r) for r in registers]
        profile["control"] = control
    if warnings:
        profile["warnings"] = warnings
    return profile


def _control(
    chain: list[Placed],
    doubts: Doubts,
    rated_w: float | None,
    revert_s: int,
    names: set[str],
    warnings: list[str],
) -> dict[str, Any] | None:
    """Model 124's window, when the chain has one model 124 whose control points are sound."""
    storage = [p for p in chain if p.id == 124]
    if not storage or not rated_w:
        return None
    why = None
    if len(storage) > 1:
        why = "model 124 appears more than once"
    elif storage[0].address in doubts.models:
        why = doubts.models[storage[0].address]
    elif not set(_CONTROL_RANGES) | {"st_wchamax", "st_wchamax_sf", "st_inoutwrte_sf"} <= names:
        why = "model 124 as served lacks a point the control writes or reads"
    else:
        bad = [
            doubts.scale_factors[n]
            for n in ("st_wchamax_sf", "st_inoutwrte_sf")
            if n in doubts.scale_factors
        ]
        why = bad[0] if bad else None
    if why is not None:
        warnings.append(f"no control section: {why}")
        return None
    return {
        "method": "window",
        "charge_power": "st_inwrte",
        "discharge_power": "st_outwrte",
        "rated_power_kw": rated_w / 1000.0,
        "rated_power": "st_wchamax",
        "enter": [
            {"name": "st_storctl_mod", "value": 3},
            {"name": "st_inoutwrte_rvrttms", "value": revert_s},
        ],
        "leave": [{"name": "st_storctl_mod", "value": 0}],
        "timeout_s": revert_s,
        "fallback": "the device's own storage control (StorCtl_Mod 0) on leave; "
        f"the rate limits revert after InOutWRte_RvrtTms ({revert_s} s)",
    }


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


# The generic SunSpec profiles the registry ships: their chains as the SunSpec Alliance's
# models lay them out from 40000, with no vendor model between and no repeating groups.
GENERIC_PROFILES: dict[str, tuple[list[int], str]] = {
    "sunspec_battery": ([1, 802, 803, 804], "battery (models 802 base, 803 bank, 804 string)"),
    "sunspec_meter_single_phase": ([1, 201], "single-phase meter (model 201)"),
    "sunspec_meter_split_phase": ([1, 202], "split-phase meter (model 202)"),
    "sunspec_meter_wye": ([1, 203], "three-phase wye meter (model 203)"),
    "sunspec_meter_delta": ([1, 204], "three-phase delta meter (model 204)"),
}
_GENERIC_NOTE = (
    "Generic SunSpec layout: the address assumes the chain starts at 40000 with model 1 "
    "(L=66) and these models only, without repeating groups; confirm it with bessai discover."
)


def generic_profile(profile_id: str) -> dict[str, Any]:
    """A shipped generic SunSpec profile as this module builds it (the registry's file is its
    output): every point a register, every scale factor live, roles as discovery gives them."""
    model_ids, what = GENERIC_PROFILES[profile_id]
    data = profile_dict(
        chain_addresses(BASE_ADDRESSES[0], model_ids),
        BASE_ADDRESSES[0],
        {},
        identity={"Mn": "SunSpec", "Md": f"generic {what}"},
        profile_id=profile_id,
        source="SunSpec Alliance information models "
        + ", ".join(f"{m.id} ({m.name})" for m in map(model, model_ids) if m is not None)
        + " (SunSpec Information Model Specification; the model definitions as shipped by "
        f"pysunspec2 {pysunspec2_version()})",
    )
    data["sources"].append(
        "pysunspec2 (the SunSpec Alliance's Python library) decodes the same layout: "
        "tests/integration/test_sunspec_live.py serves its encoding and compares point for point"
    )
    data["description"] = (
        f"Generic SunSpec {what}: the layout of the SunSpec models, every scale factor read "
        "live with its values. Measured only, never commanded. Signs as SunSpec defines them "
        "(unconfirmed for any one device)."
    )
    for reg in data["registers"]:
        reg["verified"] = False
        reg["note"] = f"{reg['note']}; {_GENERIC_NOTE}" if reg.get("note") else _GENERIC_NOTE
    return data
