"""Growing an IsolationForest with numpy, all trees a level at a time, in short steps.

The same forest scikit-learn's ``IsolationForest`` grows (a subsample of up to
256 windows per tree drawn without replacement; at each node a random feature
among those not constant there and a threshold uniform between its minimum
and maximum, ``x <= t`` going left; leaves at ``ceil(log2(samples))`` deep or
one sample), with numpy's generator in place of scikit-learn's, so the trees
differ but score alike (``tests/unit/test_ids_grow.py`` holds scikit-learn as
the reference). scikit-learn imported into the gateway kept ~50 MB for the
life of the process, and its fit held the event loop for the whole fit: this
grows one level of every tree per step (about a millisecond), so that the
caller can hand the loop back between steps.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from bessai.core.ids.forest import CompactForest, average_path_length

# scikit-learn's FEATURE_THRESHOLD: a feature spread less than this in a node is constant there.
CONSTANT_SPREAD = 1e-7
T = TypeVar("T")


def grow_forest(
    windows: npt.NDArray[np.float64], *, trees: int = 64, max_samples: int = 256, seed: int = 0
) -> Generator[None, None, CompactForest]:
    """Yields after each level; returns the forest (``forest = yield from grow_forest(...)``)."""
    x = np.asarray(windows, dtype=np.float32)  # trees split float32 values, as scikit-learn's do
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"a forest needs a 2-D array of at least 2 windows, got shape {x.shape}")
    rng = np.random.default_rng(seed)
    n = len(x)
    psi = min(max_samples, n)
    max_depth = math.ceil(math.log2(max(psi, 2)))
    capacity = 2 * psi - 1  # a binary tree over psi samples has at most this many nodes
    left = np.full((trees, capacity), -1, dtype=np.int32)
    right = np.full((trees, capacity), -1, dtype=np.int32)
    feature = np.zeros((trees, capacity), dtype=np.int32)
    threshold = np.zeros((trees, capacity), dtype=np.float64)
    leaf_value = np.zeros((trees, capacity), dtype=np.float64)
    allocated = np.ones(trees, dtype=np.int64)
    # The frontier: one entry per (tree, sample) still in an inner node, and that node's id.
    subsample = np.argsort(rng.random((trees, n)), axis=1)[:, :psi]
    tree_of = np.repeat(np.arange(trees, dtype=np.int64), psi)
    values = x[subsample.ravel()]
    node = np.zeros(trees * psi, dtype=np.int64)
    deepest = 0
    for depth in range(max_depth + 1):
        if len(node) == 0:
            break
        deepest = depth
        key = tree_of * capacity + node
        order = np.argsort(key, kind="stable")
        key, values, tree_of = key[order], values[order], tree_of[order]
        first = np.r_[True, key[1:] != key[:-1]]
        starts = np.flatnonzero(first)
        sizes = np.diff(np.r_[starts, len(key)])
        g_tree, g_node = tree_of[starts], key[starts] % capacity
        # Every node reached is a leaf unless it splits below: depth + c(its samples).
        leaf_value[g_tree, g_node] = depth + average_path_length(sizes.astype(np.float64))
        if depth == max_depth:
            break
        low = np.minimum.reduceat(values, starts, axis=0).astype(np.float64)
        high = np.maximum.reduceat(values, starts, axis=0).astype(np.float64)
        varying = high > low + CONSTANT_SPREAD
        splits = (sizes >= 2) & varying.any(axis=1)
        # A random feature among the varying ones: the smallest random key where it varies.
        keys = np.where(varying, rng.random(varying.shape), 2.0)
        chosen = np.argmin(keys, axis=1)
        rows = np.arange(len(starts))
        lo, hi = low[rows, chosen], high[rows, chosen]
        cut = lo + rng.random(len(starts)) * (hi - lo)
        cut = np.where(
            cut >= hi, lo, cut
        )  # as scikit-learn: a draw at the maximum falls to the minimum
        split = np.flatnonzero(splits)
        s_tree, s_node = g_tree[split], g_node[split]
        rank = np.arange(len(split)) - np.searchsorted(s_tree, s_tree, side="left")
        child = allocated[s_tree] + 2 * rank
        allocated += 2 * np.bincount(s_tree, minlength=trees)
        left[s_tree, s_node] = child
        right[s_tree, s_node] = child + 1
        feature[s_tree, s_node] = chosen[split]
        threshold[s_tree, s_node] = cut[split]
        # Move each entry of a node that split to its child; entries at leaves leave the frontier.
        group = np.cumsum(first) - 1
        first_child = np.full(len(starts), -1, dtype=np.int64)
        first_child[split] = child
        goes = first_child[group]
        keep = goes >= 0
        entry_values = values[keep]
        group = group[keep]
        goes_left = entry_values[np.arange(len(group)), chosen[group]] <= cut[group]
        node = goes[keep] + np.where(goes_left, 0, 1)
        tree_of, values = tree_of[keep], entry_values
        yield
    size = int(allocated.max())
    normaliser = float(trees * average_path_length(np.array([float(psi)]))[0])
    return CompactForest.from_arrays(
        left[:, :size],
        right[:, :size],
        feature[:, :size],
        threshold[:, :size],
        leaf_value[:, :size],
        max(deepest, 1),
        normaliser,
    )


def run_to_end(steps: Generator[None, None, T]) -> T:
    """Drive a stepped computation to its result at once (tests, benches, tools)."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: T = done.value
            return result
