"""The teacher of the dispatch model: the cost-optimal schedule of a day, by dynamic programming.

For a battery of unit rated power and ``capacity_h`` hours of storage beside
a PV plant and a load, it minimises the cost of the grid exchange (imports
at the marginal cost, exports paid at ``export_fraction`` of it) plus a
throughput wear cost, over a two-day horizon so that the first day does not
end empty. The model learns the first day's decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bessai.core.dispatch.profiles import DayProfile


@dataclass(frozen=True)
class TrainingBattery:
    """The battery the shipped model was trained for, per unit of rated power."""

    capacity_h: float = 2.0
    efficiency: float = 0.95
    soc_min_pct: float = 10.0
    soc_max_pct: float = 90.0
    wear_usd_mwh: float = 20.0
    export_fraction: float = 0.6

    def soc_after(self, soc_pct: np.ndarray, power: np.ndarray, step_h: float) -> np.ndarray:
        """SoC after a step at ``power`` (per unit of rated, + discharges)."""
        energy = np.where(power > 0, power / self.efficiency, power * self.efficiency)
        return np.asarray(soc_pct - 100.0 * energy * step_h / self.capacity_h)

    def step_cost(
        self, price: np.ndarray, net_load: np.ndarray, power: np.ndarray, step_h: float
    ) -> np.ndarray:
        """USD per MW of rated power for one step: grid exchange plus wear."""
        grid = net_load - power
        exchange = np.where(grid > 0, price * grid, self.export_fraction * price * grid)
        return np.asarray((exchange + self.wear_usd_mwh * np.abs(power)) * step_h)


ACTIONS = np.round(np.linspace(-1.0, 1.0, 21), 10)
SOC_GRID = np.arange(10.0, 90.0 + 1e-9, 1.0)


def value_function(
    days: list[DayProfile], battery: TrainingBattery, step_h: float = 0.25
) -> np.ndarray:
    """Cost-to-go on SOC_GRID at every step of the concatenated days (last row zero)."""
    price = np.concatenate([d.price_usd_mwh for d in days])
    net = np.concatenate([d.load_per_rated - d.pv_per_rated for d in days])
    steps = price.size
    value = np.zeros((steps + 1, SOC_GRID.size))
    for t in range(steps - 1, -1, -1):
        value[t] = q_values(SOC_GRID, price[t], net[t], value[t + 1], battery, step_h).min(axis=1)
    return value


def q_values(
    soc_pct: np.ndarray,
    price: float,
    net_load: float,
    next_value: np.ndarray,
    battery: TrainingBattery,
    step_h: float,
) -> np.ndarray:
    """Cost of each action (columns) from each SoC (rows); infeasible actions cost infinity."""
    soc_next = battery.soc_after(soc_pct[:, None], ACTIONS[None, :], step_h)
    feasible = (soc_next >= battery.soc_min_pct - 1e-9) & (soc_next <= battery.soc_max_pct + 1e-9)
    cost = battery.step_cost(np.asarray(price), np.asarray(net_load), ACTIONS[None, :], step_h)
    future = np.interp(soc_next, SOC_GRID, next_value)
    return np.where(feasible, cost + future, np.inf)


def best_actions(
    soc_pct: np.ndarray,
    day: DayProfile,
    t: int,
    next_value: np.ndarray,
    battery: TrainingBattery,
    step_h: float,
) -> np.ndarray:
    """The optimal power (per unit of rated) at step ``t`` of ``day`` from each SoC."""
    q = q_values(
        soc_pct, day.price_usd_mwh[t], day.load_per_rated[t] - day.pv_per_rated[t],
        next_value, battery, step_h,
    )  # fmt: skip
    return np.asarray(ACTIONS[np.argmin(q, axis=1)])
