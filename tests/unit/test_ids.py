"""Intrusion scoring: the numpy forest matches scikit-learn, the score is calibrated, features see attacks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from bessai.core.ids import FEATURES, CompactForest, IntrusionModel, WindowFeatures
from bessai.core.ids.forest import thresholds_below


def normal_windows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            np.full(n, 2.0),
            np.zeros(n),
            np.zeros(n),
            rng.normal(0.6, 0.05, n),
            np.full(n, 153.0),
            np.zeros(n),
            np.abs(rng.normal(0, 0.005, n)),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n),
        ]
    )


def test_compact_forest_matches_scikit_learn_within_1e6() -> None:
    rng = np.random.default_rng(1)
    train = rng.normal(size=(700, 10))
    forest = IsolationForest(n_estimators=64, max_samples=256, random_state=3).fit(train)
    fast = CompactForest.from_sklearn(forest)
    assert fast.nbytes < 600_000  # per device: the 4.5 MB onnxruntime session it replaces
    test = np.vstack([rng.normal(size=(200, 10)), rng.normal(4, 2, size=(50, 10))])
    expected = -forest.score_samples(test)
    got = np.array([fast.anomaly(row) for row in test])
    assert np.max(np.abs(got - expected)) < 1e-6


def test_float32_thresholds_make_the_same_decision_as_scikit_learns_float64_ones() -> None:
    rng = np.random.default_rng(5)
    points = rng.normal(size=2000).astype(np.float32)
    ordered = np.sort(points)
    midpoints = (ordered[:-1].astype(np.float64) + ordered[1:].astype(np.float64)) / 2
    t32 = thresholds_below(midpoints)
    for x in (points[:300], ordered[:300], ordered[1:301]):
        assert np.array_equal(x[:, None] <= midpoints[None, :300], x[:, None] <= t32[None, :300])


def test_a_baseline_saved_with_wide_arrays_loads_and_scores_the_same(tmp_path: Path) -> None:
    model = IntrusionModel.fit(normal_windows(600), seed=4)
    f = model.forest
    np.savez_compressed(
        tmp_path / "old.npz",
        mean=model.mean,
        std=model.std,
        left=f.left.astype(np.int64),
        right=f.right.astype(np.int64),
        feature=f.feature.astype(np.int64),
        threshold=f.threshold.astype(np.float64),
        leaf_value=f.leaf_value.astype(np.float64),
        meta=np.array([f.max_depth, f.normaliser, model.forest_p99, model.forest_max]),
    )
    loaded = IntrusionModel.load(tmp_path / "old.npz")
    for row in normal_windows(50, seed=3):
        assert loaded.score(row).value == pytest.approx(model.score(row).value, abs=1e-9)


def test_baseline_scores_below_0_3_at_the_99th_percentile() -> None:
    model = IntrusionModel.fit(normal_windows(600), seed=1)
    fresh = normal_windows(1000, seed=9)
    scores = np.array([model.score(row).value for row in fresh])
    assert np.percentile(scores, 99) <= 0.35
    assert scores.max() < 0.7  # no alarm on normal traffic


@pytest.mark.parametrize(
    ("feature", "value"),
    [
        ("foreign_write", 1.0),
        ("timeouts", 2.0),
        ("exceptions", 2.0),
        ("frozen", 1.0),
        ("physics_violation", 3.0),
        ("latency_ms", 12.0),
        ("foreign_requests", 6.0),
        ("foreign_exceptions", 2.0),
    ],
)
def test_each_attack_feature_drives_a_high_score(feature: str, value: float) -> None:
    model = IntrusionModel.fit(normal_windows(600), seed=1)
    row = normal_windows(1, seed=5)[0]
    row[FEATURES.index(feature)] = value
    score = model.score(row)
    assert score.value >= 0.8
    assert feature in score.driver


def test_saved_model_scores_the_same(tmp_path: Path) -> None:
    model = IntrusionModel.fit(normal_windows(300), seed=2)
    model.save(tmp_path / "ids.npz")
    again = IntrusionModel.load(tmp_path / "ids.npz")
    row = normal_windows(1, seed=8)[0]
    assert again.score(row).value == pytest.approx(model.score(row).value, abs=1e-12)


def test_too_short_a_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 30 windows"):
        IntrusionModel.fit(normal_windows(10))


@dataclass
class Rec:
    outcome: object
    latency_s: float = 0.0006
    bytes_received: int = 76
    is_write: bool = False
    read_back: bool = False


class Outcome:
    def __init__(self, value: str) -> None:
        self.value = value


def test_window_features_see_foreign_writes_physics_and_frozen_values() -> None:
    feats = WindowFeatures(capacity_kwh=200.0)
    ok = [Rec(Outcome("ok")), Rec(Outcome("ok"))]
    roles = {
        "soc_pct": 50.0,
        "active_power_kw": 36.0,
        "setpoint_power_kw": 0.0,
        "pack_voltage_v": 780.0,
        "battery_temp_c": 25.0,
    }
    v = feats.vector(roles, 0.0, ok)
    assert v[FEATURES.index("requests")] == 2
    v = feats.vector(
        {**roles, "soc_pct": 49.995, "pack_voltage_v": 780.1}, 1.0, ok
    )  # 36 kW for 1 s
    assert v[FEATURES.index("physics_violation")] == 0.0
    v = feats.vector(
        {**roles, "soc_pct": 45.0, "pack_voltage_v": 780.2}, 2.0, ok
    )  # 5 % in a second
    assert v[FEATURES.index("physics_violation")] > 4.0
    v = feats.vector({**roles, "setpoint_power_kw": 80.0}, 3.0, ok)
    assert v[FEATURES.index("foreign_write")] == 1.0
    feats.note_write(80.0)
    assert (
        feats.vector({**roles, "setpoint_power_kw": 80.0}, 4.0, ok)[FEATURES.index("foreign_write")]
        == 0.0
    )
    frozen = WindowFeatures()
    for i in range(3):
        out = frozen.vector(roles, float(i), ok)
    assert out[FEATURES.index("frozen")] == 1.0


def test_scoring_one_window_is_fast_enough_to_share_the_gui_loop() -> None:
    model = IntrusionModel.fit(normal_windows(600), seed=1)
    row = normal_windows(1)[0]
    started = time.perf_counter()
    for _ in range(200):
        model.score(row)
    per_window_s = (time.perf_counter() - started) / 200
    # The 0.1 ms target is measured by a benchmark; here only a gross regression fails.
    assert per_window_s < 0.002


def test_the_device_counters_reveal_another_masters_requests_and_exceptions() -> None:
    feats = WindowFeatures()
    ok = [Rec(Outcome("ok")), Rec(Outcome("ok"))]

    def window(requests: float, exceptions: float, ts: float) -> tuple[float, float]:
        roles = {"request_count": requests, "exception_count": exceptions}
        v = feats.vector(roles, ts, ok)
        return v[FEATURES.index("foreign_requests")], v[FEATURES.index("foreign_exceptions")]

    assert window(100, 0, 0.0) == (0.0, 0.0)  # the first read only sets the reference
    assert window(102, 0, 1.0) == (0.0, 0.0)  # our two reads
    assert window(1102, 950, 2.0) == (998.0, 950.0)  # a scan: 998 more, mostly refused
    # One of our requests counted a window late: a shortfall, then no false excess.
    assert window(1103, 950, 3.0) == (0.0, 0.0)
    assert window(1106, 950, 4.0) == (0.0, 0.0)
    # The counter wraps at 2**32 without a false alarm ...
    feats2 = WindowFeatures()
    feats2.vector({"request_count": 2**32 - 1, "exception_count": 0.0}, 0.0, ok)
    out = feats2.vector({"request_count": 1.0, "exception_count": 0.0}, 1.0, ok)
    assert out[FEATURES.index("foreign_requests")] == 0.0
    # ... and a device restart (counters back near zero) is not an attack.
    assert window(3, 0, 5.0) == (0.0, 0.0)
    assert window(5, 0, 6.0) == (0.0, 0.0)


def test_a_device_without_counters_gives_zero_foreign_traffic() -> None:
    v = WindowFeatures().vector({"soc_pct": 50.0}, 0.0, [])
    assert v[FEATURES.index("foreign_requests")] == 0.0
    assert v[FEATURES.index("foreign_exceptions")] == 0.0


def test_a_baseline_of_another_width_is_relearnt(tmp_path: Path) -> None:
    from bessai.core.ids import IntrusionDetector

    model = IntrusionModel.fit(normal_windows(300), seed=2)
    model.mean, model.std = model.mean[:8], model.std[:8]  # as saved by the 8-feature version
    model.save(tmp_path / "ids-bess.npz")

    class Device:
        name = "bess"

        def __init__(self) -> None:
            self.traffic_listeners: list[object] = []

    class Bus:
        def subscribe(self, *_: object) -> None:
            pass

    detector = IntrusionDetector(Bus(), tmp_path)
    detector.attach(Device())
    assert "bess" not in detector.models


def test_one_or_two_slow_windows_are_not_a_latency_anomaly_but_a_sustained_slowdown_is() -> None:
    feats = WindowFeatures()

    def window(latency_s: float) -> float:
        recs = [Rec(Outcome("ok"), latency_s=latency_s), Rec(Outcome("ok"), latency_s=latency_s)]
        return float(feats.vector({}, 0.0, recs)[FEATURES.index("latency_ms")])

    assert window(0.0006) == pytest.approx(0.6)
    assert window(0.030) == pytest.approx(0.6)  # the edge computer stalled once
    assert window(0.0006) == pytest.approx(0.6)
    assert window(0.020) == pytest.approx(0.6)
    assert window(0.040) == pytest.approx(0.6)  # twice: still the host, not the device
    assert window(0.025) == pytest.approx(20.0)  # three times in a row: the device is slowed


def test_a_window_just_past_a_small_baselines_maximum_is_no_alarm() -> None:
    """40 windows: p99 and the maximum nearly coincide. A window 0.05 past the maximum
    scored 0.94 by the slope between them (a false alarm); it climbs over the forest's
    remaining range instead, and a raw score near 1 is still an alarm."""
    model = IntrusionModel.fit(normal_windows(40, seed=7), seed=7)
    p99, top = model.forest_p99, model.forest_max
    assert 0.3 + 0.2 * 0.05 / (top - p99) + 0.2 > 0.7  # what the old slope gave

    class Fixed:
        raw = 0.0

        def anomaly(self, _: object) -> float:
            return self.raw

    fixed = Fixed()
    model.forest = fixed  # type: ignore[assignment]
    fixed.raw = top + 0.05
    assert 0.5 < model.score(model.mean).value < 0.7
    fixed.raw = 0.97
    assert model.score(model.mean).value > 0.9


def test_a_latency_held_from_the_start_is_no_baseline_and_a_faster_device_no_attack() -> None:
    """The 100-device first start: the first window slow (every device connecting at once),
    then every read on the wire while the gateway's loop was late. The held start-up latency
    made a constant baseline (std at its 1 ms floor) and the first measured read, 52 ms
    faster, scored 1.0. Not measured is not a value; faster is no attack."""
    feats = WindowFeatures()
    ts = iter(range(100))

    def window(latency_s: float, stalled: bool, setpoint_kw: float = 0.0) -> np.ndarray:
        recs = [Rec(Outcome("ok"), latency_s=latency_s), Rec(Outcome("ok"), latency_s=latency_s)]
        now = float(next(ts))
        roles = {"setpoint_power_kw": setpoint_kw, "active_power_kw": now}  # not frozen
        return feats.vector(roles, now, recs, [stalled, stalled])  # type: ignore[arg-type]

    baseline: list[np.ndarray] = []
    for _ in range(40):
        baseline.append(window(0.070, stalled=True))
    model = IntrusionModel.fit(np.array(baseline), seed=1)
    scores = [model.score(window(0.018, stalled=False)) for _ in range(5)]
    assert max(s.value for s in scores) < 0.7, [(s.value, s.driver) for s in scores]
    rogue = model.score(window(0.018, stalled=False, setpoint_kw=50.0))
    assert rogue.value >= 0.8
    assert "foreign_write" in rogue.driver


def test_a_sustained_slowdown_is_caught_when_the_baseline_was_measured_between_stalls() -> None:
    feats = WindowFeatures()
    rng = np.random.default_rng(3)
    rows = []
    for i in range(60):
        latency_s = float(rng.normal(0.0008, 0.0001))
        recs = [Rec(Outcome("ok"), latency_s=latency_s), Rec(Outcome("ok"), latency_s=latency_s)]
        stalled = i % 3 == 0  # a third of the windows on the wire during a stall
        rows.append(feats.vector({}, float(i), recs, [stalled, stalled]))  # type: ignore[arg-type]
    model = IntrusionModel.fit(np.array(rows), seed=1)
    assert np.isfinite(model.std[FEATURES.index("latency_ms")])
    slow = [Rec(Outcome("ok"), latency_s=0.015), Rec(Outcome("ok"), latency_s=0.015)]
    scores = [model.score(feats.vector({}, 60.0 + i, slow, [False, False])) for i in range(3)]  # type: ignore[arg-type]
    assert scores[-1].value >= 0.8, scores[-1]
    assert "latency_ms" in scores[-1].driver
