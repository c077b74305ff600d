"""The plant simulator over real Modbus TCP on 127.0.0.1: two PCS, their BMS and the POI meter.

A PCS setpoint moves its own BMS's current and SoC (not the other's), the
meter reads load − PV − the PCS' sum plus losses, a BMS's limits and faults
show in its registers, and `bessai simulate --site` serves the shipped example.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bessai.drivers.device import DeviceUnavailable, ModbusDevice, TcpEndpoint
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.plant import PlantConfigError, PlantDevice, PlantSimulator
from tests.helpers import free_port, plant_site_file, until


def _devices() -> list[PlantDevice]:
    pcs, bms, meter = (load_profile(p) for p in ("sim_pcs", "sim_bms", "sim_meter"))
    return [
        PlantDevice("pcs1", pcs, "inverter", "127.0.0.1", 0, batteries=("bms1",)),
        PlantDevice("pcs2", pcs, "inverter", "127.0.0.1", 0, batteries=("bms2",)),
        PlantDevice("bms1", bms, "bms", "127.0.0.1", 0),
        PlantDevice("bms2", bms, "bms", "127.0.0.1", 0),
        PlantDevice("poi", meter, "meter", "127.0.0.1", 0),
    ]


def num(value: float | None) -> float:
    assert value is not None
    return value


class Plant:
    """The simulated plant and a Modbus client on each of its devices."""

    def __init__(self, sim: PlantSimulator, clients: dict[str, ModbusDevice]) -> None:
        self.sim = sim
        self.clients = clients

    async def read(self, device: str) -> dict[str, float | None]:
        result = await self.clients[device].poll()
        assert result.complete, result.errors
        profile = self.clients[device].profile
        return {k: v for k, v in profile.roles_of(result.values).items() if not isinstance(v, str)}


@pytest.fixture
async def plant() -> AsyncIterator[Plant]:
    sim = PlantSimulator(_devices(), seed=3, step_hz=20.0, load_kw=30.0, pv_kw=10.0)
    ports = await sim.start()
    clients = {
        name: ModbusDevice(name, sim.devices[name].profile, TcpEndpoint("127.0.0.1", port))
        for name, port in ports.items()
    }
    try:
        yield Plant(sim, clients)
    finally:
        for client in clients.values():
            await client.close()
        await sim.stop()


async def test_a_pcs_setpoint_moves_its_own_bms_and_the_meter_reads_the_sum(plant: Plant) -> None:
    pcs1 = plant.clients["pcs1"]
    before = await plant.read("bms1")
    assert await pcs1.write("setpoint_power_kw", 40.0) == pytest.approx(40.0)
    await plant.clients["pcs2"].write("setpoint_power_kw", -20.0)

    async def settled() -> bool:
        p1, p2 = await plant.read("pcs1"), await plant.read("pcs2")
        return (
            abs((p1["active_power_kw"] or 0) - 40) < 0.5
            and abs((p2["active_power_kw"] or 0) + 20) < 0.5
        )

    for _ in range(100):
        if await settled():
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the PCS did not reach their setpoints")
    bms1, bms2, pcs1_now = (
        await plant.read("bms1"),
        await plant.read("bms2"),
        await plant.read("pcs1"),
    )
    # The PCS draws its AC power plus its conversion losses from its own rack, not the other's.
    assert bms1["pack_current_a"] == pytest.approx(
        40_000 / 0.98 / num(bms1["pack_voltage_v"]), rel=0.03
    )
    assert bms2["pack_current_a"] == pytest.approx(
        -20_000 * 0.98 / num(bms2["pack_voltage_v"]), rel=0.03
    )
    assert pcs1_now["pack_voltage_v"] == pytest.approx(bms1["pack_voltage_v"], abs=1.0)
    await asyncio.sleep(0.5)
    racks = plant.sim.physics.racks
    assert racks["bms1"].soc_pct < 50.0 < racks["bms2"].soc_pct  # each rack its own PCS's way
    later1, later2 = await plant.read("bms1"), await plant.read("bms2")
    assert later1["soc_pct"] == pytest.approx(racks["bms1"].soc_pct, abs=0.011)
    assert later2["soc_pct"] == pytest.approx(racks["bms2"].soc_pct, abs=0.011)
    assert before["soc_pct"] == pytest.approx(50.0)
    meter = await plant.read("poi")
    # load 30 − PV 10 − (40 − 20) plus losses: 0.4 kW + 1 % of (|20| + 10).
    assert meter["grid_power_kw"] == pytest.approx(30 - 10 - 20 + 0.4 + 0.3, abs=0.4)
    phases = [meter[f"grid_power_l{i}_kw"] for i in (1, 2, 3)]
    assert sum(p or 0.0 for p in phases) == pytest.approx(meter["grid_power_kw"], abs=0.01)
    assert meter["grid_frequency_hz"] == pytest.approx(50.0, abs=0.05)
    assert meter["grid_voltage_l2_v"] == pytest.approx(230.0, abs=2.0)


async def test_the_bms_limits_taper_and_its_faults_are_visible(plant: Plant) -> None:
    healthy = await plant.read("bms1")
    assert healthy["ccl_a"] == pytest.approx(160.0, abs=0.2)
    assert healthy["dcl_a"] == pytest.approx(160.0, abs=0.2)
    assert healthy["contactor_closed"] == 1.0
    assert healthy["bms_alarm_word"] == 0.0
    assert healthy["max_charge_power_kw"] == pytest.approx(
        160 * num(healthy["pack_voltage_v"]) / 1000,
        rel=0.01,
    )
    plant.sim.set_soc("bms1", 95.0)
    full = await plant.read("bms1")
    assert full["ccl_a"] == pytest.approx(160 * (98 - 95) / (98 - 90), abs=0.5)
    assert full["dcl_a"] == pytest.approx(160.0, abs=0.2)
    plant.sim.inject("bms2", "cell_imbalance")
    imbalanced = await plant.read("bms2")
    assert num(imbalanced["cell_voltage_max_v"]) > num(healthy["cell_voltage_max_v"]) + 0.1
    assert num(imbalanced["ccl_a"]) < 160.0
    # A contactor that opens: no limits, and its PCS can deliver nothing.
    await plant.clients["pcs1"].write("setpoint_power_kw", 30.0)
    await until(lambda: plant.sim.physics.pcs["pcs1"].power_kw > 29, 5.0, "pcs1 at 30 kW")
    plant.sim.inject("bms1", "contactor_open")
    opened, pcs1 = await plant.read("bms1"), await plant.read("pcs1")
    assert (opened["contactor_closed"], opened["ccl_a"], opened["dcl_a"]) == (0.0, 0.0, 0.0)
    assert opened["pack_current_a"] == pytest.approx(0.0, abs=0.1)
    assert pcs1["active_power_kw"] == pytest.approx(0.0, abs=0.3)
    assert int(pcs1["alarm_word"] or 0) & 1 << 7  # dc_not_ready


async def test_a_step_in_a_bms_limit_and_a_hot_rack_show_in_its_registers(plant: Plant) -> None:
    plant.sim.set_current_limits("bms1", ccl_max_a=50.0)
    stepped = await plant.read("bms1")
    assert stepped["ccl_a"] == pytest.approx(50.0, abs=0.2)
    assert stepped["dcl_a"] == pytest.approx(160.0, abs=0.2)
    plant.sim.set_temperature("bms2", 48.0)  # the hottest cell at 50 °C: half way from 45 to 55
    hot = await plant.read("bms2")
    assert hot["cell_temp_max_c"] == pytest.approx(50.0, abs=0.2)
    assert hot["ccl_a"] == pytest.approx(80.0, abs=1.0)
    assert hot["dcl_a"] == pytest.approx(80.0, abs=1.0)
    assert int(hot["bms_warning_word"] or 0) & 1  # high_temperature
    with pytest.raises(
        PlantConfigError, match=r"no BMS 'pcs1' in the plant \(its BMS: bms1, bms2\)"
    ):
        plant.sim.set_soc("pcs1", 50.0)


async def test_an_over_temperature_trips_the_bms_and_a_missing_value_reads_missing(
    plant: Plant,
) -> None:
    plant.sim.inject("bms1", "over_temperature")
    plant.sim.physics.racks["bms1"].extra_heat_w *= 10  # 10 K/s: the test need not wait
    await until(
        lambda: plant.sim.physics.racks["bms1"].warnings() != 0, 30.0, "a high-temperature warning"
    )
    derated = await plant.read("bms1")
    assert num(derated["cell_temp_max_c"]) >= 45.0
    assert int(derated["bms_warning_word"] or 0) & 1  # high_temperature
    await until(lambda: not plant.sim.physics.racks["bms1"].contactor_closed, 30.0, "the trip")
    tripped = await plant.read("bms1")
    assert int(tripped["bms_alarm_word"] or 0) & 1  # over_temperature
    assert tripped["contactor_closed"] == 0.0
    assert (await plant.read("bms2"))["contactor_closed"] == 1.0  # the other rack is untouched
    plant.sim.inject("bms2", "not_available")
    assert (await plant.read("bms2"))["cell_temp_max_c"] is None
    plant.sim.inject("poi", "not_available")
    assert (await plant.read("poi"))["grid_power_kw"] is None


async def test_a_current_held_beyond_the_limit_trips_the_bms(plant: Plant) -> None:
    """The PCS does not obey its BMS by itself: the gateway must, or the BMS trips."""
    plant.sim.set_soc("bms1", 97.0)  # CCL 20 A: about 16 kW at the rack
    await plant.clients["pcs1"].write("setpoint_power_kw", -60.0)
    await until(
        lambda: plant.sim.physics.racks["bms1"].bms_alarm != 0, 10.0, "an over-current trip"
    )
    assert int((await plant.read("bms1"))["bms_alarm_word"] or 0) & 1 << 3


async def test_reactive_power_follows_its_setpoint_within_the_apparent_rating(plant: Plant) -> None:
    pcs1 = plant.clients["pcs1"]
    await pcs1.write("setpoint_reactive_power_kvar", 30.0)
    await until(lambda: plant.sim.physics.pcs["pcs1"].reactive_kvar == 30.0, 5.0, "Q at 30 kvar")
    assert (await plant.read("pcs1"))["reactive_power_kvar"] == pytest.approx(30.0, abs=0.3)
    meter = await plant.read("poi")
    # The site's load draws 0.3 kvar per kW (30 kW: 9 kvar); the PCS delivers 30.
    assert meter["grid_reactive_power_kvar"] == pytest.approx(9.0 - 30.0, abs=0.3)
    await pcs1.write("setpoint_power_kw", 100.0)
    await pcs1.write("setpoint_reactive_power_kvar", 110.0)
    await until(lambda: plant.sim.physics.pcs["pcs1"].power_kw == 100.0, 5.0, "P at 100 kW")
    await asyncio.sleep(0.2)
    # Active power first: Q gets what 110 kVA leaves, sqrt(110² − 100²) ≈ 45.8 kvar.
    assert (await plant.read("pcs1"))["reactive_power_kvar"] == pytest.approx(45.8, abs=0.4)


async def test_a_grid_frequency_fault_shows_on_the_meter_and_the_pcs(plant: Plant) -> None:
    plant.sim.inject("poi", "under_frequency")
    assert (await plant.read("poi"))["grid_frequency_hz"] == pytest.approx(49.5, abs=0.05)
    assert (await plant.read("pcs2"))["grid_frequency_hz"] == pytest.approx(49.5, abs=0.05)


async def test_bad_faults_and_shared_ports_are_one_line() -> None:
    sim = PlantSimulator(_devices(), step_hz=0)
    with pytest.raises(PlantConfigError, match=r"no device 'bms9' in the plant \(it has pcs1"):
        sim.inject("bms9", "over_temperature")
    with pytest.raises(PlantConfigError, match="fault 'contactor_open' is a BMS's; pcs1 is no BMS"):
        sim.inject("pcs1", "contactor_open")
    with pytest.raises(PlantConfigError, match="unknown fault 'melt'"):
        sim.inject("bms1", "melt")
    same = [
        dataclasses.replace(d, port=5999) if d.name in ("pcs2", "bms1") else d for d in _devices()
    ]
    with pytest.raises(
        PlantConfigError, match=r"bms1 and pcs2 are both unit 1 on 127\.0\.0\.1:5999"
    ):
        PlantSimulator(same, step_hz=0)


async def test_several_units_behind_one_port_answer_each_for_itself() -> None:
    """Two rack BMS behind one Modbus gateway (units 2 and 3), and a fault on one of them."""
    port = free_port()
    units = {"bms1": 2, "bms2": 3}
    devices = [
        dataclasses.replace(d, port=port, unit_id=units[d.name]) if d.name in units else d
        for d in _devices()
    ]
    sim = PlantSimulator(devices, step_hz=0)
    ports = await sim.start()
    clients = [
        ModbusDevice(name, load_profile("sim_bms"), TcpEndpoint("127.0.0.1", port), unit_id=unit)
        for name, unit in units.items()
    ]
    try:
        assert ports["bms1"] == ports["bms2"] == port
        sim.set_soc("bms1", 70.0)
        sim.set_soc("bms2", 30.0)
        sim.inject("bms2", "contactor_open")
        first, second = await clients[0].poll(), await clients[1].poll()
        assert (first.values["soc_pct"], first.values["contactor_closed"]) == (70.0, 1.0)
        assert (second.values["soc_pct"], second.values["contactor_closed"]) == (30.0, 0.0)
        # Each counts its own requests, as a device's diagnostic counters do.
        assert sim.sims["bms1"].requests_received == sim.sims["bms2"].requests_received == 2
        stranger = ModbusDevice(
            "x", load_profile("sim_bms"), TcpEndpoint("127.0.0.1", port), unit_id=9
        )
        clients.append(stranger)
        with pytest.raises(DeviceUnavailable):  # no device answers unit 9
            await stranger.poll()
    finally:
        for client in clients:
            await client.close()
        await sim.stop()


async def test_bessai_simulate_site_serves_the_example_with_a_fault(tmp_path: Path) -> None:
    site, ports = plant_site_file(tmp_path)
    env = {**os.environ, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path / "data")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "simulate",
        "--site",
        str(site),
        "--fault",
        "bms2:contactor_open",
        "--soc",
        "bms1=70",
        "--duration",
        "60",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    clients: list[ModbusDevice] = []
    try:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 30.0)).decode() for _ in range(5)]
        assert lines[0].startswith(
            f"simulator pcs1 (sim_pcs, inverter) on tcp://127.0.0.1:{ports['pcs1']}"
        )
        assert "drives bms1" in lines[0]
        bms1 = ModbusDevice(
            "bms1", load_profile("sim_bms"), TcpEndpoint("127.0.0.1", ports["bms1"])
        )
        bms2 = ModbusDevice(
            "bms2", load_profile("sim_bms"), TcpEndpoint("127.0.0.1", ports["bms2"])
        )
        clients += [bms1, bms2]
        first, second = await bms1.poll(), await bms2.poll()
        assert first.values["soc_pct"] == pytest.approx(70.0, abs=0.1)
        assert first.values["contactor_closed"] == 1.0
        assert second.values["contactor_closed"] == 0.0
    finally:
        for client in clients:
            await client.close()
        if proc.returncode is None:
            proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 15.0)
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fault", "bms7:frozen"], "no device 'bms7' in the plant"),
        (["--fault", "bms1"], "--fault 'bms1': expected DEVICE:VALUE"),
        (["--soc", "bms1=full"], "--soc 'bms1=full': 'full' is not a number"),
        (["--attack", "poi:nuke"], "--attack poi:nuke: unknown attack"),
    ],
)
async def test_bessai_simulate_site_refuses_bad_flags_in_one_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    site, _ = plant_site_file(tmp_path)
    env = {**os.environ, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path / "data")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "simulate",
        "--site",
        str(site),
        *args,
        "--duration",
        "1",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60.0)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0]
