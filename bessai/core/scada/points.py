"""The point list: information object address, type, source or command, scale and dead band.

The default list is the README's table; ``[scada.iec104] points`` names a TOML
file of ``[[point]]`` tables that replaces it. The stack gives each address one
type for every cause, so the default list uses the time-tagged types
(M_ME_TF_1, M_SP_TB_1): the spontaneous frames carry the sample's time tag, and
so do interrogation and cyclic replies.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bessai.core.config.settings import ConfigError
from bessai.core.scada.site import COMMANDS, SOURCES

MeasuredType = Literal["M_ME_NC_1", "M_ME_TF_1"]
SingleType = Literal["M_SP_NA_1", "M_SP_TB_1"]
CommandType = Literal["C_SC_NA_1", "C_SE_NC_1"]
MAX_POINT_FILE_BYTES = 256 * 1024


class PointSpec(BaseModel):
    """One information object. ``scale`` multiplies the site's value on the wire (and divides
    a setpoint received); ``deadband`` is in the wire's units (0: every change is sent)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    ioa: Annotated[int, Field(ge=1, le=16_777_215)]
    type: MeasuredType | SingleType | CommandType
    source: str | None = None
    command: str | None = None
    scale: Annotated[float, Field(gt=0)] = 1.0
    deadband: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="after")
    def _source_or_command(self) -> PointSpec:
        if self.type.startswith("C_"):
            if self.command not in COMMANDS or self.source is not None:
                raise ValueError(
                    f"point {self.ioa} ({self.type}): command {self.command!r} is not one of "
                    f"{', '.join(COMMANDS)}"
                )
            wants_single = self.command == "remote_control"
            if wants_single != (self.type == "C_SC_NA_1"):
                raise ValueError(
                    f"point {self.ioa}: command {self.command!r} does not go with {self.type}"
                )
        else:
            if self.source not in SOURCES or self.command is not None:
                raise ValueError(
                    f"point {self.ioa} ({self.type}): source {self.source!r} is not one of "
                    f"{', '.join(SOURCES)}"
                )
        return self

    @property
    def is_command(self) -> bool:
        return self.type.startswith("C_")

    @property
    def is_single(self) -> bool:
        return self.type.startswith("M_SP")


class _PointFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    point: Annotated[list[PointSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> _PointFile:
        seen: set[int] = set()
        for p in self.point:
            if p.ioa in seen:
                raise ValueError(f"information object address {p.ioa} is used twice")
            seen.add(p.ioa)
        return self


def _m(ioa: int, source: str, deadband: float) -> PointSpec:
    return PointSpec(ioa=ioa, type="M_ME_TF_1", source=source, deadband=deadband)


def _s(ioa: int, source: str) -> PointSpec:
    return PointSpec(ioa=ioa, type="M_SP_TB_1", source=source)


DEFAULT_POINTS: tuple[PointSpec, ...] = (
    _m(1001, "active_power_kw", 0.5),
    _m(1002, "soc_pct", 0.1),
    _m(1003, "allowed_discharge_kw", 0.5),
    _m(1004, "allowed_charge_kw", 0.5),
    _m(1005, "setpoint_kw", 0.1),
    _m(1006, "reactive_power_kvar", 0.5),
    _m(1010, "grid_frequency_hz", 0.01),
    _s(3001, "remote_authority"),
    _s(3002, "protection_trip"),
    _s(3003, "estop_latched"),
    _s(3004, "comms_lost"),
    _s(3005, "intrusion_lockout"),
    PointSpec(ioa=2101, type="C_SC_NA_1", command="remote_control"),
    PointSpec(ioa=2001, type="C_SE_NC_1", command="active_power_setpoint_kw"),
    PointSpec(ioa=2002, type="C_SE_NC_1", command="reactive_power_setpoint_kvar"),
)


def load_point_list(path: Path) -> tuple[PointSpec, ...]:
    """Read a point-list file; raises ConfigError naming the file, the point and the field."""
    shown = " ".join(repr(str(path))[1:-1].split())
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"point list {shown}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_POINT_FILE_BYTES:
        raise ConfigError(f"point list {shown}: {len(raw)} bytes, more than a point list can be")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"point list {shown}: byte {exc.start}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"point list {shown}: not valid TOML: {' '.join(str(exc).split())}"
        ) from None
    try:
        return tuple(_PointFile.model_validate(data).point)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        value = first.get("input")
        shown_value = "" if isinstance(value, dict | list) else f" = {value!r}"[:80]
        raise ConfigError(
            " ".join(f"point list {shown}: key {loc}{shown_value}: {first['msg']}".split())
        ) from None


@dataclass(frozen=True)
class PointList:
    """The monitored points and the command points of one outstation."""

    points: tuple[PointSpec, ...]

    @property
    def monitored(self) -> tuple[PointSpec, ...]:
        return tuple(p for p in self.points if not p.is_command)

    @property
    def commands(self) -> tuple[PointSpec, ...]:
        return tuple(p for p in self.points if p.is_command)
