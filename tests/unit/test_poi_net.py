"""The POI's net pairs the meter's reading with the inverters' power of the same moment.

A meter sample one second old, taken while the batteries were still ramping, must be
paired with what the batteries delivered then: adding the power of now put the
export limit off by the ramp (110 kW computed instead of 60, found by the plant machine).
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bessai.core.alarms.manager import AlarmManager
from bessai.core.config.plant import PlantTopology
from bessai.core.guard.safety import Telemetry
from bessai.core.plant.site_control import SiteController
from bessai.core.polling.scheduler import DeviceStatus
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import Quality, Sample


class Inverter(SimpleNamespace):
    """What the POI clamp reads of an inverter: its latest telemetry."""

    telemetry: Telemetry


def _site(meter: DeviceStatus, inverters: dict[str, Inverter]) -> SiteController:
    topology = PlantTopology(
        inverters={n: () for n in inverters},
        meters=("poi",),
        poi_meter="poi",
        export_limit_kw=50.0,
        import_limit_kw=100.0,
    )
    return SiteController(
        topology=topology,
        controllers=cast(Any, inverters),
        status_of=lambda name: meter if name == "poi" else None,
        alarms=AlarmManager(EventBus()),
        capacity_of=lambda _: 100.0,
    )


def _meter(ts: float, grid_kw: float) -> DeviceStatus:
    status = DeviceStatus("poi", "127.0.0.1:502", "sim_meter", 1.0, up=True)
    status.last_sample = Sample("poi", ts, {}, {"grid_power_kw": grid_kw}, Quality.GOOD)
    status.sample_mono = time.monotonic() - (time.time() - ts)
    return status


def test_the_meter_reading_is_paired_with_the_batteries_of_its_own_moment() -> None:
    now = time.time()
    # Load 10 kW, no PV: the meter read +10 kW import at now-1 with the batteries at 0;
    # the batteries then ramped to 2 x 32 kW, which the meter has not seen yet.
    a = Inverter(telemetry=Telemetry(ts=now - 2.0, active_power_kw=0.0))
    b = Inverter(telemetry=Telemetry(ts=now - 2.0, active_power_kw=0.0))
    meter = _meter(now - 1.0, 10.0)  # 10 kW drawn from the grid
    site = _site(meter, {"a": a, "b": b})
    site._poi_range(now - 1.5)  # one cycle with the batteries at 0 is remembered
    a.telemetry = Telemetry(ts=now - 0.2, active_power_kw=32.0)
    b.telemetry = Telemetry(ts=now - 0.2, active_power_kw=32.0)
    lo, hi, limited = site._poi_range(now)
    assert limited is None
    # The site's own net is its 10 kW load: the batteries may cover it and export 50 kW
    # (not 10 + 64 + 50, which pairing the meter with the power of now gave).
    assert hi == pytest.approx(60.0)
    assert lo == pytest.approx(10.0 - 100.0)


def test_with_no_older_power_kept_the_oldest_known_is_used() -> None:
    now = time.time()
    a = Inverter(telemetry=Telemetry(ts=now - 0.1, active_power_kw=20.0))
    site = _site(_meter(now - 1.0, 10.0), {"a": a})
    lo, hi, _ = site._poi_range(now)
    # Nothing older than the meter's sample is known: the oldest power kept (20 kW) it is.
    assert hi == pytest.approx(10.0 + 20.0 + 50.0)
    assert lo == pytest.approx(10.0 + 20.0 - 100.0)
