"""The site controller: one setpoint for the batteries' contribution, split among the inverters.

Every control cycle the site's setpoint (an operator's Manual setpoint for
the site) is ramped at the site's ramp limit, clamped so that the POI meter
stays within the grid connection's export and import limits with the site's
own PV and load, and split among the inverters that follow the site in
proportion to the energy each can deliver in that direction (the fuller
battery discharges more, the emptier charges more), each within its own
window. A lost or interlocked inverter's share moves to the others within
their windows; what none can take is not delivered, and the split says so.
While the POI meter's reading is not trusted the last trusted one holds for
``meter_hold_s``, then discharge is held at zero (no export without a meter).
Each inverter's guard still has the last word on its share.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bessai.core.alarms.catalogue import PLANT_ALARMS
from bessai.core.alarms.manager import AlarmManager
from bessai.core.config.plant import PlantTopology
from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode
from bessai.core.polling.scheduler import DeviceStatus

log = logging.getLogger(__name__)

#: Below this the site counts as delivering what it was asked.
DELIVERY_TOLERANCE_KW = 1.0


@dataclass(frozen=True)
class Candidate:
    """One inverter that follows the site: its window now and the energy behind it."""

    name: str
    min_kw: float
    max_kw: float
    energy_kwh: float


def split(total_kw: float, candidates: list[Candidate]) -> dict[str, float]:
    """Shares of ``total_kw`` in proportion to each candidate's energy, each inside its window;
    what a full one cannot take goes to the others (water filling)."""
    shares = {c.name: 0.0 for c in candidates}
    free = [c for c in candidates if (c.max_kw if total_kw > 0 else -c.min_kw) > 0]
    left = total_kw
    while free and abs(left) > 1e-9:
        weights = {c.name: max(0.0, c.energy_kwh) for c in free}
        total_w = sum(weights.values())
        if total_w <= 0:
            weights = {c.name: 1.0 for c in free}
            total_w = float(len(free))
        clamped = []
        for c in free:
            want = shares[c.name] + left * weights[c.name] / total_w
            bounded = min(c.max_kw, max(c.min_kw, want))
            if bounded != want:
                clamped.append(c)
            shares[c.name] = bounded
        left = total_kw - sum(shares.values())
        if not clamped:
            break
        free = [c for c in free if c not in clamped]
    return shares


@dataclass(frozen=True)
class SiteSplit:
    """The site controller's last decision, for the snapshot, /health and the screen."""

    requested_kw: float
    target_kw: float
    allowed_min_kw: float
    allowed_max_kw: float
    shares_kw: Mapping[str, float]
    limited_by: str | None  # poi_export, poi_import, poi_meter_unknown, windows, ramp, None
    detail: str = ""

    @property
    def delivered_kw(self) -> float:
        return sum(self.shares_kw.values())


@dataclass
class SiteController:
    """Holds the site's setpoint and hands each following inverter its share every cycle."""

    topology: PlantTopology
    controllers: Mapping[str, Controller]
    status_of: Callable[[str], DeviceStatus | None]
    alarms: AlarmManager
    capacity_of: Callable[[str], float]
    interval_s: float = 0.5
    meter_hold_s: float = 10.0
    meter_max_age_s: float = 3.0
    clock: Callable[[], float] = time.time
    requested_kw: float | None = None
    members: set[str] = field(default_factory=set)
    last: SiteSplit | None = None
    _target_kw: float = 0.0
    _at: float | None = None
    _meter: tuple[float, float, float] | None = None  # grid kW, battery sum kW, when
    # Each inverter's recent (sample time, kW): the battery sum paired with the meter's
    # reading is the one of the meter sample's moment, not of now (they ramp between).
    _powers: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for definition in PLANT_ALARMS:  # its own alarms, whoever built it
            self.alarms.define(definition)

    @property
    def active(self) -> bool:
        return self.requested_kw is not None

    def command(self, setpoint_kw: float, members: list[str]) -> None:
        """The operator's site setpoint; these inverters follow it from now on."""
        self.requested_kw = setpoint_kw
        self.members = set(members)

    def release(self, name: str | None = None) -> None:
        """The site setpoint ends: a device was commanded on its own (``name``), or the site's
        mode changed. Each device keeps the share it had as its own setpoint: nothing moves
        by itself."""
        if name is None or name in self.members:
            self.requested_kw, self.members, self._target_kw = None, set(), 0.0

    def _energy(self, controller: Controller, discharging: bool) -> float:
        t, lim = controller.telemetry, controller.guard.limits
        if t.soc_pct is None:
            return 0.0
        fullest = t.soc_pct if t.soc_max_pct is None else t.soc_max_pct
        pct = t.soc_pct - lim.soc_floor_pct if discharging else lim.soc_ceiling_pct - fullest
        return max(0.0, pct) / 100 * self.capacity_of(controller.device.name)

    def candidates(
        self, chosen: Mapping[str, Controller], discharging: bool, now: float
    ) -> list[Candidate]:
        """Each inverter's window now and the energy it can deliver in that direction."""
        found = []
        for name, c in chosen.items():
            window = c.state(now).window
            found.append(
                Candidate(name, window.min_kw, window.max_kw, self._energy(c, discharging))
            )
        return found

    def _poi_range(self, now: float) -> tuple[float, float, str | None]:
        """The battery sum that keeps the POI within its limits (-inf..inf with no meter)."""
        poi = self.topology.poi_meter
        export, imp = self.topology.export_limit_kw, self.topology.import_limit_kw
        if poi is None or (export is None and imp is None):
            return -math.inf, math.inf, None
        status = self.status_of(poi)
        sample = None if status is None or not status.up else status.last_sample
        grid = None if sample is None else sample.roles.get("grid_power_kw")
        age = None if status is None else status.sample_age_mono_s()
        if age is None and sample is not None:
            age = now - sample.ts
        fresh = age is not None and age <= self.meter_max_age_s
        mono = time.monotonic()
        battery = self._battery_at(None if sample is None else sample.ts)
        trusted = grid is not None and fresh and math.isfinite(grid) and battery is not None
        self.alarms.update("poi_meter_unknown", not trusted, "" if trusted else str(poi))
        if trusted:
            assert grid is not None
            assert battery is not None
            self._meter = (grid, battery, mono)
        elif self._meter is None or mono - self._meter[2] > self.meter_hold_s:
            # No trusted reading for too long: no discharge that could export unmeasured.
            return -math.inf, 0.0, "poi_meter_unknown"
        grid, battery, _ = self._meter
        site_net = grid + battery  # the site's own load less its PV
        lo = -math.inf if imp is None else site_net - imp
        hi = math.inf if export is None else site_net + export
        return lo, hi, None

    def _battery_at(self, ts: float | None) -> float | None:
        """The inverters' summed power as of the meter sample taken at ``ts``: each one's
        latest sample not after it (its oldest kept if all are newer); None if one is unknown."""
        total = 0.0
        for name, c in self.controllers.items():
            t = c.telemetry
            history = self._powers.setdefault(name, deque(maxlen=64))
            if t.active_power_kw is None:
                history.clear()
                return None
            if t.ts is None or ts is None:
                total += t.active_power_kw
                continue
            if not history or history[-1][0] != t.ts:
                history.append((t.ts, t.active_power_kw))
            before = [kw for at, kw in history if at <= ts]
            total += before[-1] if before else history[0][1]
        return total

    def step(self, now: float | None = None) -> SiteSplit | None:
        """One cycle: ramp, POI clamp, split; hand each following inverter its share."""
        now = self.clock() if now is None else now
        if self.requested_kw is None:
            return None
        following = {
            n: c
            for n, c in self.controllers.items()
            if n in self.members and c.mode is ControlMode.MANUAL
        }
        if not following:
            self.release()
            return None
        requested = self.requested_kw
        target, limited = requested, None
        ramp = self.topology.ramp_kw_per_s
        mono = time.monotonic()
        if ramp is not None and self._at is not None:
            step = ramp * max(0.0, mono - self._at)
            # Toward zero at once; away from it at the site's ramp.
            if abs(target) > abs(self._target_kw) and abs(target - self._target_kw) > step:
                target = self._target_kw + math.copysign(step, target - self._target_kw)
                limited = "ramp"
        self._at = mono
        lo, hi, meter = self._poi_range(now)
        if target > hi:
            target, limited = hi, meter or "poi_export"
        elif target < lo:
            target, limited = lo, meter or "poi_import"
        self._target_kw = target
        candidates = self.candidates(following, target >= 0, now)
        shares = split(target, candidates)
        for name, share in shares.items():
            following[name].follow_share(share)
        delivered = sum(shares.values())
        detail = ""
        if abs(delivered - target) > DELIVERY_TOLERANCE_KW:
            limited = limited or "windows"
            full = [c.name for c in candidates if shares[c.name] in (c.min_kw, c.max_kw)]
            detail = f"{delivered:.1f} of {target:.1f} kW: {', '.join(full) or 'no inverter'} at its limit"
        undelivered = abs(delivered - requested) > DELIVERY_TOLERANCE_KW
        self.alarms.update("site_undelivered", undelivered, detail or str(limited or ""))
        self.last = SiteSplit(requested, target, lo, hi, shares, limited, detail)
        return self.last

    async def run(self) -> None:
        while True:
            try:
                self.step()
            except Exception as exc:
                log.error("site split failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await asyncio.sleep(self.interval_s)
