"""Benchmark: one dispatch proposal from the shipped ONNX model, as the controller makes it.

Times, in the same run and on the same inputs: the whole ``ModelDispatcher.propose``
(input checks, inference, output checks, explanation), the bare onnxruntime
``session.run`` under it, the rule dispatcher, and scikit-learn's ``predict`` on
one sample of the same kind of regressor (the baseline a Python model would
cost). Prints medians and ratios; target <= 0.5 ms median per inference (the
original gateway reported 2.4 ms).

    python bench/dispatch.py [--runs 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bessai.core.dispatch import DispatchInputs, DispatchModel, ModelDispatcher, RuleDispatcher
from bessai.core.dispatch.model import builtin_model_path
from bessai.core.dispatch.train import TrainingBattery, fit, make_days

TARGET_MS = 0.5


def median_ms(fn: Callable[[int], object], runs: int) -> float:
    for i in range(min(200, runs)):
        fn(i)
    times = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(runs: int) -> int:
    rng = np.random.default_rng(0)
    inputs = [
        DispatchInputs(
            0.0,
            float(rng.uniform(0, 24)),
            float(rng.uniform(5, 95)),
            float(rng.uniform(0, 120)),
            float(rng.uniform(10, 120)),
            float(rng.uniform(0, 150)),
            100.0,
            {"soc_pct": 0.1, "pv_kw": 0.1, "load_kw": 0.1},
        )
        for _ in range(256)
    ]
    model = DispatchModel(builtin_model_path())
    dispatcher = ModelDispatcher(model, RuleDispatcher())
    rules = RuleDispatcher()
    features = [i.features() for i in inputs]
    session, name = model.session, model.input_name
    vectors = [
        np.asarray([[f[n] for n in (x.name for x in model.metadata.features)]], dtype=np.float32)
        for f in features
    ]
    regressor = fit(make_days(3, seed=1), TrainingBattery(), seed=1)

    propose = median_ms(lambda i: dispatcher.propose(inputs[i % 256]), runs)
    bare = median_ms(lambda i: session.run(None, {name: vectors[i % 256]}), runs)
    ruled = median_ms(lambda i: rules.propose(inputs[i % 256]), runs)
    sklearn = median_ms(lambda i: regressor.predict(vectors[i % 256]), max(200, runs // 10))
    print(
        f"dispatch proposal (model {model.version}, checks and explanation): {propose:.4f} ms median"
    )
    print(f"  onnxruntime session.run alone:   {bare:.4f} ms ({propose / bare:.1f}x the bare run)")
    print(f"  rule dispatcher:                 {ruled:.4f} ms")
    print(
        f"  scikit-learn predict, 1 sample:  {sklearn:.4f} ms "
        f"(the proposal is {sklearn / propose:.0f}x faster)"
    )
    ok = propose <= TARGET_MS
    print(f"target <= {TARGET_MS} ms median: {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    raise SystemExit(main(parser.parse_args().runs))
