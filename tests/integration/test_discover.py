"""`bessai discover` against real servers on loopback: the SunSpec simulator becomes a profile
that polls the same state of charge; a simulator without SunSpec gets its profile suggested;
pysunspec2's own client reads the simulated chain too (an independent implementation)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sunspec2.modbus.client as sunspec_client

from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.discovery import DiscoveryError, discover, discovered_profile, own_network
from bessai.drivers.profile_loader import load_profile, parse_profile
from bessai.drivers.simulator.server import BessSimulator
from bessai.drivers.simulator.sunspec_chain import SIM_SCALE_FACTORS, sunspec_simulator_map
from tests.helpers import run_bessai


async def _sunspec_sim(unit_id: int = 1) -> tuple[BessSimulator, int]:
    profile, constants = sunspec_simulator_map()
    sim = BessSimulator(profile, seed=3, step_hz=0, unit_id=unit_id, constants=constants)
    sim.model.soc_pct = 63.21
    sim.refresh_image()
    return sim, await sim.start_tcp("127.0.0.1", 0)


async def test_discover_writes_a_profile_that_polls_the_same_soc(tmp_path: Path) -> None:
    sim, port = await _sunspec_sim(unit_id=3)
    try:
        out = tmp_path / "found.json"
        code, stdout, err = await run_bessai(
            "discover", "127.0.0.1", "--port", str(port), "--out", str(out), cwd=tmp_path
        )
        assert code == 0, err
        assert "units answering: 3" in stdout
        assert "SunSpec at 40000: BESSAI SIM-BESS-SUNSPEC" in stdout
        assert "124@40070" in stdout
        assert "802@40105" in stdout
        code, stdout, err = await run_bessai("profile", "check", str(out), cwd=tmp_path)
        assert code == 0, err
        assert stdout.startswith("ok")
        data = json.loads(out.read_text())
        assert data["connection"]["unit_id"] == 3
        profile = load_profile(out)
        soc = profile.by_name("bat_soc")
        # Model 802's SoC_SF is -2 on the simulated unit: read live with the SoC, not frozen.
        assert soc.scale == 1.0
        assert soc.scale_factor == "bat_soc_sf"
        assert f"read as {SIM_SCALE_FACTORS['bat_soc_sf']} at discovery" in soc.note
        assert profile.control is not None
        assert profile.control.rated_power_kw == 100.0
        device = ModbusDevice("found", profile, TcpEndpoint("127.0.0.1", port))
        try:
            result = await device.poll()
        finally:
            await device.close()
        roles = profile.roles_of(result.values)
        assert roles["soc_pct"] == pytest.approx(63.21, abs=0.01)
        assert roles["pack_voltage_v"] == pytest.approx(sim.model.measure().pack_voltage_v, abs=0.2)
        assert roles["rated_power_kw"] == pytest.approx(100.0)
        code, _, err = await run_bessai(
            "discover", "127.0.0.1", "--port", str(port), "--out", str(out), cwd=tmp_path
        )
        assert code == 2
        assert "exists" in err
    finally:
        await sim.stop()


async def test_pysunspec2_reads_the_simulated_chain() -> None:
    sim, port = await _sunspec_sim()
    try:

        def scan() -> tuple[list[object], str, float, float]:
            device = sunspec_client.SunSpecModbusClientDeviceTCP(
                slave_id=1, ipaddr="127.0.0.1", ipport=port
            )
            try:
                device.scan()
                common = device.models["common"][0]
                battery = device.models["battery"][0]
                storage = (
                    device.models["storage_basic"][0]
                    if "storage_basic" in device.models
                    else device.models[124][0]
                )
                return (
                    [k for k in device.models if isinstance(k, int)],
                    common.SN.cvalue,
                    battery.SoC.cvalue,
                    storage.WChaMax.cvalue,
                )
            finally:
                device.close()

        ids, serial, soc, wchamax = await asyncio.to_thread(scan)
        assert ids == [1, 124, 713, 802, 803]
        assert serial == "SIM-SUNSPEC-0001"
        assert soc == pytest.approx(63.21, abs=0.01)
        assert wchamax == pytest.approx(100_000.0)
    finally:
        await sim.stop()


async def test_without_sunspec_it_reports_and_suggests_the_matching_profile(
    simulator: tuple[BessSimulator, int], tmp_path: Path
) -> None:
    _, port = simulator
    found = await discover("127.0.0.1", port, interval_s=0.0)
    assert found.units == [1]
    assert found.sunspec is None
    assert ("holding", 0, "data") in found.ranges
    assert ("holding", 40000, "exception 2") in found.ranges
    assert [s.profile_id for s in found.suggestions] == ["sim_bess"]
    assert found.suggestions[0].values["serial_number"] == "SIM-0001"


async def test_silent_unit_ids_are_skipped_within_the_bound() -> None:
    sim, port = await _sunspec_sim(unit_id=4)
    try:
        found = await discover("127.0.0.1", port, timeout_s=0.2, interval_s=0.0)
        assert found.units == [4]
        assert found.sunspec is not None
        assert found.sunspec.unit_id == 4
        # 1, 3, 71, 100, 247, 2, 126 stay silent (two reads each), then 4 answers.
        assert found.requests < 40
    finally:
        await sim.stop()


async def test_a_remote_target_is_not_scanned() -> None:
    # Documentation ranges; one of them may be this machine's own network.
    remote = next(a for a in ("198.51.100.10", "203.0.113.10", "192.0.2.10") if not own_network(a))
    with pytest.raises(DiscoveryError, match="not on this computer's networks"):
        await discover(remote, 502)
    assert own_network("127.0.0.1")
    assert own_network("localhost")


async def test_a_chain_with_a_bad_scale_factor_or_length_is_reported_not_trusted() -> None:
    profile, constants = sunspec_simulator_map()
    # WChaMax_SF "not implemented" (0x8000): the rated power is unknown, so is the control.
    sim = BessSimulator(profile, step_hz=0, constants={**constants, "st_wchamax_sf": -32768.0})
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        found = await discover("127.0.0.1", port, unit=1, interval_s=0.0)
        sunspec = found.sunspec
        assert sunspec is not None
        assert sunspec.rated_w is None
        assert any("WChaMax_SF reads -32768" in p for p in sunspec.problems), sunspec.problems
        data = discovered_profile(sunspec, "127.0.0.1", port, "now")
        assert "control" not in data
        wchamax = next(r for r in data["registers"] if r["name"] == "st_wchamax")
        assert wchamax["verified"] is False
        assert "not usable" in wchamax["note"]
        parse_profile(data, "bad sf")  # still a valid profile, only less trusted
    finally:
        await sim.stop()
    # Model 124 claims a length that runs past the address space: the walk stops there.
    sim = BessSimulator(profile, step_hz=0, constants={**constants, "st_l": 65000.0})
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        found = await discover("127.0.0.1", port, unit=1, interval_s=0.0)
        assert found.sunspec is not None
        assert [p.id for p in found.sunspec.chain] == [1]
        assert any("past address 65535" in p for p in found.sunspec.problems)
        assert found.requests < 60
    finally:
        await sim.stop()
