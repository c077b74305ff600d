"""Train the dispatch model and write ``dispatch.onnx`` with its metadata, reproducibly.

``python -m bessai.core.dispatch.train [--out DIR] [--days N] [--seed S]``

A year of synthetic Chilean days (see ``profiles``) is solved by dynamic
programming (see ``teacher``); a scikit-learn gradient-boosted regressor
learns the optimal power from the hour, SoC, PV, load and price, and is
exported with skl2onnx as one tree-ensemble node. Held-out days are then
run three ways (optimal, model, rules) and the share of the optimal saving
each captures goes into the metadata. Same seed, same libraries: same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor

from bessai.core.dispatch.inputs import FEATURES, DispatchInputs
from bessai.core.dispatch.model import METADATA_FILE, MODEL_FILE, builtin_model_path
from bessai.core.dispatch.profiles import DayProfile, random_day
from bessai.core.dispatch.rules import RuleDispatcher
from bessai.core.dispatch.teacher import TrainingBattery, best_actions, value_function

VERSION = "1.0.0"
STEP_H = 0.25
SOC_SAMPLES_PER_STEP = 6
OUTPUT_MARGIN = 0.1
OUTPUT_ROUNDING = 0.05
# skl2onnx 1.19 cannot export GradientBoostingRegressor with onnx 1.23 (boolean attributes).
REGRESSOR: dict[str, Any] = {
    "n_estimators": 120,
    "max_depth": 5,
    "learning_rate": 0.1,
    "min_samples_leaf": 40,
}


def make_days(days: int, seed: int) -> list[DayProfile]:
    """``days + 1`` consecutive days starting on 1 January (the last one only as lookahead)."""
    rng = np.random.default_rng(seed)
    return [random_day(rng, day_of_year=(d % 365) + 1, step_h=STEP_H) for d in range(days + 1)]


def dataset(
    days: list[DayProfile], battery: TrainingBattery, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and the teacher's optimal power at random SoCs through each day."""
    rng = np.random.default_rng(seed + 1)
    rows: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for today, tomorrow in itertools.pairwise(days):
        value = value_function([today, tomorrow], battery, STEP_H)
        for t in range(today.hour.size):
            soc = rng.uniform(battery.soc_min_pct, battery.soc_max_pct, SOC_SAMPLES_PER_STEP)
            targets.append(best_actions(soc, today, t, value[t + 1], battery, STEP_H))
            rows.append(
                np.column_stack(
                    [
                        np.full(soc.size, today.hour[t]),
                        soc,
                        np.full(soc.size, today.pv_per_rated[t]),
                        np.full(soc.size, today.load_per_rated[t]),
                        np.full(soc.size, today.price_usd_mwh[t]),
                    ]
                )
            )
    return np.vstack(rows).astype(np.float32), np.concatenate(targets).astype(np.float32)


def day_cost(
    day: DayProfile,
    battery: TrainingBattery,
    policy: Callable[[int, float], float],
    soc0: float = 50.0,
) -> float:
    """USD per MW of rated power for a day run by ``policy(t, soc) -> power``."""
    soc = soc0
    cost = 0.0
    for t in range(day.hour.size):
        power = float(np.clip(policy(t, soc), -1.0, 1.0))
        nxt = float(battery.soc_after(np.asarray(soc), np.asarray(power), STEP_H))
        if not battery.soc_min_pct - 1e-6 <= nxt <= battery.soc_max_pct + 1e-6:
            power = 0.0
            nxt = soc
        net = day.load_per_rated[t] - day.pv_per_rated[t]
        cost += float(
            battery.step_cost(np.asarray(day.price_usd_mwh[t]), net, np.asarray(power), STEP_H)
        )
        soc = nxt
    # What is left in the battery is worth what it would save at the evening price.
    cost -= (soc - soc0) / 100 * battery.capacity_h * float(np.mean(day.price_usd_mwh[-24:]))
    return cost


def evaluate(
    model: GradientBoostingRegressor,
    days: list[DayProfile],
    battery: TrainingBattery,
) -> dict[str, float]:
    """Share of the optimal saving (against no battery) that the model and the rules capture."""
    rules = RuleDispatcher()
    totals = {"none": 0.0, "optimal": 0.0, "model": 0.0, "rules": 0.0}
    for today, tomorrow in itertools.pairwise(days):
        value = value_function([today, tomorrow], battery, STEP_H)

        def optimal(t: int, soc: float, day: DayProfile = today, v: np.ndarray = value) -> float:
            return float(best_actions(np.asarray([soc]), day, t, v[t + 1], battery, STEP_H)[0])

        def learned(t: int, soc: float, day: DayProfile = today) -> float:
            row = [
                [day.hour[t], soc, day.pv_per_rated[t], day.load_per_rated[t], day.price_usd_mwh[t]]
            ]
            return float(model.predict(np.asarray(row, dtype=np.float32))[0])

        def ruled(t: int, soc: float, day: DayProfile = today) -> float:
            inputs = DispatchInputs(
                0.0, float(day.hour[t]), soc, float(day.pv_per_rated[t]),
                float(day.load_per_rated[t]), float(day.price_usd_mwh[t]), 1.0,
            )  # fmt: skip
            return rules.propose(inputs).setpoint_kw

        totals["none"] += day_cost(today, battery, lambda t, soc: 0.0)
        totals["optimal"] += day_cost(today, battery, optimal)
        totals["model"] += day_cost(today, battery, learned)
        totals["rules"] += day_cost(today, battery, ruled)
    best = totals["none"] - totals["optimal"]
    return {
        "optimal_saving_usd_per_mw_day": round(best / (len(days) - 1), 2),
        "model_share_of_optimal_saving": round((totals["none"] - totals["model"]) / best, 3),
        "rules_share_of_optimal_saving": round((totals["none"] - totals["rules"]) / best, 3),
    }


def _versions() -> dict[str, str]:
    return {
        name: pkg_metadata.version(name) for name in ("scikit-learn", "skl2onnx", "onnx", "numpy")
    }


def export_onnx(model: GradientBoostingRegressor) -> bytes:
    """The fitted regressor as ONNX bytes: one tree-ensemble node, stable byte for byte."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    with warnings.catch_warnings():
        # Protobuf 6 warns that skl2onnx passes booleans as integers (see pyproject's train extra).
        warnings.filterwarnings("ignore", "Field onnx.AttributeProto.ints", DeprecationWarning)
        onx = convert_sklearn(
            model,
            "bessai-dispatch",
            initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
            final_types=[("setpoint_per_rated", FloatTensorType([None, 1]))],
            target_opset={"": 17, "ai.onnx.ml": 3},
            doc_string=f"BESSAI Edge dispatch model {VERSION}",
        )
    # skl2onnx lists the opsets in set order (it changes with the hash seed): sort for stable bytes.
    opsets = sorted(onx.opset_import, key=lambda o: o.domain)
    del onx.opset_import[:]
    onx.opset_import.extend(opsets)
    blob: bytes = onx.SerializeToString()
    return blob


def output_bound(outputs: np.ndarray) -> float:
    """The declared output range's half-width: what the model answers, with a margin."""
    largest = float(np.max(np.abs(outputs))) * (1.0 + OUTPUT_MARGIN)
    return round(math.ceil(largest / OUTPUT_ROUNDING) * OUTPUT_ROUNDING, 2)


def fit(days: list[DayProfile], battery: TrainingBattery, seed: int) -> GradientBoostingRegressor:
    return fit_rows(*dataset(days, battery, seed), seed)


def fit_rows(x: np.ndarray, y: np.ndarray, seed: int) -> GradientBoostingRegressor:
    model = GradientBoostingRegressor(random_state=seed, **REGRESSOR)
    model.fit(x, y)
    return model


def train(out_dir: Path, days: int = 365, seed: int = 7, holdout_days: int = 20) -> dict[str, Any]:
    """Train, export and describe the model in ``out_dir``; returns the metadata."""
    battery = TrainingBattery()
    all_days = make_days(days + holdout_days, seed)
    train_days, test_days = all_days[: days + 1], all_days[days:]
    x_train, y_train = dataset(train_days, battery, seed)
    model = fit_rows(x_train, y_train, seed)
    x_test, y_test = dataset(test_days, battery, seed + 100)
    predicted = model.predict(x_test)
    mae = float(np.mean(np.abs(predicted - y_test)))
    bound = output_bound(np.concatenate([model.predict(x_train), predicted]))
    width = len(FEATURES)
    blob = export_onnx(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_bytes(blob)
    meta: dict[str, Any] = {
        "name": "bessai-dispatch",
        "version": VERSION,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "input": {"name": "features", "shape": [None, width], "dtype": "tensor(float)"},
        "features": [{"name": n, "unit": u} for n, u in FEATURES],
        "output": {
            "name": "setpoint_per_rated",
            "shape": [None, 1],
            "dtype": "tensor(float)",
            "meaning": "battery power setpoint / rated power; positive discharges",
            "min": -bound,
            "max": bound,
            "range_basis": (
                f"largest |output| on the training and holdout rows plus {OUTPUT_MARGIN:.0%}, "
                f"rounded up to {OUTPUT_ROUNDING}: a boosted ensemble overshoots the teacher's "
                "+-1 where it saturates, and only a model past that is taken as broken"
            ),
        },
        "max_input_age_s": 10.0,
        "training": {
            "command": f"python -m bessai.core.dispatch.train --days {days} --seed {seed}",
            "data": (
                f"{days} synthetic central-Chile days from 1 January (solar by season with clouds, "
                "load with evening peak, CEN-like marginal cost), 15-min steps, "
                f"{SOC_SAMPLES_PER_STEP} random SoCs per step"
            ),
            "teacher": "dynamic programming over a two-day horizon: grid cost + wear",
            "battery": asdict(battery),
            "regressor": {"class": "GradientBoostingRegressor", "random_state": seed, **REGRESSOR},
            "rows": days * len(train_days[0].hour) * SOC_SAMPLES_PER_STEP,
            "holdout_days": holdout_days,
            "holdout_mae_per_rated": round(mae, 4),
            **evaluate(model, test_days, battery),
            "libraries": _versions(),
        },
    }
    (out_dir / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bessai.core.dispatch.train", description=__doc__
    )
    parser.add_argument("--out", type=Path, default=builtin_model_path().parent)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error("--days must be at least 2")
    meta = train(args.out, args.days, args.seed)
    training = meta["training"]
    print(
        f"wrote {args.out / MODEL_FILE} sha256 {meta['sha256']}: {training['rows']} rows, "
        f"holdout MAE {training['holdout_mae_per_rated']} of rated power, "
        f"captures {training['model_share_of_optimal_saving']:.0%} of the optimal saving "
        f"(rules {training['rules_share_of_optimal_saving']:.0%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
