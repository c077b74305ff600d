"""A fitted IsolationForest kept as compact arrays and scored one sample at a time.

scikit-learn's own ``score_samples`` costs ~10 ms for one sample (its per-call
overhead), and an onnxruntime session per device cost ~3-4 MB each (measured:
4.5 MB RSS per 256-sample model), which is what made 100 scored devices take
830 MB. The trees as arrays (int16 children, int8 features, float32
thresholds rounded down so that every comparison of a float32 input is the
one scikit-learn makes, float32 leaf depths) take ~0.4 MB per device and are
walked for all trees at once with numpy, level by level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

EULER_GAMMA = 0.5772156649015329


def average_path_length(n: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """c(n): the average path length of an unsuccessful search in a binary tree of n points."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + EULER_GAMMA) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def thresholds_below(threshold: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """float32 thresholds t32 <= t64 with no float32 between them, so that for any float32
    x, ``x <= t32`` exactly when ``x <= t64`` (scikit-learn compares float32 inputs with
    float64 thresholds)."""
    t32 = threshold.astype(np.float32)
    above = t32.astype(np.float64) > threshold
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    return t32


@dataclass
class CompactForest:
    """The trees of a fitted IsolationForest as padded arrays (trees x nodes)."""

    left: npt.NDArray[np.int16]  # -1 at a leaf
    right: npt.NDArray[np.int16]
    feature: npt.NDArray[np.int8]
    threshold: npt.NDArray[np.float32]
    leaf_value: npt.NDArray[np.float32]  # depth + c(samples in the leaf), at leaves
    max_depth: int
    normaliser: float
    _base: npt.NDArray[np.intp] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Flat views: one np.take per level is cheaper than 2-D fancy indexing.
        self._base = np.arange(self.left.shape[0], dtype=np.intp) * self.left.shape[1]
        self._left = self.left.ravel()
        self._right = self.right.ravel()
        self._feature = self.feature.ravel()
        self._threshold = self.threshold.ravel()
        self._leaf = self.leaf_value.ravel()

    @classmethod
    def from_arrays(
        cls,
        left: npt.NDArray[Any],
        right: npt.NDArray[Any],
        feature: npt.NDArray[Any],
        threshold: npt.NDArray[Any],
        leaf_value: npt.NDArray[Any],
        max_depth: int,
        normaliser: float,
    ) -> CompactForest:
        """From saved arrays of any width (baselines saved before were int64/float64)."""
        limit = left.shape[1]
        if limit > np.iinfo(np.int16).max:
            raise ValueError(f"a tree of {limit} nodes does not fit int16 children")
        t = threshold if threshold.dtype == np.float32 else thresholds_below(threshold)
        return cls(
            left.astype(np.int16),
            right.astype(np.int16),
            feature.astype(np.int8),
            t,
            leaf_value.astype(np.float32),
            max_depth,
            normaliser,
        )

    @classmethod
    def from_sklearn(cls, forest: Any) -> CompactForest:
        trees = forest.estimators_
        size = max(t.tree_.node_count for t in trees)
        n = len(trees)
        left = np.full((n, size), -1, dtype=np.int64)
        right = np.full((n, size), -1, dtype=np.int64)
        feature = np.zeros((n, size), dtype=np.int64)
        threshold = np.zeros((n, size))
        leaf_value = np.zeros((n, size))
        max_depth = 0
        for i, (estimator, features) in enumerate(
            zip(trees, forest.estimators_features_, strict=True)
        ):
            tree = estimator.tree_
            count = tree.node_count
            left[i, :count] = tree.children_left
            right[i, :count] = tree.children_right
            feature[i, :count] = np.asarray(features)[np.maximum(tree.feature, 0)]
            threshold[i, :count] = tree.threshold
            depth = np.zeros(count, dtype=np.int64)
            for node in range(count):  # parents come before children in sklearn's arrays
                for child in (tree.children_left[node], tree.children_right[node]):
                    if child != -1:
                        depth[child] = depth[node] + 1
            # sklearn: decision path length (depth + 1) plus c(samples in the leaf), minus 1.
            leaf_value[i, :count] = depth + average_path_length(
                tree.n_node_samples.astype(np.float64)
            )
            max_depth = max(max_depth, int(depth.max()))
        normaliser = float(n * average_path_length(np.array([float(forest.max_samples_)]))[0])
        return cls.from_arrays(left, right, feature, threshold, leaf_value, max_depth, normaliser)

    def anomaly(self, x: npt.NDArray[np.float64]) -> float:
        """scikit-learn's ``-score_samples``: about 0.5 for normal points, towards 1 for outliers."""
        xs = np.asarray(x, dtype=np.float32)  # the trees split float32 values, as sklearn's do
        at = self._base.copy()  # flat index of each tree's current node
        for _ in range(self.max_depth):
            left = self._left.take(at)
            inner = left >= 0
            if not inner.any():
                break
            go_left = xs.take(self._feature.take(at)) <= self._threshold.take(at)
            child = np.where(go_left, left, self._right.take(at))
            at = np.where(inner, self._base + child, at)
        depth = float(self._leaf.take(at).sum(dtype=np.float64))
        anomaly: float = 2.0 ** (-depth / self.normaliser)
        return anomaly

    def anomalies(self, xs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``anomaly`` of each row, all rows walked at once (a baseline's calibration)."""
        rows = np.asarray(xs, dtype=np.float32)
        width = rows.shape[1]
        flat = rows.ravel()
        offset = np.arange(len(rows), dtype=np.intp)[None, :] * width
        at = np.repeat(self._base[:, None], len(rows), axis=1)  # trees x rows
        for _ in range(self.max_depth):
            left = self._left.take(at)
            inner = left >= 0
            if not inner.any():
                break
            go_left = flat.take(offset + self._feature.take(at)) <= self._threshold.take(at)
            child = np.where(go_left, left, self._right.take(at))
            at = np.where(inner, self._base[:, None] + child, at)
        depth = self._leaf.take(at).sum(axis=0, dtype=np.float64)
        out: npt.NDArray[np.float64] = 2.0 ** (-depth / self.normaliser)
        return out

    @property
    def nbytes(self) -> int:
        return sum(
            a.nbytes for a in (self.left, self.right, self.feature, self.threshold, self.leaf_value)
        )
