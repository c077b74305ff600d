"""A gateway restarted on its DATA_DIR: a trip whose cause holds keeps its raise time and its
acknowledgement, one whose cause went clears at the first look, and a device taken off the
site takes its alarms with it (real simulators on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bessai.core.alarms.manager import AlarmState
from bessai.core.config.settings import DeviceConfig
from bessai.core.guard.safety import SafetyLimits
from bessai.core.observe.health import alarm_json
from bessai.core.site.gateway import Gateway
from tests.helpers import until

#: The simulator's battery (about 25 °C) is over these limits from its first sample.
HOT = SafetyLimits(temp_warning_c=10.0, temp_trip_c=15.0, temp_derate_band_c=1.0)


def device(name: str) -> DeviceConfig:
    return DeviceConfig(name=name, profile="sim_bess", simulated=True, poll_interval_s=0.1)


@asynccontextmanager
async def gateway(data: Path, names: list[str], limits: SafetyLimits) -> AsyncIterator[Gateway]:
    gw = Gateway("restart", [device(n) for n in names], data_dir=data, limits=limits)
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


async def test_alarm_times_and_actors_survive_a_restart(tmp_path: Path) -> None:
    async with gateway(tmp_path, ["a", "b"], HOT) as gw:
        await until(
            lambda: all(gw.alarms.get("safety_trip", n).active for n in "ab"), 5, "both trip"
        )
        gw.alarms.acknowledge("a/safety_trip", "olga", "seen on site")
        raised = {n: gw.alarms.get("safety_trip", n).raised_at for n in "ab"}

    async with gateway(tmp_path, ["a"], HOT) as gw:
        trip = gw.alarms.get("safety_trip", "a")
        assert trip.raised_at == raised["a"]
        assert (trip.acked_by, trip.ack_comment) == ("olga", "seen on site")
        await until(lambda: not gw.alarms.get("safety_trip", "a").restored, 5, "confirmed")
        trip = gw.alarms.get("safety_trip", "a")
        assert (trip.state, trip.raised_at) == (AlarmState.ACTIVE_ACK, raised["a"])
        assert alarm_json(trip)["since"] == raised["a"]
        # b is no longer on the site: its trip went with it, on the record.
        assert all(a.source != "b" for a in gw.alarms.active(include_shelved=True))

    async with gateway(tmp_path, ["a"], SafetyLimits()) as gw:
        await until(lambda: not gw.alarms.get("safety_trip", "a").active, 5, "cleared")
        assert gw.alarms.get("safety_trip", "a").state is AlarmState.NORMAL  # it was acked
        assert gw.alarms.active() == []
