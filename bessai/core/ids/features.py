"""Window features: one vector per poll of a device, from its traffic records and its sample.

Requests, exceptions, timeouts, latency, bytes, a control register that
changed without our write (another master), SoC moving faster than the
measured power allows (physics), measurements frozen where noise is expected
(replay), and, where the device counts the requests it answers, the requests
and exceptions beyond ours (a scan, a flood).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bessai.drivers.traffic import Outcome, TrafficRecord

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
# Std floors per feature, in its own units: a feature that never moved in the baseline (an
# exception, a foreign write) makes one occurrence count as 10 standard deviations.
# Latency has a 1 ms floor and timeouts and exceptions 0.34 and 0.25, so that one network
# hiccup is a warning, not an alarm: two in one window, or a latency 6 ms off, are. Another
# master's requests (seen in the device's counters) alarm from five in a window.
Z_FLOOR = (0.5, 0.25, 0.34, 1.0, 32.0, 0.1, 0.05, 0.1, 1.0, 0.34)
COUNTER_MODULO = 2**32
LATENCY_WINDOWS = 3
# The measurements whose noise a replay freezes; an optional one counts where it is reported.
FROZEN_KEYS = ("active_power_kw", "pack_voltage_v", "battery_temp_c", "reactive_power_kvar")
OPTIONAL_FROZEN_KEYS = frozenset({"reactive_power_kvar"})


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
        traffic: list[TrafficRecord],
        stalled: Sequence[bool] = (),
    ) -> npt.NDArray[np.float64]:
        """``stalled``, beside ``traffic``: the requests on the wire while the gateway's own
        loop stalled. Their latency is partly the gateway's, so it is left out; a window
        with no other read has no latency (NaN: not measured), rather than carry one."""
        # The poll's reads are the steady pattern; this gateway's own writes (setpoints,
        # heartbeats and their read-backs) come when it decides, so they are left out of
        # the counts, but every exception and timeout counts.
        reads = [r for r in traffic if not r.is_write and not r.read_back]
        requests = len(reads)
        exceptions = sum(1 for r in traffic if r.outcome is Outcome.EXCEPTION)
        timeouts = sum(1 for r in traffic if r.outcome in (Outcome.TIMEOUT, Outcome.ERROR))
        late = (
            {id(r) for r, stall in zip(traffic, stalled, strict=True) if stall}
            if stalled
            else set()
        )
        timed = [r.latency_s for r in reads if id(r) not in late]
        latency = math.nan
        if timed or not reads:
            mean_latency = float(np.mean(timed)) * 1000 if timed else 0.0
            # Sustained latency: the lowest of this window's and the two measured before. One
            # or two slow windows are the edge computer busy (a neighbour on a shared host); a
            # device slowed by someone else's traffic stays slow.
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
        current = tuple(float(roles.get(k) or math.nan) for k in FROZEN_KEYS)
        self._history = [*self._history[-(self.frozen_window - 1) :], current]
        frozen = 0.0
        if len(self._history) == self.frozen_window:
            frozen = float(all(self._still(i) for i in range(len(FROZEN_KEYS))))
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

    def _still(self, i: int) -> bool:
        """Whether measurement ``i`` sat still over the frozen window. A coarse register (0.1
        °C) may sit still; power, voltage and temperature at once, noise and all, do not. The
        reactive power counts where the device reports it: an idle simulated battery's power
        near zero at 1 W repeats by chance, and with its coarse voltage and temperature three
        windows alike came once in 40,000 windows (seed 81, 88th step): hours on 100 devices."""
        values = [h[i] for h in self._history]
        if FROZEN_KEYS[i] in OPTIONAL_FROZEN_KEYS and all(math.isnan(v) for v in values):
            return True  # not reported (or exactly zero, as an idle device's often is)
        return len(set(values)) == 1

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
