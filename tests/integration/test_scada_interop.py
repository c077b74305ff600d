"""The outstation (lib60870 through c104) against a master of another implementation: scapy's.

The issue's Done-means: STARTDT, a station interrogation that reads the default points as
/metrics reports them, then 2101 ON and 2001 = 5.0 confirmed positively and +5 kW at the
battery in /metrics within 10 s in Remote; in Local the same setpoint confirmed negatively.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.integration.iec104_scapy_master import (
    COT_INTERROGATED,
    FLOAT_TYPES,
    SINGLE_POINT_TYPES,
    ScapyMaster,
)
from tests.integration.test_scada import CA, Rig, scada_site


async def _connected(rig: Rig) -> ScapyMaster:
    master = ScapyMaster(CA)
    await master.connect(rig.port)
    return master


async def test_another_stacks_master_reads_and_commands_the_site_in_remote(
    tmp_path: Path,
) -> None:
    async with scada_site(tmp_path, authority="remote") as rig:
        master = await _connected(rig)
        try:
            points = await master.interrogate()
            metrics = await rig.metrics()
            on = await master.single_command(2101, True)
            setpoint = await master.setpoint(2001, 5.0)
            sent_at = time.monotonic()
            followed_s: float | None = None
            while time.monotonic() - sent_at < 10.0:
                now = await rig.metrics()
                if abs(now["bessai_active_power_watts"] / 1000 - 5.0) <= 1.0:
                    followed_s = time.monotonic() - sent_at
                    break
                await asyncio.sleep(0.2)
            after = await master.interrogate()
        finally:
            await master.close()
    soc_pct = metrics["bessai_battery_soc_ratio"] * 100
    assert points[1002].value == pytest.approx(soc_pct, rel=0.01)
    assert points[1002].type_id in FLOAT_TYPES
    assert (points[1002].invalid, points[1002].non_topical) == (False, False)
    assert points[3001].value is True
    assert points[3001].type_id in SINGLE_POINT_TYPES
    assert {1001, 1002, 1003, 1004, 1005, 3001, 3002, 3003, 3004, 3005} <= set(points)
    assert all(r.cot == COT_INTERROGATED for r in points.values())
    assert (on, setpoint) == (True, True)
    assert followed_s is not None, "the battery did not reach +5 kW in /metrics within 10 s"
    assert after[1005].value == pytest.approx(5.0, abs=0.01)


async def test_another_stacks_setpoint_is_refused_in_local(tmp_path: Path) -> None:
    async with scada_site(tmp_path, authority="local") as rig:
        master = await _connected(rig)
        try:
            points = await master.interrogate()
            setpoint = await master.setpoint(2001, 5.0)
            await asyncio.sleep(1.0)
            metrics = await rig.metrics()
        finally:
            await master.close()
        power_kw = rig.sim.model.power_kw
    assert points[3001].value is False
    assert setpoint is False
    assert metrics["bessai_active_power_watts"] / 1000 == pytest.approx(0.0, abs=0.5)
    assert power_kw == pytest.approx(0.0, abs=0.5)


async def test_the_summary_names_the_started_master_of_a_redundancy_group(
    tmp_path: Path,
) -> None:
    async with scada_site(tmp_path, authority="remote") as rig:
        first = await _connected(rig)
        for _ in range(50):  # the outstation sees the first started before the standby comes
            if rig.outstation.active_connections == 1:
                break
            await asyncio.sleep(0.1)
        second = ScapyMaster(CA)
        try:
            await second.open(rig.port)  # connected, not started: the group's standby
            await asyncio.sleep(1.5)  # past the outstation's grace for a fresh connection
            both = rig.outstation.summary()
            await first.close()
            for _ in range(50):
                if rig.outstation.summary()["open_connections"] == 1:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.2)
            left = rig.outstation.summary()
        finally:
            await first.close()
            await second.close()
    assert [c["started"] for c in both["connections"]] == [True, False]
    assert both["active_since"] is not None
    assert [c["started"] for c in left["connections"]] == [False]
    assert left["active_since"] is None
