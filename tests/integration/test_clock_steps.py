"""A gateway at +30 kW in Manual through steps of its wall clock (+2 days, then -1 hour).

The wall clock is injected (the gateway's ``wall_clock``, which its pollers and
controllers stamp with); the monotonic clock is the machine's. The mode, the
setpoint and the lease go on untouched; the step is said: the ``clock_stepped``
alarm, a /health problem, an audit row with the old and new time, the snapshot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher

from bessai.core.control.events import ControlMode
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import sim_device, until

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
DAY_S = 86400.0


class Wall:
    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Gateway, Wall, Session]]:
    sim = BessSimulator()
    port = await sim.start_tcp("127.0.0.1", 0)
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
    wall = Wall()
    gw = Gateway(
        "cl-clock-01",
        [sim_device(port)],
        data_dir=tmp_path,
        auth=auth,
        health_port=0,
        control_interval_s=0.1,
        ids_enabled=False,
        wall_clock=wall,
    )
    await gw.start()
    try:
        yield gw, wall, await auth.login("olga", "314159")
    finally:
        await gw.stop()
        await sim.stop()


async def test_a_stepped_wall_clock_changes_the_records_not_the_mode_setpoint_or_lease(
    site: tuple[Gateway, Wall, Session],
) -> None:
    gw, wall, operator = site
    ctl = gw.controller()
    await until(lambda: ctl.telemetry.comms_up, 5.0, "first sample")
    assert (await ctl.set_mode(operator, ControlMode.MANUAL)).ok
    assert (await ctl.command_setpoint(operator, 30.0)).ok
    await until(lambda: ctl.applied_kw == 30.0, 5.0, "+30 kW")
    left_before = ctl.state().lease_remaining_s(wall())
    assert left_before is not None
    for n, step_s in enumerate((2 * DAY_S, -3600.0), start=1):
        wall.offset_s += step_s
        await until(lambda n=n: len(gw.clock_watch.steps) == n, 3.0, "the step seen")
        assert gw.alarms.get("clock_stepped").active
        await asyncio.sleep(0.5)  # a few control cycles on the stepped clock
        state = ctl.state()
        assert state.mode is ControlMode.MANUAL
        assert ctl.applied_kw == 30.0
        assert not state.interlocks, state.interlocks  # no stale data, no lease expired
        left = state.lease_remaining_s(wall())
        assert left is not None
        assert left_before - 60.0 < left <= left_before  # the lease counts on, unstretched
    await gw.books.settled(2.0)
    rows = [r for r in gw.audit.records() if r.action == "clock_stepped"]
    assert [round(r.detail["step_s"] / 3600) for r in rows] == [48, -1]
    assert gw.current_snapshot().clock_step_s == pytest.approx(-3600.0, abs=5.0)
    assert gw.http is not None
    url = f"http://127.0.0.1:{gw.http.port}/health"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.json()
    assert any("wall clock stepped -3600 s" in p for p in body["problems"])
    assert [round(s["step_s"]) for s in body["clock"]["steps"]] == [172800, -3600]
