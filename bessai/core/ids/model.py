"""The baseline's statistics and forest: a feature vector scored 0..1, with what drove it."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bessai.core.ids.features import FEATURES, Z_FLOOR
from bessai.core.ids.forest import CompactForest
from bessai.core.ids.grow import grow_forest, run_to_end

CALIBRATED_P99 = 0.3
CALIBRATION_ROWS = 200  # baseline windows scored per step of a fit
# Fewer measured windows than this estimate no spread: the feature is left unscored (std inf).
MIN_MEASURED = 10
LATENCY = FEATURES.index("latency_ms")


@dataclass
class Score:
    """One window's intrusion score and the feature that drove it."""

    value: float
    driver: str
    forest: float
    z: dict[str, float]


@dataclass
class IntrusionModel:
    """The baseline's statistics and forest; scores a feature vector 0..1."""

    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    forest: CompactForest
    forest_p99: float
    forest_max: float

    @classmethod
    def fit(
        cls, baseline: npt.NDArray[np.float64], seed: int = 0, trees: int = 64
    ) -> IntrusionModel:
        return run_to_end(cls.fitting(baseline, seed, trees))

    @classmethod
    def fitting(
        cls, baseline: npt.NDArray[np.float64], seed: int = 0, trees: int = 64
    ) -> Generator[None, None, IntrusionModel]:
        """``fit`` in steps of about a millisecond, for a caller that shares its event loop.

        A NaN is a feature not measured in that window (a latency while the gateway's own
        loop stalled): the statistics are the measured windows', and the forest sees the
        mean there. A feature measured in fewer than ``MIN_MEASURED`` windows has no spread
        to score against (a single start-up value held as a baseline was 50 sigma from the
        first real one): its std is infinite, and it is not scored.
        """
        if len(baseline) < 30:
            raise ValueError(f"a baseline needs at least 30 windows, got {len(baseline)}")
        measured = ~np.isnan(baseline)
        counts = measured.sum(axis=0)
        filled = np.where(measured, baseline, 0.0)
        mean = filled.sum(axis=0) / np.maximum(counts, 1)
        spread = np.sqrt(
            (np.where(measured, baseline - mean, 0.0) ** 2).sum(axis=0) / np.maximum(counts, 1)
        )
        std = np.where(counts >= MIN_MEASURED, np.maximum(spread, np.asarray(Z_FLOOR)), np.inf)
        baseline = np.where(measured, baseline, mean)
        forest = yield from grow_forest(baseline, trees=trees, max_samples=256, seed=seed)
        parts = []
        for start in range(0, len(baseline), CALIBRATION_ROWS):
            yield
            parts.append(forest.anomalies(baseline[start : start + CALIBRATION_ROWS]))
        raw = np.concatenate(parts)
        p99 = float(np.percentile(raw, 99))
        return cls(mean, std, forest, p99, max(float(raw.max()), p99 + 1e-6))

    def score(self, x: npt.NDArray[np.float64]) -> Score:
        x = np.asarray(x, dtype=np.float64)
        if np.isnan(x).any():
            x = np.where(np.isnan(x), self.mean, x)  # not measured: as the baseline's mean
        if x[LATENCY] < self.mean[LATENCY]:
            # Faster than usual is no attack (a flood or a relay slows a device); it is the
            # gateway's own load falling, as when its fits end or the screen closes.
            x = x.copy()
            x[LATENCY] = self.mean[LATENCY]
        # Plain floats from here: numpy scalars cost a microsecond per operation.
        z = ((x - self.mean) / self.std).tolist()
        raw = self.forest.anomaly(x)
        # The forest's raw score, calibrated: the baseline's p99 is 0.3, its maximum 0.5, and
        # beyond that it climbs over what is left of the forest's range, to 1 at a raw 1. (Not
        # at the slope between p99 and the maximum: in a small baseline the two are nearly
        # equal, and a window a hair past the maximum scored 1.0, a false alarm.)
        if raw <= self.forest_p99:
            forest = CALIBRATED_P99 * raw / self.forest_p99
        elif raw <= self.forest_max:
            forest = CALIBRATED_P99 + 0.2 * (raw - self.forest_p99) / (
                self.forest_max - self.forest_p99
            )
        else:
            forest = 0.5 + 0.5 * (raw - self.forest_max) / max(1e-6, 1.0 - self.forest_max)
        forest = min(1.0, forest)
        magnitudes = [abs(v) for v in z]
        top = max(magnitudes)
        worst = magnitudes.index(top)
        # A feature more than 3 standard deviations out is suspicious on its own: from 0.3 at
        # 3 sigma to 1 at 6 sigma. (An IsolationForest never splits on a feature that was
        # constant in the baseline, so the z-scores are what see a first exception or write.)
        z_part = 0.0 if top <= 3 else min(1.0, 0.3 + 0.7 * (top - 3) / 3)
        value = max(forest, z_part)
        driver = FEATURES[worst] if z_part >= forest else "forest:" + FEATURES[worst]
        return Score(value, driver, forest, dict(zip(FEATURES, z, strict=True)))

    def save(self, path: Path) -> None:
        f = self.forest
        np.savez_compressed(
            path,
            mean=self.mean,
            std=self.std,
            left=f.left,
            right=f.right,
            feature=f.feature,
            threshold=f.threshold,
            leaf_value=f.leaf_value,
            meta=np.array([f.max_depth, f.normaliser, self.forest_p99, self.forest_max]),
        )

    @classmethod
    def load(cls, path: Path) -> IntrusionModel:
        with np.load(path) as d:
            meta = d["meta"]
            forest = CompactForest.from_arrays(
                d["left"],
                d["right"],
                d["feature"],
                d["threshold"],
                d["leaf_value"],
                int(meta[0]),
                float(meta[1]),
            )
            return cls(d["mean"], d["std"], forest, float(meta[2]), float(meta[3]))
