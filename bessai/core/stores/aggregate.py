"""Per-minute aggregates (min, max, mean) of a device's role values, as samples arrive."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The quantities kept in history and aggregated per minute, by semantic role.
QUANTITIES: tuple[str, ...] = (
    "soc_pct",
    "active_power_kw",
    "setpoint_power_kw",
    "battery_temp_c",
    "pack_voltage_v",
    "pack_current_a",
    "grid_power_kw",
    "pv_power_kw",
    "grid_frequency_hz",
    "intrusion_score",
)


@dataclass
class Stat:
    min: float
    max: float
    total: float
    n: int = 1

    def add(self, value: float) -> None:
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self.total += value
        self.n += 1

    @property
    def mean(self) -> float:
        return self.total / self.n


@dataclass(frozen=True)
class MinuteAggregate:
    device: str
    minute_ts: float
    stats: dict[str, Stat]


@dataclass
class MinuteAggregator:
    """Accumulates one device's minute; hands it over when a sample of a later minute arrives."""

    device: str
    minute_ts: float | None = None
    stats: dict[str, Stat] = field(default_factory=dict)

    def add(self, ts: float, values: dict[str, float | None]) -> MinuteAggregate | None:
        minute = ts - ts % 60.0
        finished = None
        if self.minute_ts is not None and minute != self.minute_ts:
            finished = self.flush()
        self.minute_ts = minute
        for name in QUANTITIES:
            value = values.get(name)
            if value is None:
                continue
            stat = self.stats.get(name)
            if stat is None:
                self.stats[name] = Stat(value, value, value)
            else:
                stat.add(value)
        return finished

    def flush(self) -> MinuteAggregate | None:
        if self.minute_ts is None or not self.stats:
            return None
        done = MinuteAggregate(self.device, self.minute_ts, self.stats)
        self.stats = {}
        return done
