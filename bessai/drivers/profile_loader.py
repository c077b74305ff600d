"""Loading device profiles: the registry, files, strict JSON, and the checks a schema cannot make.

A bad profile is refused with the file, the JSON path and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bessai.drivers.profile import (
    PHASES_OF,
    WORDS_PER_TYPE,
    WRITABLE_ROLES,
    ControlMethod,
    Profile,
    RegisterType,
    Role,
    Table,
)
from bessai.integrity.manifest import IntegrityError, check_shipped, sha256_hex

MAX_PROFILE_BYTES = 4 * 1024 * 1024


class ProfileError(ValueError):
    """A profile that cannot be used, with where and why."""

    def __init__(self, source: str, path: str, reason: str) -> None:
        super().__init__(f"{source}: {path}: {reason}")
        self.source = source
        self.path = path
        self.reason = reason


def _json_path(loc: tuple[int | str, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def semantic_problems(profile: Profile) -> list[tuple[str, str]]:
    """Checks a schema cannot express: returns (json path, reason) pairs."""
    problems: list[tuple[str, str]] = []
    rated = profile.ratings
    if rated is not None and rated.pack_voltage_min_v >= rated.pack_voltage_max_v:
        problems.append(
            (
                "$.ratings.pack_voltage_min_v",
                f"{rated.pack_voltage_min_v} must be below pack_voltage_max_v {rated.pack_voltage_max_v}",
            )
        )
    names: dict[str, int] = {}
    roles: dict[Role, int] = {}
    occupied: dict[tuple[Table, int], int] = {}
    for i, reg in enumerate(profile.registers):
        here = f"$.registers[{i}]"
        if reg.name in names:
            problems.append(
                (
                    f"{here}.name",
                    f"duplicate name {reg.name!r} (first at registers[{names[reg.name]}])",
                )
            )
        names.setdefault(reg.name, i)
        if reg.role is not None:
            if reg.role in roles:
                problems.append(
                    (
                        f"{here}.role",
                        f"role {reg.role.value!r} already given to registers[{roles[reg.role]}]",
                    )
                )
            roles.setdefault(reg.role, i)
        if reg.type is RegisterType.STRING and reg.count is None:
            problems.append((f"{here}.count", "a string register needs 'count' (words)"))
        expected = WORDS_PER_TYPE.get(reg.type)
        if reg.count is not None and expected is not None and reg.count != expected:
            problems.append(
                (
                    f"{here}.count",
                    f"count {reg.count} does not match type {reg.type.value} ({expected} words)",
                )
            )
        if reg.table.is_bit and reg.type is not RegisterType.BOOL:
            problems.append(
                (f"{here}.type", f"table {reg.table.value} holds bits: type must be 'bool'")
            )
        if not reg.table.is_bit and reg.type is RegisterType.BOOL:
            problems.append((f"{here}.type", "type 'bool' belongs in the coil or discrete table"))
        if reg.writable and reg.table in (Table.INPUT, Table.DISCRETE):
            problems.append((f"{here}.access", f"table {reg.table.value} is read-only on Modbus"))
        if reg.writable and reg.type not in (RegisterType.STRING, RegisterType.BOOL):
            if reg.min is None or reg.max is None:
                problems.append((f"{here}", "a writable register needs both 'min' and 'max'"))
            elif reg.min > reg.max:
                problems.append((f"{here}.min", f"min {reg.min} is above max {reg.max}"))
        if reg.scale == 0:
            problems.append((f"{here}.scale", "scale must not be 0"))
        if reg.end > 65536:
            problems.append(
                (f"{here}.address", f"register runs past address 65535 (ends at {reg.end - 1})")
            )
        if reg.enum is not None or reg.bits is not None:
            keys = list((reg.enum or {}).keys()) + list((reg.bits or {}).keys())
            bad = [k for k in keys if not k.isdigit()]
            if bad:
                problems.append((f"{here}", f"enum/bits keys must be decimal numbers, not {bad}"))
        for word in range(reg.address, reg.end):
            key = (reg.table, word)
            if key in occupied:
                other = occupied[key]
                problems.append(
                    (
                        f"{here}.address",
                        f"overlaps registers[{other}] ({profile.registers[other].name}) "
                        f"at {reg.table.value} address {word}",
                    )
                )
                break
            occupied[key] = i
    problems.extend(_scale_factor_problems(profile))
    problems.extend(_control_problems(profile))
    problems.extend(_role_problems(profile))
    return problems


def _role_problems(profile: Profile) -> list[tuple[str, str]]:
    """A commanding role on a read-only register; phases mapped without their total."""
    problems: list[tuple[str, str]] = []
    for i, reg in enumerate(profile.registers):
        if reg.role in WRITABLE_ROLES and not reg.writable:
            problems.append(
                (f"$.registers[{i}].access", f"role {reg.role.value!r} needs access 'rw'")
            )
    totals = {r.role for r in profile.registers} | {s.role for s in profile.sums}
    for total, phases in PHASES_OF.items():
        mapped = [i for i, r in enumerate(profile.registers) if r.role in phases]
        if mapped and total not in totals:
            problems.append(
                (
                    f"$.registers[{mapped[0]}].role",
                    f"phases of {total.value!r} without the total: give a register that role "
                    "or add a 'sums' entry of the phases",
                )
            )
    return problems


_SF_TYPES = (RegisterType.I16, RegisterType.U16)


def _scale_factor_problems(profile: Profile) -> list[tuple[str, str]]:
    """A live scale factor names a one-word integer register of the same device."""
    problems: list[tuple[str, str]] = []
    by_name = {r.name: r for r in profile.registers}
    for i, reg in enumerate(profile.registers):
        if reg.scale_factor is None:
            continue
        here = f"$.registers[{i}].scale_factor"
        sf = by_name.get(reg.scale_factor)
        if sf is None:
            problems.append((here, f"no register named {reg.scale_factor!r} (the scale factor)"))
        elif sf.type not in _SF_TYPES or sf.table.is_bit:
            problems.append(
                (here, f"scale factor {sf.name!r} is a {sf.type.value}: it must be i16 (or u16)")
            )
        elif sf.scale_factor is not None or sf.scale != 1.0 or sf.offset != 0.0:
            problems.append((here, f"scale factor {sf.name!r} must itself be unscaled"))
        elif sf.unit_id != reg.unit_id:
            problems.append((here, f"scale factor {sf.name!r} is on another unit id"))
        if reg.type in (RegisterType.STRING, RegisterType.BOOL) or reg.table.is_bit:
            problems.append((here, f"a {reg.type.value} register takes no scale factor"))
    return problems


def _control_problems(profile: Profile) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    by_name = {r.name: r for r in profile.registers}
    roles = {r.role for r in profile.registers if r.role is not None}
    for i, total in enumerate(profile.sums):
        if total.role in roles:
            problems.append(
                (f"$.sums[{i}].role", f"role {total.role.value!r} is also a register's")
            )
        for j, name in enumerate(total.registers):
            if name not in by_name:
                problems.append((f"$.sums[{i}].registers[{j}]", f"no register named {name!r}"))
    control = profile.control
    if control is None:
        return problems
    if control.rated_power is not None:
        rated = by_name.get(control.rated_power)
        if rated is None:
            problems.append(("$.control.rated_power", f"no register named {control.rated_power!r}"))
        elif rated.type in (RegisterType.STRING, RegisterType.BOOL) or rated.table.is_bit:
            problems.append(("$.control.rated_power", f"register {rated.name!r} is not a number"))
        if control.method not in (ControlMethod.PERCENT, ControlMethod.WINDOW):
            problems.append(
                ("$.control.rated_power", "only a percent or window control has a rating")
            )

    def writable(path: str, name: str | None, what: str) -> None:
        if name is None:
            problems.append((path, f"the {control.method.value} method needs {what}"))
            return
        reg = by_name.get(name)
        if reg is None:
            problems.append((path, f"no register named {name!r}"))
        elif not reg.writable:
            problems.append((path, f"register {name!r} is not writable (access 'rw')"))
        elif reg.min is None or reg.max is None:
            problems.append((path, f"register {name!r} needs min and max"))

    if control.method is ControlMethod.SIGNED:
        writable("$.control.setpoint", control.setpoint, "a 'setpoint' register")
    elif control.method is ControlMethod.PERCENT:
        writable("$.control.setpoint", control.setpoint, "a 'setpoint' register")
        if control.rated_power_kw is None:
            problems.append(("$.control.rated_power_kw", "the percent method needs the rating"))
    elif control.method is ControlMethod.WINDOW:
        writable("$.control.charge_power", control.charge_power, "'charge_power' (a limit)")
        writable("$.control.discharge_power", control.discharge_power, "'discharge_power'")
        if control.rated_power_kw is None:
            problems.append(("$.control.rated_power_kw", "the window method needs the rating"))
        if control.charge_power is not None and control.charge_power == control.discharge_power:
            problems.append(("$.control.discharge_power", "the window needs two registers"))
    else:
        if control.direction is None:
            problems.append(("$.control.direction", "direction_magnitude needs a 'direction'"))
        else:
            writable("$.control.direction.name", control.direction.name, "a register")
        writable("$.control.charge_power", control.charge_power, "'charge_power'")
        writable("$.control.discharge_power", control.discharge_power, "'discharge_power'")
        for magnitude in (control.charge_power, control.discharge_power):
            reg = by_name.get(magnitude or "")
            if reg is not None and reg.min is not None and reg.min < 0:
                problems.append(
                    ("$.control", f"magnitude register {reg.name!r} must not go below 0")
                )
    for part in ("enter", "leave"):
        for i, write in enumerate(getattr(control, part)):
            path = f"$.control.{part}[{i}]"
            writable(f"{path}.name", write.name, "a register")
            reg = by_name.get(write.name)
            if (
                reg is not None
                and reg.min is not None
                and reg.max is not None
                and not reg.min <= write.value <= reg.max
            ):
                problems.append((f"{path}.value", f"{write.value} is outside {reg.min}..{reg.max}"))
    return problems


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _checked(profile: Profile, source: str) -> Profile:
    problems = semantic_problems(profile)
    if problems:
        path, reason = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ProfileError(source, path, _one_line(reason) + more)
    return profile


def _first_error(exc: ValidationError, source: str) -> ProfileError:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        # "Invalid JSON: <what> at line L column C" from the parser: keep where and what.
        reason = str(first["msg"]).removeprefix("Invalid JSON: ")
        where = "$"
        if " at line " in reason:
            reason, _, position = reason.rpartition(" at ")
            where = position
        return ProfileError(source, where, f"not valid JSON: {_one_line(reason)}")
    value = first.get("input")
    shown = "" if isinstance(value, dict | list) else f"{_short(repr(value))}: "
    return ProfileError(
        source, _json_path(tuple(first["loc"])), _one_line(f"{shown}{first['msg']}")
    )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_profile(data: Any, source: str) -> Profile:
    """Validate parsed JSON as a profile; raises ProfileError naming the first problem."""
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    return _checked(profile, source)


def parse_profile_json(raw: bytes | str, source: str) -> Profile:
    """Validate a profile file's bytes strictly: JSON numbers are numbers (no "12", no true,
    no NaN or Infinity), text is UTF-8 without lone surrogates, nesting is bounded."""
    try:
        profile = Profile.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise _first_error(exc, source) from None
    return _checked(profile, source)


@dataclass(frozen=True)
class LoadedProfile:
    """A profile, where it came from and the SHA-256 of the bytes it was parsed from."""

    profile: Profile
    source: str
    sha256: str
    shipped: bool


def load_profile(path: Path | str) -> Profile:
    """Load a profile from a file path, or from the registry by id (``sim_bess``)."""
    return open_profile(path).profile


def open_profile(path: Path | str, *, trusted_dir: Path | None = None) -> LoadedProfile:
    """``load_profile`` with its provenance: a shipped profile must match the manifest of
    shipped files; a site's own file, when ``trusted_dir`` is given, must lie inside it."""
    raw: bytes
    source: str
    candidate = Path(path)
    shipped = candidate.suffix != ".json" and not candidate.exists()
    if shipped:
        entry = resources.files("bessai.registry").joinpath(f"{path}.json")
        if not _is_registry_id(str(path)) or not entry.is_file():
            raise ProfileError(
                _one_line(repr(str(path))[1:-1]),
                "$",
                f"no such file, nor a registry profile id (known: {', '.join(registry_ids())})",
            )
        raw, source = entry.read_bytes(), f"registry/{path}.json"
        try:
            check_shipped(source, raw)
        except IntegrityError as exc:
            raise ProfileError(source, "$", str(exc).removeprefix(f"{source}: ")) from None
    else:
        source = _one_line(repr(str(candidate))[1:-1])
        if trusted_dir is not None and not candidate.resolve().is_relative_to(
            trusted_dir.resolve()
        ):
            shown = _one_line(repr(str(trusted_dir))[1:-1])
            raise ProfileError(
                source,
                "$",
                f"refused: a site's own profiles are trusted only from its profile directory "
                f"{shown} (PROFILE_DIR); put the file there",
            )
        try:
            raw = candidate.read_bytes()
        except OSError as exc:
            raise ProfileError(source, "$", f"cannot read: {exc.strerror}") from None
        if len(raw) > MAX_PROFILE_BYTES:
            raise ProfileError(
                source, "$", f"{len(raw)} bytes: larger than a profile can be ({MAX_PROFILE_BYTES})"
            )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(source, f"byte {exc.start}", "not UTF-8 text") from None
    return LoadedProfile(parse_profile_json(raw, source), source, sha256_hex(raw), shipped)


def _is_registry_id(text: str) -> bool:
    return bool(text) and all(c.isascii() and (c.isalnum() or c in "_-") for c in text)


def registry_ids() -> list[str]:
    """Ids of the profiles shipped in ``bessai/registry``."""
    folder = resources.files("bessai.registry")
    return sorted(
        p.name.removesuffix(".json")
        for p in folder.iterdir()
        if p.name.endswith(".json") and p.name != "schema.json"
    )


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of a profile file, as shipped in ``registry/schema.json``."""
    schema = Profile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "BESSAI Edge device profile"
    return schema
