"""Intrusion detection on the Modbus link: window features, a baseline, an IsolationForest and z-scores.

Each poll of a device is a window. Its features come from the gateway's own
traffic records and the sample: requests, exceptions, timeouts, latency,
bytes, a control register that changed without our write (another master),
SoC moving faster than the measured power allows (physics), measurements
frozen where noise is expected (replay), and, where the device counts the
requests it answers, the requests and exceptions beyond ours (a scan, a
flood). After a baseline period (10 min by default) an IsolationForest is
trained with scikit-learn and evaluated by onnxruntime as one tree-ensemble
node (scikit-learn's own scoring costs ~10 ms a sample, this a few hundredths
of a millisecond); its score and the per-feature z-scores combine into
one score 0..1, calibrated so that the baseline's 99th percentile maps to
0.3. Each score names the feature that drove it. Before a baseline exists
the score is unknown (None), never 0.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = (
    "requests",
    "exceptions",
    "timeouts",
    "latency_ms",
    "bytes_received",
    "foreign_write",
    "physics_violation",
    "frozen",
    "foreign_requests",
    "foreign_exceptions",
)
EULER_GAMMA = 0.5772156649015329
CALIBRATED_P99 = 0.3
# Std floors per feature, in its own units: a feature that never moved in the baseline (an
# exception, a foreign write) makes one occurrence count as 10 standard deviations.
# Latency has a 1 ms floor and timeouts and exceptions 0.34 and 0.25, so that one network
# hiccup is a warning, not an alarm: two in one window, or a latency 6 ms off, are. Another
# master's requests (seen in the device's counters) alarm from five in a window.
Z_FLOOR = (0.5, 0.25, 0.34, 1.0, 32.0, 0.1, 0.05, 0.1, 1.0, 0.34)
COUNTER_MODULO = 2**32
LATENCY_WINDOWS = 3


def average_path_length(n: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """c(n): the average path length of an unsuccessful search in a binary tree of n points."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + EULER_GAMMA) - 2.0 * (n[big] - 1.0) / n[big]
    return out


@dataclass
class FastForest:
    """A fitted IsolationForest flattened into arrays (as saved), scored one sample at a time."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    feature: npt.NDArray[np.int64]
    threshold: npt.NDArray[np.float64]
    leaf_value: npt.NDArray[np.float64]
    max_depth: int
    normaliser: float

    @classmethod
    def from_sklearn(cls, forest: Any) -> FastForest:
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
        return cls(left, right, feature, threshold, leaf_value, max_depth, normaliser)

    def __post_init__(self) -> None:
        self._session: Any = None
        self._input = np.zeros((1, len(FEATURES)), dtype=np.float32)
        self._feed = {"x": self._input}

    def onnx_model(self) -> bytes:
        """The whole forest as one ONNX TreeEnsembleRegressor node summing the path lengths."""
        from onnx import TensorProto, helper

        trees, size = self.left.shape
        nodes: dict[str, list[Any]] = {
            k: [] for k in ("tree", "node", "feature", "value", "mode", "true", "false")
        }
        targets: dict[str, list[Any]] = {k: [] for k in ("tree", "node", "weight")}
        for t in range(trees):
            for n in range(size):
                leaf = self.left[t, n] == -1
                nodes["tree"].append(t)
                nodes["node"].append(n)
                nodes["feature"].append(0 if leaf else int(self.feature[t, n]))
                nodes["value"].append(0.0 if leaf else float(self.threshold[t, n]))
                nodes["mode"].append("LEAF" if leaf else "BRANCH_LEQ")
                nodes["true"].append(0 if leaf else int(self.left[t, n]))
                nodes["false"].append(0 if leaf else int(self.right[t, n]))
                if leaf:
                    targets["tree"].append(t)
                    targets["node"].append(n)
                    targets["weight"].append(float(self.leaf_value[t, n]))
        ensemble = helper.make_node(
            "TreeEnsembleRegressor",
            ["x"],
            ["path_length"],
            domain="ai.onnx.ml",
            n_targets=1,
            aggregate_function="SUM",
            post_transform="NONE",
            nodes_treeids=nodes["tree"],
            nodes_nodeids=nodes["node"],
            nodes_featureids=nodes["feature"],
            nodes_values=nodes["value"],
            nodes_modes=nodes["mode"],
            nodes_truenodeids=nodes["true"],
            nodes_falsenodeids=nodes["false"],
            target_treeids=targets["tree"],
            target_nodeids=targets["node"],
            target_ids=[0] * len(targets["tree"]),
            target_weights=targets["weight"],
        )
        graph = helper.make_graph(
            [ensemble],
            "intrusion-forest",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, len(FEATURES)])],
            [helper.make_tensor_value_info("path_length", TensorProto.FLOAT, [None, 1])],
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
        )
        model.ir_version = 8
        blob: bytes = model.SerializeToString()
        return blob

    def prepare(self) -> FastForest:
        """Build the inference session (~0.2 s): at fit or load time, not on the first score."""
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                self.onnx_model(), options, providers=["CPUExecutionProvider"]
            )
        return self

    def anomaly(self, x: npt.NDArray[np.float64]) -> float:
        """scikit-learn's ``-score_samples``: about 0.5 for normal points, towards 1 for outliers."""
        self.prepare()
        self._input[0, :] = x  # trees split float32 values, as scikit-learn's do
        depth = float(self._session.run(None, self._feed)[0][0, 0])
        anomaly: float = 2.0 ** (-depth / self.normaliser)
        return anomaly


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
    forest: FastForest
    forest_p99: float
    forest_max: float

    @classmethod
    def fit(
        cls, baseline: npt.NDArray[np.float64], seed: int = 0, trees: int = 64
    ) -> IntrusionModel:
        from sklearn.ensemble import IsolationForest  # training only: scoring needs numpy

        if len(baseline) < 30:
            raise ValueError(f"a baseline needs at least 30 windows, got {len(baseline)}")
        mean = baseline.mean(axis=0)
        std = np.maximum(baseline.std(axis=0), np.asarray(Z_FLOOR))
        forest = IsolationForest(
            n_estimators=trees, max_samples=min(256, len(baseline)), random_state=seed
        )
        forest.fit(baseline)
        fast = FastForest.from_sklearn(forest).prepare()
        raw = np.array([fast.anomaly(row) for row in baseline])
        p99 = float(np.percentile(raw, 99))
        return cls(mean, std, fast, p99, max(float(raw.max()), p99 + 1e-6))

    def score(self, x: npt.NDArray[np.float64]) -> Score:
        # Plain floats from here: numpy scalars cost a microsecond per operation.
        z = ((np.asarray(x, dtype=np.float64) - self.mean) / self.std).tolist()
        raw = self.forest.anomaly(x)
        # The forest's raw score, calibrated: the baseline's p99 is 0.3, its maximum 0.5, and
        # beyond that it climbs towards 1.
        if raw <= self.forest_p99:
            forest = CALIBRATED_P99 * raw / self.forest_p99
        else:
            forest = CALIBRATED_P99 + 0.2 * (raw - self.forest_p99) / (
                self.forest_max - self.forest_p99
            )
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
            forest = FastForest(
                d["left"],
                d["right"],
                d["feature"],
                d["threshold"],
                d["leaf_value"],
                int(meta[0]),
                float(meta[1]),
            )
            return cls(d["mean"], d["std"], forest, float(meta[2]), float(meta[3]))


@dataclass
class WindowFeatures:
    """Builds one feature vector per poll window of one device."""

    capacity_kwh: float = 200.0
    frozen_window: int = 3
    written: list[float] = field(default_factory=list)  # the last setpoints this gateway wrote
    _last: dict[str, float] | None = None
    _last_ts: float | None = None
    _latencies: list[float] = field(default_factory=list)
    _history: list[tuple[float, ...]] = field(default_factory=list)
    _counters: tuple[float, float] | None = None
    _balance: tuple[float, float] = (0.0, 0.0)

    def note_write(self, value_kw: float) -> None:
        self.written = [*self.written[-3:], value_kw]

    def vector(
        self,
        roles: dict[str, float | None],
        ts: float,
        traffic: list[Any],
    ) -> npt.NDArray[np.float64]:
        # The poll's reads are the steady pattern; this gateway's own writes (setpoints,
        # heartbeats and their read-backs) come when it decides, so they are left out of
        # the counts, but every exception and timeout counts.
        reads = [r for r in traffic if not r.is_write and not r.read_back]
        requests = len(reads)
        exceptions = sum(1 for r in traffic if r.outcome.value == "exception")
        timeouts = sum(1 for r in traffic if r.outcome.value in ("timeout", "error"))
        mean_latency = float(np.mean([r.latency_s for r in reads])) * 1000 if reads else 0.0
        # Sustained latency: the lowest of this window's and the two before. One or two slow
        # windows are the edge computer busy (a stall of the loop, a neighbour on a shared
        # host); a device slowed by someone else's traffic stays slow.
        self._latencies = [*self._latencies[-(LATENCY_WINDOWS - 1) :], mean_latency]
        latency = min(self._latencies)
        received = float(sum(r.bytes_received for r in reads))
        foreign = 0.0
        setpoint = roles.get("setpoint_power_kw")
        ours = self.written or [0.0]
        if setpoint is not None and all(abs(setpoint - w) > 0.5 for w in ours):
            foreign = 1.0  # the device holds a setpoint this gateway did not write
        physics = 0.0
        soc, power = roles.get("soc_pct"), roles.get("active_power_kw")
        if (
            self._last is not None
            and self._last_ts is not None
            and soc is not None
            and power is not None
        ):
            dt = ts - self._last_ts
            previous_soc = self._last.get("soc_pct")
            if dt > 0 and previous_soc is not None:
                # Energy balance with a generous efficiency band; what is left over is unexplained.
                expected = -power * dt / 3600.0 / self.capacity_kwh * 100.0
                observed = soc - previous_soc
                physics = max(0.0, abs(observed - expected) - abs(expected) * 0.2 - 0.02)
        keys = ("active_power_kw", "pack_voltage_v", "battery_temp_c")
        current = tuple(float(roles.get(k) or math.nan) for k in keys)
        self._history = [*self._history[-(self.frozen_window - 1) :], current]
        frozen = 0.0
        if len(self._history) == self.frozen_window:
            # A coarse register (0.1 °C) may sit still; all three at once, noise and all, do not.
            frozen = float(all(len({h[i] for h in self._history}) == 1 for i in range(len(keys))))
        foreign_requests, foreign_exceptions = self._foreign(roles, len(traffic), exceptions)
        self._last = {k: v for k, v in roles.items() if v is not None}
        self._last_ts = ts
        return np.array(
            [
                requests, exceptions, timeouts, latency, received, foreign, physics, frozen,
                foreign_requests, foreign_exceptions,
            ],
            dtype=np.float64,
        )  # fmt: skip

    def _foreign(
        self, roles: dict[str, float | None], ours: int, our_exceptions: int
    ) -> tuple[float, float]:
        """Requests and exceptions the device counted beyond ours: another master's traffic.

        The counters are read mid-poll, so a write of ours can land on either side
        of a counter read; a shortfall is carried to the next window (at most 5)
        instead of being taken as an excess there.
        """
        requests, excs = roles.get("request_count"), roles.get("exception_count")
        if requests is None:
            return 0.0, 0.0
        now = (requests, excs if excs is not None else 0.0)
        last, self._counters = self._counters, now
        if last is None:
            return 0.0, 0.0
        deltas = []
        for value, before in zip(now, last, strict=True):
            if value < before and before < COUNTER_MODULO - 1_000_000:
                self._balance = (0.0, 0.0)
                return 0.0, 0.0  # the device restarted: its counters began again
            deltas.append((value - before) % COUNTER_MODULO)
        out = []
        balances = []
        for delta, mine, carried in zip(deltas, (ours, our_exceptions), self._balance, strict=True):
            balance = carried + delta - mine
            out.append(max(0.0, balance))
            balances.append(max(-5.0, min(0.0, balance)))
        self._balance = (balances[0], balances[1])
        return out[0], out[1]


@dataclass(frozen=True)
class IntrusionScored:
    device: str
    ts: float
    score: float
    driver: str


class IntrusionDetector:
    """Learns a baseline per device, then scores every poll window; feeds alarms and the interlock."""

    def __init__(
        self,
        bus: Any,
        data_dir: Path,
        *,
        baseline_s: float = 600.0,
        alarm_threshold: float = 0.7,
        capacity_kwh: float = 200.0,
        on_score: Any = None,
    ) -> None:
        from bessai.core.control import SetpointRequested
        from bessai.core.events import SampleTaken

        self.bus = bus
        self.data_dir = data_dir
        self.baseline_s = baseline_s
        self.alarm_threshold = alarm_threshold
        self.capacity_kwh = capacity_kwh
        self.on_score = on_score
        self.models: dict[str, IntrusionModel] = {}
        self.scores: dict[str, Score] = {}
        self._features: dict[str, WindowFeatures] = {}
        self._traffic: dict[str, list[Any]] = {}
        self._baseline: dict[str, list[npt.NDArray[np.float64]]] = {}
        self._baseline_started: dict[str, float] = {}
        self._fitting: set[str] = set()
        self.tasks: set[Any] = set()
        bus.subscribe(SampleTaken, self._on_sample)
        bus.subscribe(SetpointRequested, lambda e: self._writer(e.device).note_write(e.value_kw))

    def path(self, device: str) -> Path:
        return self.data_dir / f"ids-{device}.npz"

    def attach(self, device: Any) -> None:
        """Watch a ModbusDevice's traffic; load its saved baseline if there is one."""
        self._traffic[device.name] = []
        device.traffic_listeners.append(lambda rec: self._traffic[device.name].append(rec))
        if self.path(device.name).exists():
            model = IntrusionModel.load(self.path(device.name))
            if model.mean.shape == (len(FEATURES),):
                model.forest.prepare()
                self.models[device.name] = model
            else:
                log.warning(
                    "intrusion baseline %s has %d features, this version %d: learning a new one",
                    self.path(device.name),
                    model.mean.shape[0],
                    len(FEATURES),
                )

    def _writer(self, device: str) -> WindowFeatures:
        return self._features.setdefault(device, WindowFeatures(capacity_kwh=self.capacity_kwh))

    def score(self, device: str) -> float | None:
        current = self.scores.get(device)
        return None if current is None else current.value

    def _on_sample(self, event: Any) -> None:
        import asyncio

        s = event.sample
        traffic, self._traffic[s.device] = self._traffic.get(s.device, []), []
        vector = self._writer(s.device).vector(s.roles, s.ts, traffic)
        model = self.models.get(s.device)
        if model is None:
            started = self._baseline_started.setdefault(s.device, s.ts)
            windows = self._baseline.setdefault(s.device, [])
            windows.append(vector)
            if (
                s.ts - started >= self.baseline_s
                and len(windows) >= 30
                and s.device not in self._fitting
            ):
                self._fitting.add(s.device)
                task = asyncio.get_running_loop().create_task(
                    self._fit(s.device, np.array(windows))
                )
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            return
        score = model.score(vector)
        self.scores[s.device] = score
        self.bus.publish(IntrusionScored(s.device, s.ts, score.value, score.driver))
        if self.on_score is not None:
            self.on_score(s.device, score)

    async def _fit(self, device: str, windows: npt.NDArray[np.float64]) -> None:
        import asyncio

        try:
            model = await asyncio.to_thread(IntrusionModel.fit, windows)
            await asyncio.to_thread(model.save, self.path(device))
            self.models[device] = model
        finally:
            self._fitting.discard(device)

    def summary(self, lockout: float) -> dict[str, object]:
        devices = {
            name: (
                {"state": "learning", "score": None}
                if name not in self.models
                else {
                    "state": "scoring",
                    "score": None if name not in self.scores else round(self.scores[name].value, 4),
                    "driver": None if name not in self.scores else self.scores[name].driver,
                }
            )
            for name in self._traffic
        }
        scored = [d["score"] for d in devices.values() if d.get("score") is not None]
        return {
            "state": "scoring" if scored else ("learning" if devices else "unknown"),
            "score": max(scored) if scored else None,  # type: ignore[type-var]
            "alarm_threshold": self.alarm_threshold,
            "lockout_threshold": lockout,
            "devices": devices,
        }
