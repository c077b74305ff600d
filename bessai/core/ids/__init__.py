"""Intrusion detection on the Modbus link: window features, a baseline, an IsolationForest and z-scores.

Each poll of a device is a window (``features``). After a baseline period (10
min by default) an IsolationForest is grown with numpy (``grow``: the forest
scikit-learn grows, which the tests keep as the reference), in short steps on
the event loop, one device at a time, and kept as compact arrays (``forest``);
its score and the per-feature z-scores combine into one score 0..1 (``model``),
calibrated so that the baseline's 99th percentile maps to 0.3, naming the
feature that drove it. The detector (``detector``) learns and scores every
device and feeds the alarm and the interlock; the latency of a request on the
wire while the gateway's own loop stalled (``runtime.loop_lag``) is left out:
a window with no other read has no latency (NaN, not a value held from an
earlier window), the baseline's statistics are those of the measured windows,
and a feature measured in too few of them is not scored. A device's first
windows (incomplete, and the start's transients) are not part of its baseline.
Before a baseline exists the score is unknown (None), never 0.
"""

from bessai.core.ids.detector import IntrusionDetector, IntrusionScored
from bessai.core.ids.features import FEATURES, WindowFeatures
from bessai.core.ids.forest import CompactForest
from bessai.core.ids.model import IntrusionModel, Score

__all__ = [
    "FEATURES",
    "CompactForest",
    "IntrusionDetector",
    "IntrusionModel",
    "IntrusionScored",
    "Score",
    "WindowFeatures",
]
