"""The plant controlled as one site, against the coupled plant simulator on 127.0.0.1.

Two PCS, each driving the rack of its BMS, and the POI meter; the gateway
guards each PCS by its BMS across the link and splits one site setpoint among
them. Faults go on the SECOND rack (bms2) unless the test says otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher

from bessai.core.config.plant import SiteSettings, plant_topology
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import Reason
from bessai.core.site.gateway import Gateway
from bessai.core.site.simulated import TWO_PCS_LIMITS, start_simulated_plant
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.simulator.plant import PlantSimulator
from tests.helpers import until

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
LIMITS = TWO_PCS_LIMITS


class Rig:
    def __init__(self, sim: PlantSimulator, gw: Gateway, operator: Session) -> None:
        self.sim, self.gw, self.operator = sim, gw, operator

    def power(self, name: str) -> float:
        return self.gw.controllers[name].telemetry.active_power_kw or 0.0

    def total(self) -> float:
        return self.power("pcs1") + self.power("pcs2")

    def grid(self) -> float | None:
        sample = self.gw.pollers["poi"].status.last_sample
        return None if sample is None else sample.roles.get("grid_power_kw")


async def _rig(
    tmp_path: Path, site: SiteSettings, **plant: float
) -> tuple[PlantSimulator, Gateway, Session]:
    sim, devices = await start_simulated_plant(
        seed=5,
        step_hz=20.0,
        load_kw=plant.get("load_kw", 30.0),
        pv_kw=plant.get("pv_kw", 0.0),
        timeout_s=0.3,
    )
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
    gw = Gateway(
        "cl-plant-test",
        devices,
        data_dir=tmp_path,
        auth=auth,
        limits=LIMITS,
        health_port=0,
        control_interval_s=0.2,
        ids_enabled=False,
        plant=plant_topology(devices, site),
    )
    await gw.start()
    operator = await auth.login("olga", "314159")
    return sim, gw, operator


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim, gw, operator = await _rig(tmp_path, SiteSettings(poi_meter="poi", ramp_kw_per_s=100.0))
    try:
        await until(lambda: all(p.status.up for p in gw.pollers.values()), 10.0, "all up")
        yield Rig(sim, gw, operator)
    finally:
        await gw.stop()
        await sim.stop()


async def _site_manual(rig: Rig, setpoint_kw: float) -> None:
    commands = rig.gw.commands
    await until(
        lambda: not rig.gw.controllers["pcs2"].current_interlocks(time.time()), 10.0, "no interlock"
    )
    mode = await commands.set_mode(rig.operator, ControlMode.MANUAL, "site")
    assert mode.ok, mode.message_en
    result = await commands.command_setpoint(rig.operator, setpoint_kw, "site")
    assert result.ok, result.message_en


@pytest.mark.slow
async def test_a_site_setpoint_is_split_by_soc_and_delivered_at_the_poi(rig: Rig) -> None:
    rig.sim.set_soc("bms1", 80.0)
    rig.sim.set_soc("bms2", 40.0)
    await asyncio.sleep(0.6)
    await _site_manual(rig, 60.0)
    await until(lambda: abs(rig.total() - 60.0) <= 3.0, 15.0, "60 kW at the two PCS")
    p1, p2 = rig.power("pcs1"), rig.power("pcs2")
    assert p1 > p2 > 0, (p1, p2)  # the fuller battery discharges more
    # 80 % and 40 % over a 10 % floor: 70 to 30 of the energy, 42 and 18 kW.
    assert p1 == pytest.approx(42.0, abs=4.0)
    assert rig.gw.http is not None
    url = f"http://127.0.0.1:{rig.gw.http.port}/health"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.json()
    site = body["site"]
    assert site["setpoint"]["p_requested_kw"] == 60.0
    assert set(site["shares_kw"]) == {"pcs1", "pcs2"}
    assert site["poi_power_kw"]["device"] == "poi"
    assert abs(site["battery_power_kw"] - 60.0) <= 3.0
    assert site["battery_limits"]["pcs2"]["bms"] == "bms2"
    # Charging: the emptier battery takes more.
    assert (await rig.gw.commands.command_setpoint(rig.operator, -40.0, "site")).ok
    await until(lambda: abs(rig.total() + 40.0) <= 3.0, 15.0, "-40 kW")
    assert rig.power("pcs2") < rig.power("pcs1") < 0


@pytest.mark.slow
async def test_a_lost_bms_link_stops_its_pcs_and_the_other_carries_its_window(rig: Rig) -> None:
    await _site_manual(rig, 60.0)
    await until(lambda: abs(rig.total() - 60.0) <= 3.0, 15.0, "60 kW")
    rig.sim.inject("bms2", "no_answer")
    lost_at = time.monotonic()
    ctl2 = rig.gw.controllers["pcs2"]
    await until(lambda: ctl2.applied_kw == 0.0, 2.5, "pcs2 at zero within 2.5 s")
    assert time.monotonic() - lost_at <= 2.5
    interlocks = ctl2.current_interlocks(time.time())
    battery = next(i for i in interlocks if i.reason is Reason.INTERLOCK_BATTERY)
    assert battery.message_en.startswith("Battery bms2:")
    assert rig.gw.alarms.get("battery_interlock", "pcs2").active
    assert rig.gw.alarms.get("comms_lost", "bms2").active  # the BMS's own link, by name
    # pcs1 carries the whole setpoint within its own window.
    await until(lambda: abs(rig.power("pcs1") - 60.0) <= 3.0, 10.0, "pcs1 carries 60 kW")
    snapshot = rig.gw.current_snapshot()
    assert snapshot.worst is not None
    assert snapshot.worst.device in ("bms2", "pcs2")


@pytest.mark.slow
async def test_a_bms_at_its_cell_temperature_limit_derates_its_pcs(rig: Rig) -> None:
    await _site_manual(rig, 160.0)
    await until(lambda: rig.total() >= 150.0, 15.0, "both near full")
    rig.sim.set_temperature("bms1", 50.0)  # its hottest cell at 52 °C: the BMS derates
    await until(lambda: rig.power("pcs1") < 70.0, 10.0, "pcs1 derated")
    window = rig.gw.controllers["pcs1"].state().window
    assert window.discharge_reason is Reason.CLAMP_BATTERY
    limiting = rig.gw.current_snapshot().limiting
    assert limiting is not None
    assert limiting[0] == "bms1"
    # The cool rack is not held back: it takes what pcs1 cannot, up to its own window.
    await until(lambda: rig.power("pcs2") > 90.0, 10.0, "pcs2 carries more")


@pytest.mark.slow
async def test_the_export_limit_holds_at_the_poi_with_pv(tmp_path: Path) -> None:
    sim, gw, operator = await _rig(
        tmp_path,
        SiteSettings(poi_meter="poi", export_limit_kw=50.0, ramp_kw_per_s=100.0),
        load_kw=30.0,
        pv_kw=120.0,
    )
    rig = Rig(sim, gw, operator)
    try:
        await until(lambda: all(p.status.up for p in gw.pollers.values()), 10.0, "all up")
        await _site_manual(rig, 100.0)
        await asyncio.sleep(6.0)
        exports = []
        for _ in range(10):
            grid = rig.grid()
            assert grid is not None
            exports.append(-grid)
            await asyncio.sleep(0.3)
        assert max(exports) <= 52.0, exports  # export at most 50 kW (+-2)
        split = gw.wiring.site.last
        assert split is not None
        assert split.limited_by == "poi_export"
        assert gw.alarms.get("site_undelivered").active
    finally:
        await gw.stop()
        await sim.stop()


@pytest.mark.slow
async def test_a_site_reactive_setpoint_is_split_within_each_apparent_power_rating(
    rig: Rig,
) -> None:
    await _site_manual(rig, 60.0)
    await until(lambda: abs(rig.total() - 60.0) <= 3.0, 15.0, "60 kW")
    result = await rig.gw.commands.command_reactive(rig.operator, 60.0, "site")
    assert result.ok, result.message_en

    def q(name: str) -> float:
        sample = rig.gw.pollers[name].status.last_sample
        return 0.0 if sample is None else sample.roles.get("reactive_power_kvar") or 0.0

    await until(lambda: abs(q("pcs1") + q("pcs2") - 60.0) <= 3.0, 10.0, "60 kvar at the PCS")
    # Active power first: at 100 kW each the 110 kVA rating leaves 45.8 kvar.
    assert (await rig.gw.commands.command_setpoint(rig.operator, 200.0, "site")).ok
    await until(lambda: rig.total() >= 190.0, 15.0, "near 200 kW")
    assert (await rig.gw.commands.command_reactive(rig.operator, 200.0, "site")).ok
    await until(lambda: abs(q("pcs1") - 45.8) <= 2.0, 10.0, "Q held to the rating")
    for name in ("pcs1", "pcs2"):
        p_kw, q_kvar = rig.power(name), q(name)
        assert p_kw**2 + q_kvar**2 <= 110.0**2 * 1.02
    rows = [r for r in rig.gw.audit.records() if r.action == "reactive_setpoint"]
    assert {r.detail["device"] for r in rows} == {"pcs1", "pcs2"}
    assert any(r.outcome == "clamped" for r in rows)
    # Any interlock zeroes Q too.
    assert (await rig.gw.commands.set_mode(rig.operator, ControlMode.STANDBY, "site")).ok
    await until(lambda: abs(q("pcs1")) + abs(q("pcs2")) < 1.0, 10.0, "Q back to zero")
