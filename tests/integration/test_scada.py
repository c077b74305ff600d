"""The grid operator's link: c104's Client as the master, against a gateway on the simulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from argon2 import PasswordHasher

from bessai.core.config.scada import Iec104Settings, ScadaSettings
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import SafetyLimits
from bessai.core.scada.outstation import Outstation, ScadaUnavailable
from bessai.core.site.gateway import Gateway
from bessai.core.site.scada_link import start_outstation
from bessai.core.stores.audit import AuditRecord
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import free_port, sim_device, until
from tests.integration.iec104_master import Master

CA = 47


@dataclass
class Rig:
    sim: BessSimulator
    gw: Gateway
    outstation: Outstation
    olga: Session
    port: int
    health_port: int

    async def master(self, *, muted: bool = False) -> Master:
        master = await asyncio.to_thread(Master, self.port, CA, muted=muted)
        assert await asyncio.to_thread(master.wait_open), "the master did not connect"
        return master

    async def metrics(self) -> dict[str, float]:
        """/metrics of this gateway, for the device 'bess': name -> value."""
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            text = await response.text()
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("#") or 'device="bess"' not in line:
                continue
            name, value = line.split("{", 1)[0], line.rsplit(" ", 1)[1]
            found[name] = float(value)
        return found

    async def audit(self, action: str) -> list[AuditRecord]:
        await self.gw.books.settled(2.0)
        return [r for r in self.gw.audit.records() if r.action == action]


@asynccontextmanager
async def scada_site(tmp_path: Path, **scada: Any) -> AsyncIterator[Rig]:
    """The simulator, a gateway with /metrics, an operator logged in, and the outstation."""
    iec104 = scada.pop("iec104", {})
    port = free_port()
    settings = ScadaSettings(**scada, iec104=Iec104Settings(port=port, common_address=CA, **iec104))
    sim = BessSimulator(seed=5)
    sim_port = await sim.start_tcp("127.0.0.1", 0)
    auth = AuthService(
        tmp_path / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    await auth.add_user("ana", Role.ADMIN, "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=await auth.login("ana", "271828"))
    health_port = free_port()
    gw = Gateway(
        "scada-test",
        [sim_device(sim_port)],
        data_dir=tmp_path,
        limits=SafetyLimits(),
        control_interval_s=0.1,
        auth=auth,
        health_port=health_port,
    )
    await gw.start()
    outstation: Outstation | None = None
    try:
        await until(lambda: gw.controller().telemetry.comms_up, 10.0, "the first poll")
        for attempt in range(3):
            try:
                outstation = await start_outstation(gw, settings)
                break
            except ScadaUnavailable:
                # The free port was taken by another test worker in between: another one.
                if attempt == 2:
                    raise
                port = free_port()
                settings.iec104.port = port
        assert outstation is not None
        yield Rig(sim, gw, outstation, await auth.login("olga", "314159"), port, health_port)
    finally:
        if outstation is not None:
            await outstation.stop()
        await gw.stop()
        await sim.stop()


async def test_interrogation_reports_the_default_points_as_metrics_do(tmp_path: Path) -> None:
    async with scada_site(tmp_path, authority="remote") as rig:
        master = await rig.master()
        try:
            got = await asyncio.to_thread(master.interrogate)
            metrics = await rig.metrics()
            sample = rig.gw.pollers["bess"].status.last_sample
        finally:
            await asyncio.to_thread(master.close)
    assert sample is not None
    soc_pct = metrics["bessai_battery_soc_ratio"] * 100
    assert got[1002].value == pytest.approx(soc_pct, rel=0.01)
    assert got[1001].value == pytest.approx(metrics["bessai_active_power_watts"] / 1000, abs=0.5)
    assert got[3001].value is True  # remote authority
    assert got[3003].value is False
    assert got[3004].value is False
    for ioa in (1001, 1002, 1003, 1004, 1005):
        assert (got[ioa].invalid, got[ioa].non_topical) == (False, False), ioa
    # Reactive power and frequency as the device reports them (the simulator does).
    assert got[1006].value == pytest.approx(sample.roles["reactive_power_kvar"], abs=0.5)
    assert got[1010].value == pytest.approx(sample.roles["grid_frequency_hz"], abs=0.05)
    sample_ts = got[1002].recorded_at
    assert sample_ts is not None
    assert abs(time.time() - sample_ts) < 5.0


async def test_remote_setpoint_is_followed_at_the_device_and_reported(tmp_path: Path) -> None:
    async with scada_site(tmp_path, authority="remote") as rig:
        master = await rig.master()
        try:
            on = await asyncio.to_thread(master.command, 2101, True)
            assert on, str(rig.outstation.summary())
            assert rig.gw.controller().mode is ControlMode.MANUAL
            sent_at = time.time()
            assert await asyncio.to_thread(master.command, 2001, 5.0)
            await until(
                lambda: abs(rig.sim.model.power_kw - 5.0) <= 1.0, 10.0, "+5 kW at the device"
            )
            await until(
                lambda: any(
                    f.ioa == 1001 and f.cot == "SPONTANEOUS" and abs(float(f.value) - 5.0) <= 1.0  # type: ignore[arg-type]
                    for f in master.frames
                ),
                5.0,
                "a spontaneous 1001 near +5 kW",
            )
            # The applied setpoint (1005) follows the guard's ramp: read it once it is there.
            await until(
                lambda: abs((rig.gw.controller().applied_kw or 0.0) - 5.0) < 0.01,
                10.0,
                "the applied setpoint at +5 kW",
            )
            deadline = time.monotonic() + 10.0
            while True:  # /metrics shows the last poll, a moment behind the device
                metrics = await rig.metrics()
                if abs(metrics["bessai_active_power_watts"] / 1000 - 5.0) <= 1.0:
                    break
                assert time.monotonic() < deadline, metrics["bessai_active_power_watts"]
                await asyncio.sleep(0.2)
            got = await asyncio.to_thread(master.interrogate)
        finally:
            await asyncio.to_thread(master.close)
        audit = await rig.audit("setpoint")
    spontaneous = [f for f in master.frames if f.ioa == 1001 and f.cot == "SPONTANEOUS"]
    stamp = spontaneous[-1].recorded_at
    # The time tag is the sample's, after the command and not in the future.
    assert stamp is not None
    assert sent_at - 0.5 <= stamp <= time.time()
    assert metrics["bessai_active_power_watts"] / 1000 == pytest.approx(5.0, abs=1.0)
    assert got[1005].value == pytest.approx(5.0, abs=0.01)
    assert audit[-1].user == "scada:127.0.0.1"
    assert audit[-1].outcome == "ok"


async def test_local_authority_refuses_every_command_and_audits_it(tmp_path: Path) -> None:
    async with scada_site(tmp_path, authority="local") as rig:
        master = await rig.master()
        try:
            on = await asyncio.to_thread(master.command, 2101, True)
            setpoint = await asyncio.to_thread(master.command, 2001, 5.0)
            got = await asyncio.to_thread(master.interrogate)
            await asyncio.sleep(0.5)
        finally:
            await asyncio.to_thread(master.close)
        rows = await rig.audit("scada_command")
        mode = rig.gw.controller().mode
        power_kw = rig.sim.model.power_kw
        summary = rig.outstation.summary()
    assert (on, setpoint) == (False, False)
    assert mode is ControlMode.STANDBY
    assert power_kw == pytest.approx(0.0, abs=0.5)
    assert got[3001].value is False
    assert [(r.outcome, r.detail["reason"]) for r in rows] == [
        ("refused", "authority is local"),
        ("refused", "authority is local"),
    ]
    assert summary["commands"] == {"refused": 2}


async def test_remote_authority_refuses_the_local_operator_but_not_the_estop(
    tmp_path: Path,
) -> None:
    async with scada_site(tmp_path, authority="remote") as rig:
        master = await rig.master()
        try:
            controller = rig.gw.controller()
            mode = await controller.set_mode(rig.olga, ControlMode.MANUAL)
            assert controller.mode is ControlMode.STANDBY
            setpoint = await controller.command_setpoint(rig.olga, 10.0)
            estop = await controller.estop(rig.olga)
            latched = controller.estop_latched
            by_operator = await rig.outstation.set_authority(False, rig.olga)
            still_remote = rig.outstation.authority.remote
            ana = await rig.gw.auth.login("ana", "271828")
            by_admin = await rig.outstation.set_authority(False, ana)
            after = await controller.set_mode(rig.olga, ControlMode.STANDBY)
            await until(
                lambda: any(
                    f.ioa == 3001 and f.cot == "SPONTANEOUS" and f.value is False
                    for f in master.frames
                ),
                5.0,
                "3001 = 0 spontaneously",
            )
            rows = await rig.audit("scada_authority")
            refusals = await rig.audit("setpoint")
        finally:
            await asyncio.to_thread(master.close)
    assert not mode.ok
    assert "remote" in mode.message_en
    assert not setpoint.ok
    assert "remote" in setpoint.message_en
    assert refusals[-1].outcome == "refused"
    assert estop.ok
    assert latched
    assert after.ok
    assert not by_operator.ok
    assert still_remote
    assert by_admin.ok
    assert [(r.user, r.outcome) for r in rows] == [("olga", "refused"), ("ana", "ok")]
    assert rows[-1].detail["authority"] == "local"


async def test_a_stale_device_s_points_carry_invalid_and_not_topical(tmp_path: Path) -> None:
    async with scada_site(tmp_path, authority="remote") as rig:
        master = await rig.master()
        try:
            await asyncio.to_thread(master.interrogate)
            await rig.sim.stop()
            await until(
                lambda: any(
                    f.ioa == 1002 and f.cot == "SPONTANEOUS" and f.invalid and f.non_topical
                    for f in master.frames
                ),
                5.0,
                "1002 spontaneously IV/NT",
            )
            got = await asyncio.to_thread(master.interrogate)
        finally:
            await asyncio.to_thread(master.close)
    assert got[1001].invalid
    assert got[1001].non_topical
    assert got[1002].invalid
    assert got[1002].non_topical
    assert got[3004].value is True  # a device's communication lost


async def test_connection_lost_with_remote_control_on_goes_to_standby(tmp_path: Path) -> None:
    async with scada_site(tmp_path, authority="remote", remote_timeout_s=1.0) as rig:
        master = await rig.master()
        assert await asyncio.to_thread(master.command, 2101, True)
        assert await asyncio.to_thread(master.command, 2001, 5.0)
        await asyncio.to_thread(master.close)
        lost_at = time.monotonic()
        controller = rig.gw.controller()
        await until(lambda: controller.mode is ControlMode.STANDBY, 5.0, "standby after the loss")
        waited_s = time.monotonic() - lost_at
        await until(lambda: not rig.outstation.remote_control, 5.0, "remote control off")
        alarm = rig.gw.alarms.get("scada_link_lost")
        rows = await rig.audit("scada_link_lost")
    assert waited_s >= 0.9  # not before remote_timeout_s
    assert alarm.active
    assert rows[-1].outcome == "standby"


async def test_hold_on_loss_keeps_the_setpoint_and_raises_the_alarm(tmp_path: Path) -> None:
    async with scada_site(
        tmp_path, authority="remote", remote_timeout_s=0.5, on_loss="hold"
    ) as rig:
        master = await rig.master()
        assert await asyncio.to_thread(master.command, 2101, True)
        await asyncio.to_thread(master.close)
        await until(
            lambda: any(a.id == "scada_link_lost" for a in rig.gw.alarms.active()), 5.0, "the alarm"
        )
        mode = rig.gw.controller().mode
    assert mode is ControlMode.MANUAL


async def test_one_redundancy_group_serves_the_started_connection_and_buffers(
    tmp_path: Path,
) -> None:
    async with scada_site(tmp_path, authority="local") as rig:
        started = await rig.master()
        standby = await rig.master(muted=True)
        controller = rig.gw.controller()
        try:
            assert (await controller.set_mode(rig.olga, ControlMode.MANUAL)).ok
            assert (await controller.command_setpoint(rig.olga, 10.0)).ok
            await until(
                lambda: any(f.ioa == 1005 and f.cot == "SPONTANEOUS" for f in started.frames),
                5.0,
                "1005 at the started master",
            )
            assert not [f for f in standby.frames if f.cot == "SPONTANEOUS"]
            # The started master goes; a change meanwhile is kept and sent after STARTDT.
            await asyncio.to_thread(started.close)
            await until(lambda: rig.outstation.active_connections == 0, 5.0, "no started master")
            assert (await controller.command_setpoint(rig.olga, 20.0)).ok
            await until(lambda: rig.outstation.summary()["buffered_events"] > 0, 5.0, "buffered")
            assert await asyncio.to_thread(standby.unmute)
            await until(
                lambda: any(
                    f.ioa == 1005 and f.cot == "SPONTANEOUS" and f.value == pytest.approx(20.0)
                    for f in standby.frames
                ),
                5.0,
                "the buffered 1005 = 20 at the new started master",
            )
            summary = rig.outstation.summary()
        finally:
            await asyncio.to_thread(standby.close)
            await asyncio.to_thread(started.close)
    assert summary["buffered_events"] == 0
    # Sent in order after STARTDT, with their own time tags: the ramp up to 20 kW.
    buffered = [f for f in standby.frames if f.ioa == 1005 and f.cot == "SPONTANEOUS"]
    stamps = [f.recorded_at for f in buffered]
    assert None not in stamps
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert buffered[-1].value == pytest.approx(20.0)


async def test_a_third_connection_and_a_master_not_allowed_are_refused(tmp_path: Path) -> None:
    async with scada_site(tmp_path, iec104={"allowed_masters": ["127.0.0.2"]}) as rig:
        stranger = await asyncio.to_thread(Master, rig.port, CA)
        try:
            opened = await asyncio.to_thread(stranger.wait_open, 1.5)
        finally:
            await asyncio.to_thread(stranger.close)
        refused = rig.outstation.summary()["connections_refused"]
    assert not opened
    assert refused >= 1
    async with scada_site(tmp_path / "two", iec104={"max_connections": 2}) as rig:
        first, second = await rig.master(), await rig.master(muted=True)
        third = await asyncio.to_thread(Master, rig.port, CA)
        try:
            third_opened = await asyncio.to_thread(third.wait_open, 1.5)
        finally:
            for master in (third, second, first):
                await asyncio.to_thread(master.close)
    assert not third_opened


async def test_clock_sync_is_confirmed_and_its_offset_recorded(tmp_path: Path) -> None:
    async with scada_site(tmp_path) as rig:
        master = await rig.master()
        try:
            before = time.time()
            ok = await asyncio.to_thread(master.clock_sync)
        finally:
            await asyncio.to_thread(master.close)
        summary = rig.outstation.summary()
    assert ok
    assert summary["clock_offset_s"] is not None
    assert abs(summary["clock_offset_s"]) < 1.0
    assert summary["clock_sync_at"] >= before


async def test_a_port_in_use_is_one_line_and_the_site_runs_on(tmp_path: Path) -> None:
    async with scada_site(tmp_path) as rig:
        settings = ScadaSettings(iec104=Iec104Settings(port=rig.port, common_address=CA))
        with pytest.raises(ScadaUnavailable) as caught:
            await start_outstation(rig.gw, settings)
        comms_up = rig.gw.controller().telemetry.comms_up
    assert f"port = {rig.port}: cannot listen" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert comms_up


async def test_measured_values_go_cyclically_and_single_points_do_not(tmp_path: Path) -> None:
    async with scada_site(tmp_path, iec104={"periodic_s": 0.5}) as rig:
        master = await rig.master()
        try:
            await asyncio.sleep(2.2)
        finally:
            await asyncio.to_thread(master.close)
    periodic = [f for f in master.frames if f.cot == "PERIODIC"]
    soc_frames = [f for f in periodic if f.ioa == 1002]
    assert 2 <= len(soc_frames) <= 8  # every 0.5 s over 2.2 s, with room for a slow machine
    assert {f.ioa for f in periodic} == {1001, 1002, 1003, 1004, 1005, 1006, 1010}


async def test_two_started_masters_get_their_commands_refused(tmp_path: Path) -> None:
    async with scada_site(tmp_path, authority="remote") as rig:
        first, second = await rig.master(), await rig.master()
        try:
            await until(lambda: rig.outstation.active_connections == 2, 5.0, "two started")
            on = await asyncio.to_thread(first.command, 2101, True)
        finally:
            for master in (second, first):
                await asyncio.to_thread(master.close)
        last = rig.outstation.stats.last_command
        mode = rig.gw.controller().mode
    assert not on
    assert last is not None
    assert last.reason == "two masters started: one redundancy group serves one"
    assert mode is ControlMode.STANDBY
