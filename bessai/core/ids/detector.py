"""The intrusion detector: learns a baseline per device, then scores every poll window."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bessai.core.control.events import SetpointRequested
from bessai.core.ids.features import FEATURES, WindowFeatures
from bessai.core.ids.model import MIN_MEASURED, IntrusionModel, Score
from bessai.core.ids.summary import DeviceIntrusion, IntrusionSummary
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import SampleTaken
from bessai.core.runtime.loop_lag import LoopLag
from bessai.core.runtime.periodic import cancel_and_wait
from bessai.drivers.device import ModbusDevice
from bessai.drivers.traffic import TrafficRecord

log = logging.getLogger(__name__)
# Between steps of a fit (about a millisecond each), the loop is the polls' for this long.
FIT_PAUSE_S = 0.005
STALL_MARGIN_TICKS = 3
# A device's first windows are incomplete (no sample before them for physics, frozen and the
# counters; a sustained latency of fewer windows) and carry the start's transients: a hundred
# devices connecting and answering their first polls at once. The baseline begins after them.
STARTUP_WINDOWS = 3


@dataclass(frozen=True)
class IntrusionScored:
    device: str
    ts: float
    score: float
    driver: str


class IntrusionDetector:
    """Learns a baseline per device, then scores every poll window; feeds alarms and the interlock.

    Off (``enabled=False``) it watches nothing and every score stays unknown. Baselines
    are fitted one device at a time, in steps with the loop handed back between them,
    so that a hundred baselines completing together do not stall the polls; with
    ``loop_lag`` the latency of requests on the wire while the loop stalled is left out.
    """

    def __init__(
        self,
        bus: EventBus,
        data_dir: Path,
        *,
        baseline_s: float = 600.0,
        alarm_threshold: float = 0.7,
        capacity_kwh: float = 200.0,
        on_score: Callable[[str, Score], None] | None = None,
        enabled: bool = True,
        loop_lag: LoopLag | None = None,
    ) -> None:
        self.bus = bus
        self.data_dir = data_dir
        self.baseline_s = baseline_s
        self.alarm_threshold = alarm_threshold
        self.capacity_kwh = capacity_kwh
        self.on_score = on_score
        self.enabled = enabled
        self.loop_lag = loop_lag
        self.models: dict[str, IntrusionModel] = {}
        self.scores: dict[str, Score] = {}
        self._features: dict[str, WindowFeatures] = {}
        self._traffic: dict[str, list[tuple[float, TrafficRecord]]] = {}  # (ended, record)
        self._baseline: dict[str, list[npt.NDArray[np.float64]]] = {}
        self._baseline_started: dict[str, float] = {}
        self._windows_seen: dict[str, int] = {}
        self._last_ts: dict[str, float] = {}
        self._fitting: set[str] = set()
        self._fit_turn = asyncio.Lock()
        self.requests_seen = 0  # with loop_lag: requests seen, and those on the wire in a stall
        self.requests_stalled = 0
        self.tasks: set[asyncio.Task[None]] = set()
        if enabled:
            bus.subscribe(SampleTaken, self._on_sample)
            bus.subscribe(
                SetpointRequested, lambda e: self._writer(e.device).note_write(e.value_kw)
            )

    def path(self, device: str) -> Path:
        return self.data_dir / f"ids-{device}.npz"

    def attach(self, device: ModbusDevice) -> None:
        """Watch a device's traffic; load its saved baseline if there is one."""
        self._traffic[device.name] = []
        if not self.enabled:
            return
        records = self._traffic[device.name]
        clock = self.loop_lag.now if self.loop_lag is not None else time.monotonic
        device.traffic_listeners.append(lambda record: records.append((clock(), record)))
        if self.path(device.name).exists():
            model = IntrusionModel.load(self.path(device.name))
            if model.mean.shape == (len(FEATURES),):
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

    def _on_sample(self, event: SampleTaken) -> None:
        s = event.sample
        records = self._traffic.setdefault(s.device, [])
        taken = records[:]
        records.clear()  # the device's listener appends to this same list
        traffic = [record for _, record in taken]
        lag = self.loop_lag
        # A few ticks on either side of the request too: a request can wait for the loop (for
        # the GIL, under contention) between ticks that each saw only part of that wait.
        margin = STALL_MARGIN_TICKS * lag.interval_s if lag else 0.0
        stalled = (
            [lag.stalled(ended - r.latency_s - margin, ended + margin) for ended, r in taken]
            if lag
            else []
        )
        self.requests_seen += len(stalled)
        self.requests_stalled += sum(stalled)
        vector = self._writer(s.device).vector(s.roles, s.ts, traffic, stalled)
        model = self.models.get(s.device)
        self._last_ts[s.device] = s.ts
        if model is None:
            seen = self._windows_seen[s.device] = self._windows_seen.get(s.device, 0) + 1
            if seen <= STARTUP_WINDOWS:
                return
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
        try:
            async with self._fit_turn:
                steps = IntrusionModel.fitting(windows)
                while True:
                    try:
                        next(steps)
                    except StopIteration as done:
                        model: IntrusionModel = done.value
                        break
                    await asyncio.sleep(FIT_PAUSE_S)
            unscored = [f for f, std in zip(FEATURES, model.std, strict=True) if np.isinf(std)]
            if unscored:
                log.warning(
                    "intrusion baseline of %s: %s measured in fewer than %d of %d windows (the"
                    " gateway's own loop was late); not scored for this device",
                    device,
                    ", ".join(unscored),
                    MIN_MEASURED,
                    len(windows),
                )
            await asyncio.to_thread(model.save, self.path(device))
        except (OSError, ValueError, MemoryError) as exc:
            # Not fatal, and not silent: learn again from a fresh baseline.
            log.error(
                "intrusion baseline not learnt",
                extra={"device": device, "error": f"{type(exc).__name__}: {exc}"},
            )
            self._baseline.pop(device, None)
            self._baseline_started.pop(device, None)
        else:
            self.models[device] = model
            self._baseline.pop(device, None)  # its windows are in the model now
        finally:
            self._fitting.discard(device)

    async def close(self) -> None:
        """Cancel fits still running or waiting their turn (a stop does not wait for them)."""
        await cancel_and_wait(list(self.tasks))
        self.tasks.clear()

    def summary(self, lockout: float) -> IntrusionSummary:
        if not self.enabled:
            return IntrusionSummary(
                "off",
                None,
                self.alarm_threshold,
                lockout,
                {name: DeviceIntrusion("off") for name in self._traffic},
            )
        devices: dict[str, DeviceIntrusion] = {}
        for name in self._traffic:
            score = self.scores.get(name)
            if name not in self.models:
                started = self._baseline_started.get(name)
                windows = self._baseline.get(name, [])
                left = None
                if started is not None and windows:
                    # The baseline's span so far: one window per sample, at the sample's rate.
                    seen_s = self._last_ts.get(name, started) - started
                    left = round(max(0.0, self.baseline_s - seen_s), 1)
                devices[name] = DeviceIntrusion("learning", learning_left_s=left)
            else:
                devices[name] = DeviceIntrusion(
                    "scoring",
                    None if score is None else round(score.value, 4),
                    None if score is None else score.driver,
                )
        scored = [d.score for d in devices.values() if d.score is not None]
        return IntrusionSummary(
            "scoring" if scored else ("learning" if devices else "unknown"),
            max(scored) if scored else None,
            self.alarm_threshold,
            lockout,
            devices,
        )
