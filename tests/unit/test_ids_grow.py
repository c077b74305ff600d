"""The numpy-grown forest against scikit-learn's IsolationForest, the reference it replaces."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from bessai.core.ids import FEATURES, CompactForest, IntrusionModel
from bessai.core.ids.grow import grow_forest, run_to_end
from tests.unit.test_ids import normal_windows


def mixed(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A training set with a constant column, its inliers and some outliers."""
    rng = np.random.default_rng(seed)
    train = rng.normal(size=(700, 10))
    train[:, 3] = 2.0
    inliers = rng.normal(size=(300, 10))
    inliers[:, 3] = 2.0
    outliers = rng.normal(4, 2, size=(60, 10))
    return train, inliers, outliers


def auc(normal: np.ndarray, odd: np.ndarray) -> float:
    """The chance that an outlier scores above an inlier."""
    return float((odd[:, None] > normal[None, :]).mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_numpy_forest_scores_as_scikit_learns_does(seed: int) -> None:
    train, inliers, outliers = mixed(seed)
    reference = CompactForest.from_sklearn(
        IsolationForest(n_estimators=64, max_samples=256, random_state=seed).fit(train)
    )
    ours = run_to_end(grow_forest(train, trees=64, max_samples=256, seed=seed))
    test = np.vstack([inliers, outliers])
    got, expected = ours.anomalies(test), reference.anomalies(test)
    assert np.corrcoef(got, expected)[0, 1] > 0.95
    assert np.mean(np.abs(got - expected)) < 0.03
    assert abs(got[:300].mean() - expected[:300].mean()) < 0.02
    assert auc(got[:300], got[300:]) > 0.97
    assert auc(got[:300], got[300:]) == pytest.approx(auc(expected[:300], expected[300:]), abs=0.02)
    # The same shape of tree: as deep, and as many nodes within a few percent.
    assert ours.max_depth == reference.max_depth == 8
    nodes = (ours.left >= 0).sum(axis=1).mean()
    assert nodes == pytest.approx((reference.left >= 0).sum(axis=1).mean(), rel=0.08)


def test_a_constant_feature_is_never_split_on() -> None:
    train, _, _ = mixed(4)
    forest = run_to_end(grow_forest(train, seed=4))
    inner = forest.left >= 0
    assert inner.sum() > 1000
    assert not np.any(forest.feature[inner] == 3)
    assert np.all(np.isin(forest.feature[inner], [i for i in range(10) if i != 3]))


def test_the_same_seed_grows_the_same_forest_and_another_seed_another() -> None:
    train, inliers, _ = mixed(5)
    one = run_to_end(grow_forest(train, seed=9)).anomalies(inliers)
    again = run_to_end(grow_forest(train, seed=9)).anomalies(inliers)
    other = run_to_end(grow_forest(train, seed=10)).anomalies(inliers)
    assert np.array_equal(one, again)
    assert not np.array_equal(one, other)


def test_the_batch_walk_scores_each_row_as_the_single_walk_does() -> None:
    train, inliers, outliers = mixed(6)
    forest = run_to_end(grow_forest(train, seed=6))
    rows = np.vstack([inliers[:50], outliers[:20]])
    assert np.allclose(forest.anomalies(rows), [forest.anomaly(r) for r in rows], atol=1e-12)


def test_a_small_baseline_grows_trees_over_all_its_windows() -> None:
    windows = normal_windows(40, seed=3)
    forest = run_to_end(grow_forest(windows, seed=3))
    assert forest.max_depth <= 6  # ceil(log2(40))
    model = IntrusionModel.fit(windows, seed=3)
    assert model.score(windows.mean(axis=0)).value < 0.3


def test_the_fit_comes_in_steps_a_caller_can_interleave() -> None:
    steps = IntrusionModel.fitting(normal_windows(600), seed=1)
    count = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            model = done.value
            break
        count += 1
    assert count >= 8  # one level of every tree per step, and the calibration
    fitted = IntrusionModel.fit(normal_windows(600), seed=1)
    assert model.forest_p99 == fitted.forest_p99
    assert len(model.mean) == len(FEATURES)


def test_a_baseline_is_fitted_without_importing_scikit_learn() -> None:
    """scikit-learn imported into the gateway kept its ~50 MB for the life of the process."""
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from bessai.core.ids import IntrusionModel
        model = IntrusionModel.fit(np.random.default_rng(0).normal(size=(600, 10)))
        assert 0 < model.forest_p99 < 1, model.forest_p99
        print("sklearn" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"
