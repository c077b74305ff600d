"""What a dispatcher sees and what it proposes.

The inputs carry their age so that every proposal can say how fresh its
reasons were. Power is positive when the battery discharges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bessai.core.dispatch.profiles import TYPICAL_MARGINAL_COST_USD_MWH

# The model's input vector, in order: names and units (also written to the model's metadata).
FEATURES: tuple[tuple[str, str], ...] = (
    ("hour_local", "h (site local time, 0-24)"),
    ("soc_pct", "%"),
    ("pv_per_rated", "PV power / battery rated power"),
    ("load_per_rated", "site load / battery rated power"),
    ("price_usd_mwh", "USD/MWh (marginal cost now)"),
)


@dataclass(frozen=True)
class DispatchInputs:
    """The measurements and the price a proposal is based on."""

    now: float
    hour_local: float
    soc_pct: float | None
    pv_kw: float | None
    load_kw: float | None
    price_usd_mwh: float
    rated_power_kw: float
    ages_s: dict[str, float | None] = field(default_factory=dict)
    grid_frequency_hz: float | None = None  # frequency response only; not a model feature

    def features(self) -> dict[str, float | None]:
        """The model's inputs by name; None where a measurement is missing."""
        rated = self.rated_power_kw
        return {
            "hour_local": self.hour_local,
            "soc_pct": self.soc_pct,
            "pv_per_rated": None if self.pv_kw is None else self.pv_kw / rated,
            "load_per_rated": None if self.load_kw is None else self.load_kw / rated,
            "price_usd_mwh": self.price_usd_mwh,
        }

    def shown(self) -> dict[str, float | None]:
        """The inputs in the operator's units, for explanations and the shadow log."""
        return {
            "hour_local": round(self.hour_local, 3),
            "soc_pct": self.soc_pct,
            "pv_kw": self.pv_kw,
            "load_kw": self.load_kw,
            "price_usd_mwh": round(self.price_usd_mwh, 2),
        }


@dataclass(frozen=True)
class PriceCurve:
    """The site's marginal cost by local hour (24 values, USD/MWh) and its time zone."""

    usd_mwh: tuple[float, ...] = TYPICAL_MARGINAL_COST_USD_MWH
    timezone: str = "America/Santiago"

    def __post_init__(self) -> None:
        if len(self.usd_mwh) != 24 or not all(math.isfinite(v) for v in self.usd_mwh):
            raise ValueError("a price curve needs 24 finite hourly values")

    def local_hour(self, now: float) -> float:
        local = datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        return local.hour + local.minute / 60 + local.second / 3600

    def price_at(self, hour_local: float) -> float:
        return self.usd_mwh[int(hour_local) % 24]


@dataclass(frozen=True)
class Fallback:
    """Why the rules answered instead of the model: a short code (a metric label) and the detail."""

    code: str
    detail: str


@dataclass(frozen=True)
class Proposal:
    """A proposed setpoint and why: the inputs, the raw output, the model and any fallback."""

    setpoint_kw: float
    source: str
    explanation: str
    inputs: dict[str, float | None] = field(default_factory=dict)
    input_ages_s: dict[str, float | None] = field(default_factory=dict)
    raw_output: float | None = None
    model_version: str | None = None
    fallback: Fallback | None = None


class Dispatcher(Protocol):
    """Anything that turns the inputs into a proposal (the model, the rules, a test's script)."""

    def propose(self, inputs: DispatchInputs) -> Proposal: ...
