"""Synthetic but realistic Chilean day profiles: solar, load and marginal cost by hour.

Central Chile (Santiago, 33.4° S, local time UTC-3 in summer and UTC-4 in
winter): days of 14.3 h at the December solstice and 9.7 h in June, solar
noon about 13:40 in summer and 12:40 in winter, clear summers and cloudier
winters. The marginal cost follows the CEN's "duck" shape since the solar
build-out: near zero through the solar hours, highest in the evening ramp.
The dispatch model is trained on these and the rule fallback shares the
default price curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# A typical CEN marginal cost at a central-Chile node, USD/MWh, hours 0..23 local time.
TYPICAL_MARGINAL_COST_USD_MWH: tuple[float, ...] = (
    68.0, 66.0, 64.0, 63.0, 63.0, 65.0, 72.0, 80.0, 62.0, 30.0, 12.0, 5.0,
    2.0, 1.0, 2.0, 6.0, 18.0, 55.0, 98.0, 128.0, 135.0, 122.0, 95.0, 78.0,
)  # fmt: skip

# Site load per unit of its daily peak: low at night, morning rise, evening peak.
_LOAD_SHAPE: tuple[float, ...] = (
    0.48, 0.45, 0.43, 0.42, 0.43, 0.47, 0.56, 0.66, 0.72, 0.74, 0.75, 0.76,
    0.76, 0.75, 0.74, 0.74, 0.76, 0.82, 0.92, 0.99, 1.00, 0.94, 0.78, 0.60,
)  # fmt: skip


def _season(day_of_year: float) -> float:
    """1 at the December solstice (southern summer), -1 in June."""
    return math.cos(2 * math.pi * (day_of_year - 355) / 365.0)


def interpolate_hourly(curve: tuple[float, ...] | np.ndarray, hour: np.ndarray) -> np.ndarray:
    """A 24-value hourly curve read at fractional hours, wrapping at midnight."""
    values = np.asarray(curve, dtype=np.float64)
    index = np.floor(hour).astype(int) % 24
    frac = hour - np.floor(hour)
    return np.asarray(values[index] * (1 - frac) + values[(index + 1) % 24] * frac)


def clear_sky_fraction(hour: np.ndarray, day_of_year: float) -> np.ndarray:
    """PV output per unit of peak on a clear day at the given local hours."""
    season = _season(day_of_year)
    day_length_h = 12.0 + 2.3 * season
    solar_noon_h = 13.2 + 0.5 * season
    sunrise = solar_noon_h - day_length_h / 2
    x = (hour - sunrise) / day_length_h
    shape = np.where((x > 0) & (x < 1), np.sin(np.pi * np.clip(x, 0, 1)) ** 1.3, 0.0)
    return np.asarray(shape * (0.82 + 0.18 * season))


@dataclass(frozen=True)
class DayProfile:
    """One day on a fixed time grid: local hour, PV and load (per unit of rated power), price."""

    hour: np.ndarray
    pv_per_rated: np.ndarray
    load_per_rated: np.ndarray
    price_usd_mwh: np.ndarray


def random_day(rng: np.random.Generator, day_of_year: float, step_h: float = 0.25) -> DayProfile:
    """A plausible day for a battery of unit rated power beside a PV plant and a load."""
    hour = np.arange(0.0, 24.0, step_h)
    winter = (1 - _season(day_of_year)) / 2
    # Clouds: mostly clear in summer, frequent overcast fronts in winter.
    cloud = rng.beta(1.2, 6.0) if rng.random() > 0.35 * winter else rng.beta(3.0, 2.0)
    pv_peak = rng.uniform(0.3, 1.5)
    flicker = 1 - cloud * rng.uniform(0.6, 1.0, size=hour.size) if cloud > 0.2 else 1 - cloud
    pv = pv_peak * clear_sky_fraction(hour, day_of_year) * flicker
    load_peak = rng.uniform(0.3, 1.2)
    load = load_peak * interpolate_hourly(_LOAD_SHAPE, hour) * rng.normal(1.0, 0.04, hour.size)
    base = np.asarray(TYPICAL_MARGINAL_COST_USD_MWH)
    level = rng.uniform(0.7, 1.4) * (1 + 0.15 * winter)
    # Cloudy days and winters keep more thermal plants on at midday: a shallower duck.
    solar_hours = (hour >= 9) & (hour < 17)
    price = interpolate_hourly(base, hour) * level
    price = np.where(solar_hours, price + 45.0 * cloud * rng.uniform(0.5, 1.0), price)
    price = np.maximum(0.0, price + rng.normal(0.0, 3.0, hour.size))
    return DayProfile(hour, np.maximum(pv, 0.0), np.maximum(load, 0.05), price)
