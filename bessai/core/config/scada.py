"""``[scada]`` and ``[scada.iec104]`` in the site file: the grid operator's link.

Kept in the config layer (the site file validates it with everything else, so
that a bad value stops the start with one line); the outstation that uses it
lives in ``bessai.core.scada``. The timers are the IEC 60870-5-104 ones, in
whole seconds as the standard gives them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"not an IP address: {value!r}") from None


class Iec104Settings(BaseModel):
    """The outstation's socket, common address, link timers and masters."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    bind: str = Field(
        default="127.0.0.1", description="Any other address than loopback is written explicitly"
    )
    port: Annotated[int, Field(ge=1, le=65535)] = 2404
    common_address: Annotated[int, Field(ge=1, le=65534)] = 1
    k: Annotated[int, Field(ge=1, le=32767)] = 12
    w: Annotated[int, Field(ge=1, le=32767)] = 8
    t0_s: Annotated[int, Field(ge=1, le=255)] = 30
    t1_s: Annotated[int, Field(ge=1, le=255)] = 15
    t2_s: Annotated[int, Field(ge=1, le=255)] = 10
    t3_s: Annotated[int, Field(ge=1, le=172800)] = 20
    allowed_masters: list[str] = Field(
        default_factory=list,
        description="Master addresses accepted at connect; empty: any (loopback binds only)",
    )
    max_connections: Annotated[int, Field(ge=1, le=2)] = Field(
        default=2, description="One redundancy group of up to two connections"
    )
    points: Annotated[Path | None, Field(strict=False)] = Field(
        default=None, description="A point-list TOML file replacing the default list"
    )
    periodic_s: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=2.0, description="Cyclic transmission (cause 1) of the measured values; 0: off"
    )
    buffer_events: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=1000, description="Spontaneous events kept while no master is started"
    )

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        return _address(value)

    @field_validator("allowed_masters")
    @classmethod
    def _masters(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @model_validator(mode="after")
    def _consistent(self) -> Iec104Settings:
        if self.w > self.k:
            raise ValueError(f"w = {self.w} is more than k = {self.k} (w is at most k)")
        if self.t2_s >= self.t1_s:
            raise ValueError(f"t2_s = {self.t2_s} is not less than t1_s = {self.t1_s}")
        if not ipaddress.ip_address(self.bind).is_loopback and not self.allowed_masters:
            raise ValueError(
                f"bind = {self.bind!r} is not loopback: list the allowed_masters explicitly"
            )
        return self


class ScadaSettings(BaseModel):
    """Who holds command authority at start-up and what a lost link does."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    authority: Literal["local", "remote"] = "local"
    on_loss: Literal["standby", "hold"] = "standby"
    remote_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    iec104: Iec104Settings = Field(default_factory=Iec104Settings)
