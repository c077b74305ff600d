"""A site of two batteries with the fault on the SECOND: alarms per device, one snapshot, commands per target.

Real simulators on 127.0.0.1, the real gateway, /health and /metrics over real
HTTP. Device ``b`` runs over temperature while ``a`` is healthy: ``a``'s
control cycles must never clear ``b``'s trip.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher

from bessai.core.alarms.manager import AlarmManager, AlarmState
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import Reason
from bessai.core.runtime.bus import EventBus
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.simulator.server import BessSimulator, Fault
from tests.helpers import sim_device, until

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def test_a_device_clears_only_its_own_alarm_instance() -> None:
    alarms = AlarmManager(EventBus())
    from bessai.core.alarms.catalogue import DEVICE_ALARMS

    for definition in DEVICE_ALARMS:
        alarms.define(definition)
    alarms.update("safety_trip", True, "battery 72 C", source="b")
    for _ in range(5):
        alarms.update("safety_trip", False, source="a")  # the healthy device's cycles
    assert alarms.get("safety_trip", "b").active
    assert not alarms.get("safety_trip", "a").active
    assert [a.ref for a in alarms.active_instances()] == ["b/safety_trip"]
    alarms.acknowledge("b/safety_trip", "olga")
    assert alarms.get("safety_trip", "b").state is AlarmState.ACTIVE_ACK
    alarms.update("safety_trip", False, source="b")
    assert alarms.get("safety_trip", "b").state is AlarmState.NORMAL


async def _start_site(tmp_path: Path) -> tuple[list[BessSimulator], Gateway, Session]:
    sims = [BessSimulator(seed=s) for s in (1, 2)]
    ports = [await sim.start_tcp("127.0.0.1", 0) for sim in sims]
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
    operator = await auth.login("olga", "314159")
    gw = Gateway(
        "cl-two-02",
        [sim_device(ports[0], name="a"), sim_device(ports[1], name="b")],
        data_dir=tmp_path,
        auth=auth,
        health_port=0,
        control_interval_s=0.1,
        ids_enabled=False,
    )
    await gw.start()
    return sims, gw, operator


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[list[BessSimulator], Gateway, Session]]:
    sims, gw, operator = await _start_site(tmp_path)
    try:
        await until(lambda: all(p.status.up for p in gw.pollers.values()), 5.0, "both devices up")
        yield sims, gw, operator
    finally:
        await gw.stop()
        for sim in sims:
            await sim.stop()


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.slow
async def test_a_trip_on_the_second_battery_is_critical_and_named_in_every_look(
    site: tuple[list[BessSimulator], Gateway, Session],
) -> None:
    sims, gw, _ = site
    sims[1].model.temp_c = 72.0
    sims[1].inject(Fault.OVER_TEMPERATURE)
    await until(
        lambda: any(a.ref == "b/safety_trip" for a in gw.alarms.active_instances()),
        10.0,
        "b's trip raised",
    )
    assert gw.http is not None
    base = f"http://127.0.0.1:{gw.http.port}"
    looks: list[tuple[list[dict[str, object]], float | None, int]] = []
    async with aiohttp.ClientSession() as http:
        for _ in range(8):
            async with http.get(f"{base}/health") as response:
                body = await response.json()
            async with http.get(f"{base}/metrics") as response:
                metrics = await response.text()
            critical = body["alarms"]["critical"]
            looks.append(
                (
                    critical,
                    _metric(metrics, "bessai_alarm_active", device="b", alarm="safety_trip"),
                    body["alarms"]["active"],
                )
            )
            await asyncio.sleep(1.5)
    for critical, metric, active in looks:
        trips = [c for c in critical if c["code"] == "safety_trip"]
        assert [c["device"] for c in trips] == ["b"], [(len(c), m, a) for c, m, a in looks]
        assert all(c["device"] != "a" or c["code"] != "safety_trip" for c in critical)
        assert metric == 1.0
        assert active >= 1
    snapshot = gw.current_snapshot()
    assert snapshot.hottest_temp_c.device == "b"
    assert snapshot.hottest_temp_c.value is not None
    assert snapshot.hottest_temp_c.value > 45.0
    assert snapshot.worst is not None
    assert (snapshot.worst.code, snapshot.worst.device) == (
        "trip",
        "b",
    )
    a, b = snapshot.device("a"), snapshot.device("b")
    assert a is not None
    assert b is not None
    assert not a.interlocks
    assert [i.reason for i in b.interlocks] == [Reason.INTERLOCK_TRIP]
    assert b.interlocks[0].cleared_by == "cause_clears"
    assert body["site"]["hottest_temp_c"]["device"] == "b"
    # The fault gone, b's trip clears by itself (unacknowledged, on the record).
    sims[1].inject(Fault.OVER_TEMPERATURE, active=False)
    sims[1].model.temp_c = 30.0
    sims[1].model.reset_fault()  # the device itself latched its own fault: reset on site
    await until(
        lambda: gw.alarms.get("safety_trip", "b").state is AlarmState.CLEARED_UNACK,
        10.0,
        "b's trip cleared",
    )


@pytest.mark.slow
async def test_control_commands_the_site_split_equally_or_one_named_device(
    site: tuple[list[BessSimulator], Gateway, Session],
) -> None:
    sims, gw, operator = site
    commands = gw.commands
    assert commands.targets() == ["site", "a", "b"]
    assert (await commands.set_mode(operator, ControlMode.MANUAL, "site")).ok
    assert {c.mode for c in gw.controllers.values()} == {ControlMode.MANUAL}
    result = await commands.command_setpoint(operator, 20.0, "site")
    assert result.ok, result.message_en
    await until(
        lambda: all(abs((c.applied_kw or 0) - 10.0) < 0.5 for c in gw.controllers.values()),
        5.0,
        "10 kW each",
    )
    assert (await commands.command_setpoint(operator, -6.0, "b")).ok
    await until(lambda: abs((gw.controllers["b"].applied_kw or 0) + 6.0) < 0.5, 5.0, "b at -6")
    assert abs((gw.controllers["a"].applied_kw or 0) - 10.0) < 0.5  # a untouched
    rows = [(r.action, r.outcome, r.detail) for r in gw.audit.records()]
    site_rows = [d for action, _, d in rows if action == "site_setpoint"]
    assert site_rows
    assert site_rows[-1]["split_kw"] == {"a": 10.0, "b": 10.0}
    assert any(a == "setpoint" and d.get("device") == "b" for a, _, d in rows)
    # A trip on b: the site's Manual is refused whole, naming b; a stays commandable.
    sims[1].model.temp_c = 72.0
    sims[1].inject(Fault.OVER_TEMPERATURE)
    await until(lambda: gw.controllers["b"].mode is ControlMode.STANDBY, 10.0, "b to standby")
    refused = await commands.set_mode(operator, ControlMode.MANUAL, "site")
    assert not refused.ok
    assert refused.message_en.startswith("b: ")
    assert gw.controllers["a"].mode is ControlMode.MANUAL
    snapshot = gw.current_snapshot()
    site_state = snapshot.control_of("site")
    assert site_state is not None
    assert site_state.interlocks
    assert site_state.interlocks[0].message_en.startswith("b: ")


@pytest.mark.slow
async def test_a_device_removed_at_run_time_leaves_every_reader(
    site: tuple[list[BessSimulator], Gateway, Session],
) -> None:
    sims, gw, _ = site
    sims[1].model.temp_c = 72.0
    sims[1].inject(Fault.OVER_TEMPERATURE)
    await until(lambda: gw.alarms.get("safety_trip", "b").active, 10.0, "b's trip")
    await gw.remove_device("b")
    snapshot = gw.current_snapshot()
    assert snapshot.names == ("a",)
    assert all(a.source != "b" for a in snapshot.alarms)
    assert gw.http is not None
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{gw.http.port}/health") as response:
            body = await response.json()
        async with http.get(f"http://127.0.0.1:{gw.http.port}/metrics") as response:
            metrics = await response.text()
    assert list(body["devices"]) == ["a"]
    assert 'device="b"' not in "\n".join(
        line for line in metrics.splitlines() if line.startswith("bessai_alarm_active")
    )
    assert gw.commands.targets() == ["a"]
