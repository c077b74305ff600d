"""Fail safe against a hostile device and a failing disk: any doubt puts the battery at zero power.

Each test runs the gateway against a raw-socket Modbus server (not pymodbus)
that serves a simulated battery but answers like a misbehaving device, with
an operator holding +30 kW in Manual; it injects one fault, measures the time
until a zero setpoint reaches the device, checks /health and the alarms, and
checks that nothing resumes by itself once the fault clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from argon2 import PasswordHasher

from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import Reason, SafetyLimits
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.profile import Table
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import free_port, sim_device, until
from tests.hostile_modbus import HostileModbusServer
from tests.tmpfs import tmpfs

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
LIMITS = SafetyLimits(max_ramp_kw_per_s=100, max_sample_age_s=2.0)
FIGURES: dict[str, float] = {}

# sim_bess input registers
SOC, VOLTAGE, TEMP = 0, 6, 8


@dataclass
class Site:
    sim: BessSimulator
    device: HostileModbusServer
    gw: Gateway
    operator: Session
    engineer: Session
    base: str

    @property
    def ctl(self) -> Any:
        return self.gw.controller()

    async def health(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.base}/health") as r:
            body: dict[str, Any] = await r.json()
            return body

    async def hold(self, kw: float) -> None:
        # The engineer confirms what some vendors' profiles leave unverified (SMA's setpoint).
        manual = await self.ctl.set_mode(self.engineer, ControlMode.MANUAL, confirm_unverified=True)
        assert manual.ok
        assert (await self.ctl.command_setpoint(self.operator, kw)).ok
        await until(lambda: self.last_kw() == kw, 3.0, f"{kw} kW at the device")

    def last_kw(self) -> float | None:
        writes = self.device.setpoints()
        return writes[-1][1] if writes else None

    async def time_to_zero(
        self, fault: Callable[[], None], name: str, timeout_s: float = 5.0
    ) -> float:
        """Inject the fault; seconds until a zero setpoint reached the device."""
        started = time.monotonic()
        fault()
        await until(lambda: self.last_kw() == 0.0, timeout_s, f"0 kW after {name}")
        zero_at = next(ts for ts, kw in reversed(self.device.setpoints()) if kw == 0.0)
        FIGURES[name] = zero_at - started
        print(f"\n[fail-safe] {name}: 0 kW at the device {zero_at - started:.3f} s after the fault")
        return zero_at - started

    async def stays_at_zero(self, seconds: float = 1.5) -> None:
        """Nothing resumes by itself: Standby, and no non-zero write."""
        count = len(self.device.setpoints())
        await asyncio.sleep(seconds)
        assert all(kw == 0.0 for _, kw in self.device.setpoints()[count:])
        assert self.last_kw() == 0.0
        assert self.ctl.mode is ControlMode.STANDBY


async def _site(
    tmp_path: Path, profile: str = "sim_bess", unit_id: int = 1, **gw_kwargs: Any
) -> tuple[BessSimulator, HostileModbusServer, Gateway, Session, Session, str]:
    sim = BessSimulator(load_profile(profile), seed=3, unit_id=unit_id)
    sim.model.noise_gain = 0.0
    sim._ensure_stepper()
    device = HostileModbusServer(sim, unit_id=unit_id)
    port = await device.start()
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    if not auth.has_users():
        await auth.add_user("ana", Role.ADMIN, "271828")
        admin = await auth.login("ana", "271828")
        await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
        await auth.add_user("enzo", Role.ENGINEER, "314159", by=admin)
    http_port = free_port()
    gw = Gateway(
        "hostile",
        [sim_device(port, profile=profile, unit_id=unit_id, timeout_s=0.5)],
        data_dir=tmp_path,
        limits=gw_kwargs.pop("limits", LIMITS),
        control_interval_s=0.5,
        heartbeat_interval_s=1.0,
        auth=auth,
        health_port=http_port,
        **gw_kwargs,
    )
    await gw.start()
    await until(lambda: gw.controller().telemetry.comms_up, 3.0, "first sample")
    return (
        sim,
        device,
        gw,
        await auth.login("olga", "314159"),
        await auth.login("enzo", "314159"),
        f"http://127.0.0.1:{http_port}",
    )


@contextlib.asynccontextmanager
async def running_site(
    tmp_path: Path, profile: str = "sim_bess", unit_id: int = 1, **gw_kwargs: Any
) -> AsyncIterator[Site]:
    """A gateway on the hostile device, started; everything stopped at the end."""
    sim, device, gw, operator, engineer, base = await _site(tmp_path, profile, unit_id, **gw_kwargs)
    try:
        yield Site(sim, device, gw, operator, engineer, base)
    finally:
        await gw.stop()
        await device.stop()
        await sim.stop()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with running_site(tmp_path) as s:
        yield s


def _interlock(site: Site) -> list[str]:
    return [i.reason.value for i in site.ctl.current_interlocks(time.time())]


async def _unknown_measurement(site: Site, name: str, address: int, word: int, what: str) -> None:
    await site.hold(30.0)
    elapsed = await site.time_to_zero(
        lambda: site.device.set_value(Table.INPUT, address, [word]), name
    )
    assert elapsed < 2.0
    await until(lambda: site.ctl.mode is ControlMode.STANDBY)
    assert Reason.INTERLOCK_MEASUREMENT.value in _interlock(site)
    health = await site.health()
    assert health["status"] == "degraded"
    assert any("interlock_measurement" in p and what in p for p in health["problems"]), health
    assert site.gw.alarms.get("measurement_invalid", "bess").active
    site.device.clear(Table.INPUT, address)
    await until(lambda: Reason.INTERLOCK_MEASUREMENT.value not in _interlock(site))
    await site.stays_at_zero()


async def test_temperature_not_available_zeroes_power(site: Site) -> None:
    await _unknown_measurement(
        site, "temperature 0x7FFF", TEMP, 0x7FFF, "battery_temp_c not available"
    )


async def test_pack_voltage_not_available_zeroes_power(site: Site) -> None:
    await _unknown_measurement(
        site, "pack voltage 0xFFFF", VOLTAGE, 0xFFFF, "pack_voltage_v not available"
    )


async def test_implausible_temperature_zeroes_power(site: Site) -> None:
    await _unknown_measurement(
        site, "temperature -3276.8 °C", TEMP, 0x8000, "battery_temp_c implausible"
    )


async def test_implausible_soc_zeroes_power(site: Site) -> None:
    await _unknown_measurement(site, "SoC 655.34 %", SOC, 0xFFFE, "soc_pct implausible")
    assert (
        site.gw.alarms.get("soc_high", "bess").raised_at is None
    )  # an untrusted value raises no limit alarm


async def test_soc_not_available_then_back_does_not_resume(site: Site) -> None:
    await _unknown_measurement(site, "SoC 0xFFFF then back", SOC, 0xFFFF, "soc_pct not available")
    refused = await site.ctl.command_setpoint(site.operator, 30.0)
    assert refused.reason is Reason.REFUSED_MODE  # a new command needs Manual chosen again


async def test_frozen_values_while_commanded_zero_power(tmp_path: Path) -> None:
    limits = LIMITS.model_copy(update={"frozen_after_s": 2.0})
    async with running_site(tmp_path, limits=limits) as s:
        await s.hold(30.0)
        elapsed = await s.time_to_zero(lambda: s.device.freeze(True), "frozen answers", 6.0)
        assert 1.5 <= elapsed < 4.5
        assert any("frozen" in i.message_en for i in s.ctl.current_interlocks(time.time()))
        s.device.freeze(False)
        await s.stays_at_zero()


async def test_sma_temperature_nan_value_zeroes_power(tmp_path: Path) -> None:
    """SMA's i32 'no data' (0x80000000) is a declared sentinel: not available, not 0 °C."""
    limits = SafetyLimits(max_ramp_kw_per_s=100, max_sample_age_s=2.0)
    async with running_site(tmp_path, "sma_sunny_island", unit_id=3, limits=limits) as s:
        await s.hold(3.0)
        temp = load_profile("sma_sunny_island").by_name("battery_temp_c")
        await s.time_to_zero(
            lambda: s.device.set_value(temp.table, temp.address, [0x8000, 0x0000]),
            "SMA temperature 0x80000000",
        )
        health = await s.health()
        assert any("battery_temp_c not available" in p for p in health["problems"])
        s.device.clear(temp.table, temp.address, 2)
        await s.stays_at_zero()


async def test_a_device_answering_only_exceptions_is_down(site: Site) -> None:
    await site.hold(30.0)

    def refuse() -> None:
        site.device.read_exception = 4

    elapsed = await site.time_to_zero(refuse, "every read exception 4")
    assert elapsed < 2.5
    await until(lambda: site.ctl.mode is ControlMode.STANDBY)
    # On a loaded machine the zero can come a poll before the refusals are seen (a sample
    # gone stale); the device is down, and /health failing, by the next poll at the latest.
    await until(lambda: not site.gw.statuses()[0].up, 3.0, "the device seen down")
    health = await site.health()
    assert health["status"] == "failing"
    assert health["devices"]["bess"]["connected"] is False
    age = health["devices"]["bess"]["last_sample_age_s"]
    await asyncio.sleep(1.0)
    assert (await site.health())["devices"]["bess"]["last_sample_age_s"] > age + 0.5
    assert Reason.INTERLOCK_COMMS.value in _interlock(site)
    assert site.gw.alarms.get("comms_lost", "bess").active
    async with aiohttp.ClientSession() as http, http.get(f"{site.base}/metrics") as r:
        text = await r.text()
    assert 'bessai_device_connected{device="bess",site="hostile"} 0.0' in text
    # Retried every tick while the device refuses, but on the record once per kind of failure.
    assert await site.gw.books.settled(5.0)
    failed = [r for r in site.gw.audit.records() if r.action == "setpoint_write"]
    assert 1 <= len(failed) <= 3, [r.detail for r in failed]
    site.device.read_exception = None
    await until(lambda: Reason.INTERLOCK_COMMS.value not in _interlock(site), 5.0)
    await site.stays_at_zero()


def _hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Another process holding the database's write lock (BEGIN EXCLUSIVE)."""
    script = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"locked"
    return proc


async def test_locked_audit_does_not_delay_the_trip(site: Site) -> None:
    await site.hold(30.0)
    locker = _hold_write_lock(site.gw.data_dir / "audit.db", 8.0)
    try:
        elapsed = await site.time_to_zero(
            lambda: site.device.set_value(Table.INPUT, TEMP, [500]),
            "over-temperature, audit locked",
        )
        assert elapsed < 1.5, f"zero write took {elapsed:.1f} s behind a locked audit trail"
        await until(lambda: "audit" in site.gw.store_failures, 8.0, "audit failure reported")
        health = await site.health()
        assert any("store audit failing" in p for p in health["problems"])
        assert site.gw.alarms.get("store_failed").active
    finally:
        locker.kill()
        locker.wait()
    # The books catch up once the lock is gone: nothing lost, the trip is on record.
    await until(lambda: "audit" not in site.gw.store_failures, 8.0, "audit writes again")
    actions = [(r.action, r.outcome) for r in site.gw.audit.records()]
    assert ("mode", "forced") in actions
    assert site.gw.audit.verify().ok


async def test_estop_latch_survives_a_restart(tmp_path: Path) -> None:
    async with running_site(tmp_path) as s:
        await s.hold(30.0)
        await s.ctl.estop(s.operator, "test")
        assert s.device.setpoints()[-1][1] == 0.0
    async with running_site(tmp_path) as s:
        ctl = s.ctl
        assert ctl.estop_latched
        assert s.gw.alarms.get("estop", "bess").active
        assert not (await ctl.set_mode(s.operator, ControlMode.MANUAL)).ok
        assert (await s.health())["safety"]["bess"]["estop_latched"] is True
        assert (await ctl.reset_estop(s.engineer)).ok
    async with running_site(tmp_path) as s:
        assert not s.ctl.estop_latched


async def test_a_corrupt_latch_file_counts_as_latched(tmp_path: Path) -> None:
    (tmp_path / "estop.json").write_bytes(b"\x00{not json")
    async with running_site(tmp_path) as s:
        assert s.ctl.estop_latched
        assert "cannot be read" in s.gw.alarms.get("estop", "bess").detail


def _fill(path: Path) -> None:
    """Write until the file system refuses (ENOSPC)."""
    fd = os.open(path / "ballast", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "size=8m") as disk:
        yield disk


@pytest.mark.tmpfs
async def test_sigterm_on_a_full_disk_leaves_zero_power(small_disk: Path, tmp_path: Path) -> None:
    sim = BessSimulator(load_profile("sim_bess"), seed=3)
    sim._ensure_stepper()
    device = HostileModbusServer(sim)
    port = await device.start()
    data = small_disk / "data"
    auth = AuthService(data / "users.db", hasher=FAST)
    await auth.add_user("olga", Role.ADMIN, "271828")
    auth.close()
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        f'site_id = "full"\n[[devices]]\nname = "bess"\nprofile = "sim_bess"\n'
        f'host = "127.0.0.1"\nport = {port}\npoll_interval_s = 0.2\ntimeout_s = 0.5\n'
        "[limits]\nmax_ramp_kw_per_s = 100\n"
    )
    env = {
        **os.environ,
        "SITE_FILE": str(site_file),
        "DATA_DIR": str(data),
        "HEALTH_PORT": "0",
        "LOG_LEVEL": "INFO",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai.cli",
        "--headless",
        "--login",
        "olga",
        "--mode",
        "manual",
        "--setpoint-kw",
        "30",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"271828\n")
        await proc.stdin.drain()
        proc.stdin.close()
        await until(
            lambda: device.setpoints() and device.setpoints()[-1][1] == 30.0, 15.0, "+30 kW"
        )
        _fill(small_disk)
        await asyncio.sleep(1.0)  # the gateway keeps running on a full disk
        assert proc.returncode is None
        started = time.monotonic()
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 15.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await device.stop()
        await sim.stop()
    stderr = err.decode()
    zero = [ts for ts, kw in device.setpoints() if kw == 0.0 and ts >= started]
    assert zero, f"battery left at {device.setpoints()[-1][1]} kW:\n{stderr[-2000:]}"
    FIGURES["SIGTERM on a full DATA_DIR"] = zero[0] - started
    print(f"\n[fail-safe] SIGTERM on a full disk: 0 kW after {zero[0] - started:.3f} s")
    assert "Traceback" not in stderr, stderr[-3000:]
    assert proc.returncode == 0, stderr[-2000:]


@pytest.mark.tmpfs
async def test_full_data_dir_is_a_health_problem_and_trips_still_zero(small_disk: Path) -> None:
    async with running_site(small_disk) as s:
        gw, device = s.gw, s.device
        await s.hold(30.0)
        _fill(small_disk)
        elapsed = await s.time_to_zero(
            lambda: device.set_value(Table.INPUT, TEMP, [500]), "over-temperature, DATA_DIR full"
        )
        assert elapsed < 1.5
        await until(lambda: bool(gw.store_failures), 8.0, "store failure reported")
        health = await s.health()
        assert health["status"] == "degraded"
        assert any(p.startswith("store ") and "full" in p for p in health["problems"]), health
        assert gw.alarms.get("store_failed").active
        await s.stays_at_zero()
        # Room again: the books catch up, the trip is on record and the chain intact.
        (small_disk / "ballast").unlink()
        await until(lambda: not gw.store_failures, 8.0, "stores write again")
        assert ("mode", "forced") in [(r.action, r.outcome) for r in gw.audit.records()]
        assert gw.audit.verify().ok


@pytest.mark.tmpfs
async def test_a_start_on_a_full_disk_supervises_the_battery_and_says_so(small_disk: Path) -> None:
    sim, device, gw, operator, engineer, _ = await _site(small_disk)
    await gw.stop()  # the stores exist; their WAL files are gone with the clean stop
    _fill(small_disk)
    gw2 = Gateway(
        "hostile", gw.configs, data_dir=small_disk, limits=LIMITS, health_port=free_port()
    )
    try:
        await gw2.start()
        await until(lambda: gw2.controller().telemetry.comms_up, 3.0, "polling on a full disk")
        await until(lambda: bool(gw2.store_failures), 5.0, "the full disk reported")
        assert gw2.alarms.get("store_failed").active
        s = Site(sim, device, gw2, operator, engineer, f"http://127.0.0.1:{gw2.health_port}")
        health = await s.health()
        assert health["status"] == "degraded"
        assert any(p.startswith("store ") for p in health["problems"])
        # The guard works without its books: a trip still zeroes the battery.
        device.set_value(Table.INPUT, TEMP, [500])
        await until(lambda: Reason.INTERLOCK_TRIP.value in _interlock(s), 3.0, "the trip")
    finally:
        await gw2.stop()
        await device.stop()
        await sim.stop()
