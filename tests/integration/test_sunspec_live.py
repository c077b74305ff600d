"""SunSpec maps encoded by pysunspec2 and served by pymodbus' own server: discovery's profile
reads every point as pysunspec2 decodes it, keeps following the scale factors when they change
after discovery, writes model 124's window with the live InOutWRte_SF and WChaMax, and a
malformed map gives warnings, no trusted doubtful role and no traceback."""

from __future__ import annotations

import asyncio
import math
import shutil
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bessai.drivers.command import PowerCommand
from bessai.drivers.device import ModbusDevice, SerialEndpoint, TcpEndpoint, WriteRejected
from bessai.drivers.discovery import discover, discovered_profile
from bessai.drivers.profile import Profile
from bessai.drivers.profile_loader import load_profile, parse_profile
from bessai.drivers.simulator.server import BessSimulator
from bessai.drivers.simulator.sunspec_chain import sunspec_simulator_map
from bessai.drivers.sunspec import instances, model, register_name, unit_of
from tests.helpers import run_bessai, until
from tests.sunspec_images import (
    ImageServer,
    chain,
    decoded,
    device_image_models,
    encoded,
    storage_models,
)

BASE = 40000


async def _discovered(server: ImageServer) -> tuple[Profile, dict[str, Any], int]:
    port = await server.start()
    found = await discover("127.0.0.1", port, unit=server.unit_id, interval_s=0.0)
    assert found.sunspec is not None
    data = discovered_profile(found.sunspec, "127.0.0.1", port, "now")
    return parse_profile(data, "discovered"), data, port


def _points(profile: Profile, words: list[int]) -> dict[str, tuple[int, str, str]]:
    """Register name -> (model address, point name, SunSpec units) for every model point."""
    placed = []
    address = BASE + 2
    while words[address - BASE] != 0xFFFF:
        mid, length = words[address - BASE], words[address - BASE + 1]
        placed.append((mid, address))
        address += 2 + length
    names: dict[str, tuple[int, str, str]] = {}
    ids = [mid for mid, _ in placed]
    seen: dict[int, int] = {}
    for mid, at in placed:
        instance = seen.get(mid, 0)
        seen[mid] = instance + 1
        definition = model(mid)
        assert definition is not None, ids
        for point in definition.points:
            names[register_name(mid, point.name, instance)] = (at, point.name, point.units)
    return names


def _assert_matches_pysunspec2(
    profile: Profile, words: list[int], values: dict[str, float | None], texts: dict[str, str]
) -> int:
    """Every register of a model point against pysunspec2's decoding of the same words."""
    points = _points(profile, words)
    compared = 0
    by_model: dict[int, dict[str, Any]] = {}
    for reg in profile.registers:
        if reg.name not in points:
            continue
        at, point, units = points[reg.name]
        if point in ("ID", "L"):  # the chain's own words (pysunspec2 reports a fixed L)
            assert values.get(reg.name) == words[at - BASE + (point == "L")], reg.name
            continue
        expected = by_model.setdefault(at, decoded(words, at))[point]
        if isinstance(expected, str):
            assert texts.get(reg.name) == expected.strip(), reg.name
        elif expected is None:
            assert values.get(reg.name) is None, (reg.name, values.get(reg.name))
        else:
            known = unit_of(units)
            assert known is not None
            got = values.get(reg.name)
            assert got is not None, reg.name
            assert math.isclose(got, float(expected) * known[1], rel_tol=1e-9, abs_tol=1e-9), (
                reg.name,
                got,
                expected,
            )
        compared += 1
    return compared


async def _poll(profile: Profile, port: int) -> tuple[dict[str, float | None], dict[str, str]]:
    device = ModbusDevice("ss", profile, TcpEndpoint("127.0.0.1", port))
    try:
        result = await device.poll()
    finally:
        await device.close()
    assert result.complete, result.errors
    return result.values, result.texts


@pytest.fixture
async def storage() -> AsyncIterator[ImageServer]:
    server = ImageServer(chain(storage_models()))
    try:
        yield server
    finally:
        await server.stop()


def _address(profile: Profile, name: str) -> int:
    return profile.by_name(name).address


async def test_a_storage_device_reads_as_pysunspec2_decodes_it_and_follows_its_scale_factors(
    storage: ImageServer,
) -> None:
    profile, data, port = await _discovered(storage)
    assert "warnings" not in data
    values, texts = await _poll(profile, port)
    assert _assert_matches_pysunspec2(profile, storage.words, values, texts) >= 130
    roles = profile.roles_of(values)
    assert roles["soc_pct"] == pytest.approx(63.21)
    assert roles["active_power_kw"] == pytest.approx(-1.5)
    assert roles["pack_current_a"] == pytest.approx(-1.99)
    assert roles["capacity_kwh"] == pytest.approx(20.0)
    # The device changes its scale factors at run time: power and current by ten.
    storage.set(_address(profile, "bat_w_sf"), [2])
    storage.set(_address(profile, "bat_a_sf"), [-1 & 0xFFFF])
    storage.set(_address(profile, "bat_soc_sf"), [-3 & 0xFFFF])
    values, texts = await _poll(profile, port)
    assert _assert_matches_pysunspec2(profile, storage.words, values, texts) >= 130
    roles = profile.roles_of(values)
    assert roles["active_power_kw"] == pytest.approx(-15.0)
    assert roles["pack_current_a"] == pytest.approx(-19.9)
    assert roles["soc_pct"] == pytest.approx(6.321)
    # "Not implemented" (0x8000) and out of range: the values it scales are unknown.
    storage.set(_address(profile, "bat_w_sf"), [0x8000])
    storage.set(_address(profile, "bat_a_sf"), [11])
    values, _ = await _poll(profile, port)
    roles = profile.roles_of(values)
    assert roles["active_power_kw"] is None
    assert values["bat_reqw"] is None
    assert roles["pack_current_a"] is None
    assert roles["soc_pct"] == pytest.approx(6.321)


async def test_model_124_is_written_with_the_live_scale_factor_and_wchamax(
    storage: ImageServer,
) -> None:
    profile, _, port = await _discovered(storage)
    control = profile.control
    assert control is not None
    assert control.rated_power == "st_wchamax"
    assert control.rated_power_kw == pytest.approx(10.0)
    device = ModbusDevice("ss", profile, TcpEndpoint("127.0.0.1", port))
    command = PowerCommand(device, control)
    inwrte = _address(profile, "st_inwrte")
    try:
        assert await command.apply(3.0) == pytest.approx(3.0)
        model_124 = _address(profile, "st_id")
        now = decoded(storage.words, model_124)
        assert now["StorCtl_Mod"] == 3
        # +3 kW of 10 kW: OutWRte 30 %, InWRte -30 % (raw at InOutWRte_SF -2 as pysunspec2 reads).
        assert now["OutWRte"] == pytest.approx(30.0)
        assert now["InWRte"] == pytest.approx(-30.0)
        assert storage.words[inwrte - BASE] == (-3000) & 0xFFFF
        # The device changes InOutWRte_SF to -1 and its WChaMax to 5 kW (500 at SF 1).
        storage.set(_address(profile, "st_inoutwrte_sf"), [-1 & 0xFFFF])
        storage.set(_address(profile, "st_wchamax"), [500])
        assert await command.apply(2.0) == pytest.approx(2.0)
        now = decoded(storage.words, model_124)
        assert now["OutWRte"] == pytest.approx(40.0)  # 2 kW of 5 kW
        assert now["InWRte"] == pytest.approx(-40.0)
        assert storage.words[inwrte - BASE] == (-400) & 0xFFFF
        # An SF that is not implemented: nothing is written on a guess.
        storage.set(_address(profile, "st_inoutwrte_sf"), [0x8000])
        before = list(storage.words)
        with pytest.raises(WriteRejected, match="st_inoutwrte_sf reads 0x8000"):
            await command.apply(1.0)
        assert storage.words == before
        # The rating itself unknown (its SF not implemented): no percentage of it is written.
        storage.set(_address(profile, "st_inoutwrte_sf"), [-2 & 0xFFFF])
        storage.set(_address(profile, "st_wchamax_sf"), [0x8000])
        with pytest.raises(WriteRejected, match="st_wchamax"):
            await command.apply(1.0)
    finally:
        await device.close()


@pytest.mark.parametrize("image", ["device_1547.json", "inverter_123.json"])
async def test_the_device_images_pysunspec2_ships_read_as_it_decodes_them(image: str) -> None:
    server = ImageServer(chain(device_image_models(image)))
    try:
        profile, data, port = await _discovered(server)
        values, texts = await _poll(profile, port)
        compared = _assert_matches_pysunspec2(profile, server.words, values, texts)
        assert compared >= 10
        if image == "device_1547.json":
            # Model 701's W and Hz carry the power and frequency roles.
            assert _roles(profile)["active_power_kw"] == "m701_w"
            assert _roles(profile)["grid_frequency_hz"] == "m701_hz"
        assert data["sources"][0].startswith("SunSpec Alliance information models")
    finally:
        await server.stop()


def _doubtful(profile: Profile) -> list[str]:
    return [r.name for r in profile.registers if "not trusted" in r.note]


def _roles(profile: Profile) -> dict[str, str]:
    return {r.role.value: r.name for r in profile.registers if r.role is not None}


MODELS = {m[0]: m for m in storage_models()}


def _bad_maps() -> dict[str, tuple[list[int], str, set[str]]]:
    """name -> (image words, a warning's words, register prefixes that must get no role)."""
    short_802 = MODELS[802][:2] + MODELS[802][2:30]  # its L says 62; 28 words are served
    repeated = [MODELS[1], MODELS[802], MODELS[802]]
    return {
        "model not read whole": (
            chain([MODELS[1], MODELS[124], short_802], end=[]),
            "could not be read whole",
            {"bat_"},
        ),
        "scale factor not implemented": (
            chain(
                [
                    MODELS[1],
                    encoded(124, {"WChaMax": 1000, "WChaMax_SF": 1, "InOutWRte_SF": -32768}),
                    encoded(802, {"SoC": 6321, "SoC_SF": -32768, "W": -150, "W_SF": 1}),
                ]
            ),
            "not a usable scale factor",
            {"bat_soc", "st_inwrte", "st_outwrte"},
        ),
        "repeated model": (chain(repeated), "appears again", {"bat_", "bat2_"}),
        "model id 0 as the end": (
            chain([MODELS[1], MODELS[802]], end=[0, 0]),
            "not the end marker 0xFFFF",
            {"bat_"},
        ),
        "a loop with no end": (
            chain([MODELS[1]] * 70, end=[]),
            "no end marker after 64 models",
            {"c_", "c2_"},
        ),
        "a header that is no model": (
            chain([MODELS[1], MODELS[802], [4242, 2, 0, 0], MODELS[124]]),
            "neither a model pysunspec2 defines nor a vendor model",
            {"bat_", "st_"},
        ),
        "length shorter than the model": (
            chain([MODELS[1], [802, 20, *MODELS[802][2:22]]]),
            "is shorter (L=20)",
            {"bat_"},
        ),
    }


@pytest.mark.parametrize("case", sorted(_bad_maps()))
async def test_a_malformed_map_gives_warnings_and_no_trusted_doubtful_role(case: str) -> None:
    words, warning, untrusted = _bad_maps()[case]
    server = ImageServer(words)
    try:
        port = await server.start()
        found = await discover("127.0.0.1", port, unit=1, interval_s=0.0, timeout_s=0.3)
        assert found.sunspec is not None
        data = discovered_profile(found.sunspec, "127.0.0.1", port, "now")
        profile = parse_profile(data, case)  # still a valid profile, only less trusted
        assert any(warning in w for w in profile.warnings), profile.warnings
        for role, name in _roles(profile).items():
            assert not any(name.startswith(p) for p in untrusted), (role, name)
            assert "not trusted" not in profile.by_name(name).note, name
        assert _doubtful(profile), "the doubt is kept in the registers' notes"
        if case == "scale factor not implemented":
            assert profile.control is None  # InOutWRte_SF not implemented: no window on a guess
            assert any("no control section" in w for w in profile.warnings)
        elif case == "model not read whole":
            assert profile.control is not None  # model 124 itself was read whole
    finally:
        await server.stop()


async def test_a_model_ending_at_the_end_of_the_address_space_is_no_traceback(
    tmp_path: Path,
) -> None:
    # Model 1 at 50002, then a vendor model whose last word is 65535: no end marker can follow.
    vendor_length = 65536 - (50002 + 68) - 2
    words = chain([MODELS[1], [64001, vendor_length] + [0] * vendor_length], end=[])
    assert 50000 + len(words) == 65536
    server = ImageServer(words, base=50000)
    port = await server.start()
    try:
        out = tmp_path / "edge.json"
        code, stdout, err = await run_bessai(
            "discover",
            "127.0.0.1",
            "--port",
            str(port),
            "--unit",
            "1",
            "--out",
            str(out),
            cwd=tmp_path,
        )
        assert code == 0, err
        assert "Traceback" not in err
        assert "end of the address space (65536)" in stdout
        profile = load_profile(out)
        assert profile.warnings
        assert "sunspec_end" not in {r.name for r in profile.registers}
        code, stdout, err = await run_bessai("profile", "check", str(out), cwd=tmp_path)
        assert code == 0, err
        assert "warning: the chain reaches the end of the address space" in stdout
        code, stdout, err = await run_bessai("profile", "check", "--strict", str(out), cwd=tmp_path)
        assert code == 1
        assert "warning:" in stdout
    finally:
        await server.stop()


def test_a_unit_bessai_does_not_know_gives_no_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """713's WHRtg in "WH" converts to kWh like "Wh"; a spelling not known keeps no role."""
    from dataclasses import replace

    import bessai.drivers.sunspec as sunspec

    plain = sunspec.model
    placed = sunspec.chain_addresses(40000, [1, 713])
    good = sunspec.profile_dict(
        placed, 40000, {"ds_wh_sf": 1, "ds_pct_sf": -1}, identity={}, profile_id="x", source="t"
    )
    ds_whrtg = next(r for r in good["registers"] if r["name"] == "ds_whrtg")
    assert ds_whrtg["unit"] == "kWh"
    assert ds_whrtg["scale"] == pytest.approx(0.01)  # WH_SF is static: 10 Wh = 0.01 kWh
    assert ds_whrtg["role"] == "capacity_kwh"

    def odd(model_id: int) -> sunspec.Model | None:
        found = plain(model_id)
        if found is None or model_id != 713:
            return found
        points = tuple(replace(p, units="MWhx") if p.name == "WHRtg" else p for p in found.points)
        return replace(found, points=points)

    monkeypatch.setattr(sunspec, "model", odd)
    data = sunspec.profile_dict(
        placed, 40000, {"ds_wh_sf": 1, "ds_pct_sf": -1}, identity={}, profile_id="x", source="t"
    )
    whrtg = next(r for r in data["registers"] if r["name"] == "ds_whrtg")
    assert "role" not in whrtg
    assert "unit 'MWhx' is not one bessai knows" in whrtg["note"]
    assert instances(placed) == [0, 0]


@pytest.fixture
async def pty_pair(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """Two linked pseudo-terminals from socat: a serial line on this machine."""
    socat = shutil.which("socat")
    if socat is None:
        pytest.fail("socat is not installed: .ci/run installs it (apt-get install socat)")
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    proc = await asyncio.create_subprocess_exec(
        socat,
        "-d",
        f"pty,raw,echo=0,link={a}",
        f"pty,raw,echo=0,link={b}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if a.exists() and b.exists():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("socat did not create the pty pair")
        yield str(a), str(b)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 5)


async def test_rtu_discovery_over_a_socat_pty_pair_writes_the_same_profile(
    pty_pair: tuple[str, str], tmp_path: Path
) -> None:
    server_end, client_end = pty_pair
    profile, constants = sunspec_simulator_map()
    sim = BessSimulator(profile, seed=3, step_hz=0, unit_id=3, constants=constants)
    sim.model.soc_pct = 41.7
    sim.refresh_image()
    await sim.start_rtu(server_end, baudrate=19200)
    try:
        out = tmp_path / "rtu.json"
        code, stdout, err = await run_bessai(
            "discover",
            "--serial",
            client_end,
            "--baud",
            "19200",
            "--interval",
            "0",
            "--out",
            str(out),
            cwd=tmp_path,
        )
        assert code == 0, err
        # A pty takes any baud rate but no parity: 8N1 answers, E and O are refused there.
        assert f"{client_end} at 19200 8N1" in stdout
        assert "units answering: 3" in stdout
        assert "SunSpec at 40000: BESSAI SIM-BESS-SUNSPEC" in stdout
        found = load_profile(out)
        assert found.protocol == ["rtu"]
        assert found.connection.unit_id == 3
        assert "19200 8N1" in found.description
        assert not found.warnings
        # The same registers, roles and control as the TCP discovery of the same chain.
        over_tcp = parse_profile(
            sunspec_profile_for(found.connection.unit_id), "tcp discovery of the same chain"
        )
        assert [(r.name, r.address, r.role, r.scale_factor) for r in found.registers] == [
            (r.name, r.address, r.role, r.scale_factor) for r in over_tcp.registers
        ]
        assert found.control == over_tcp.control
        device = ModbusDevice("rtu", found, SerialEndpoint(client_end, baudrate=19200))
        try:
            result = await device.poll()
        finally:
            await device.close()
        assert found.roles_of(result.values)["soc_pct"] == pytest.approx(41.7, abs=0.01)
    finally:
        await sim.stop()


def sunspec_profile_for(unit_id: int) -> dict[str, Any]:
    """What discovery writes for the simulated chain, built without a line in between."""
    from bessai.drivers.discovery import SunSpecMap
    from bessai.drivers.simulator.sunspec_chain import (
        SIM_BASE,
        SIM_CHAIN,
        SIM_IDENTITY,
        SIM_RATED_W,
        SIM_SCALE_FACTORS,
    )
    from bessai.drivers.sunspec import chain_addresses

    found = SunSpecMap(
        unit_id,
        SIM_BASE,
        chain_addresses(SIM_BASE, SIM_CHAIN),
        [],
        dict(SIM_IDENTITY),
        dict(SIM_SCALE_FACTORS),
        SIM_RATED_W,
    )
    return discovered_profile(found, "127.0.0.1", 502, "now")


async def test_rtu_discovery_of_a_silent_line_ends_within_its_deadline(
    pty_pair: tuple[str, str], tmp_path: Path
) -> None:
    _, client_end = pty_pair  # nothing answers at the other end
    started = time.monotonic()
    code, stdout, err = await run_bessai(
        "discover",
        "--serial",
        client_end,
        "--timeout",
        "0.2",
        "--interval",
        "0",
        "--deadline",
        "3",
        cwd=tmp_path,
    )
    elapsed_s = time.monotonic() - started
    assert code == 1, err
    assert "Traceback" not in err
    assert "no setting that answered" in stdout
    assert "units answering: none" in stdout
    assert elapsed_s < 30  # the 3 s deadline, plus starting Python


GENERIC_IMAGES: dict[str, list[list[int]]] = {
    "sunspec_battery": [
        MODELS[1],
        MODELS[802],
        encoded(
            803,
            {
                "NStr": 0,
                "ModTmpMax": 312,
                "ModTmpMin": 254,
                "ModTmp_SF": -1,
                "StrVMax": 7600,
                "V_SF": -1,
                "StrAMax": -120,
                "A_SF": -1,
                "CellV_SF": -3,
                "SoH_SF": 0,
                "SoC_SF": 0,
            },
        ),
        encoded(
            804,
            {
                "Idx": 1,
                "NMod": 0,
                "SoC": 632,
                "SoC_SF": -1,
                "SoH": 98,
                "SoH_SF": 0,
                "A": -199,
                "A_SF": -2,
                "V": 7523,
                "V_SF": -1,
                "CellVMax": 3412,
                "CellV_SF": -3,
                "ModTmpMax": 305,
                "ModTmp_SF": -1,
                "DoD_SF": 0,
            },
        ),
    ],
    **{
        f"sunspec_meter_{kind}": [
            MODELS[1],
            encoded(
                mid,
                {
                    "A": 1234,
                    "A_SF": -2,
                    "W": 4200,
                    "WphA": 1400,
                    "WphB": 1500,
                    "WphC": 1300,
                    "W_SF": 0,
                    "Hz": 5002,
                    "Hz_SF": -2,
                    "VAR": -310,
                    "VARphA": -100,
                    "VARphB": -110,
                    "VARphC": -100,
                    "VAR_SF": 0,
                    "PhVphA": 2301,
                    "PhVphB": 2299,
                    "PhVphC": 2310,
                    "V_SF": -1,
                    "VA_SF": 0,
                    "PF_SF": -2,
                    "TotWhImp": 123456,
                    "TotWh_SF": 0,
                    "TotVAh_SF": 0,
                    "TotVArh_SF": 0,
                },
            ),
        ]
        for kind, mid in (("single_phase", 201), ("split_phase", 202), ("wye", 203), ("delta", 204))
    },
}


@pytest.mark.parametrize("profile_id", sorted(GENERIC_IMAGES))
async def test_a_generic_sunspec_profile_reads_a_pysunspec2_image_with_live_scale_factors(
    profile_id: str,
) -> None:
    from bessai.drivers.sunspec import generic_profile

    shipped = load_profile(profile_id)
    # The registry's file is what the SunSpec module builds from pysunspec2's definitions.
    built = parse_profile(generic_profile(profile_id), profile_id)
    assert shipped.model_dump(exclude={"schema_"}) == built.model_dump(exclude={"schema_"})
    assert all(r.scale_factor for r in shipped.registers if "_SF" in r.note)
    server = ImageServer(chain(GENERIC_IMAGES[profile_id]))
    port = await server.start()
    try:
        values, texts = await _poll(shipped, port)
        assert _assert_matches_pysunspec2(shipped, server.words, values, texts) >= 40
        roles = shipped.roles_of(values)
        if profile_id == "sunspec_battery":
            assert roles["soc_pct"] == pytest.approx(63.21)
            assert roles["battery_temp_c"] == pytest.approx(31.2)
            sf = "bat_w_sf"
            before, after = roles["active_power_kw"], -15.0
        else:
            assert roles["grid_power_kw"] == pytest.approx(4.2)
            assert roles["grid_frequency_hz"] == pytest.approx(50.02)
            sf = "mt_w_sf"
            before, after = roles["grid_power_kw"], 42.0
        assert before is not None
        # The device raises the power's scale factor by one decade: the value follows.
        server.set(_address(shipped, sf), [2 if profile_id == "sunspec_battery" else 1])
        values, texts = await _poll(shipped, port)
        assert _assert_matches_pysunspec2(shipped, server.words, values, texts) >= 40
        key = "active_power_kw" if profile_id == "sunspec_battery" else "grid_power_kw"
        assert shipped.roles_of(values)[key] == pytest.approx(after)
    finally:
        await server.stop()


async def test_a_scale_factor_that_stops_being_usable_interlocks_the_gateway(
    storage: ImageServer, tmp_path: Path
) -> None:
    from bessai.core.config.settings import DeviceConfig
    from bessai.core.guard.safety import Reason
    from bessai.core.site.gateway import Gateway
    from bessai.drivers.discovery import write_profile

    profile, data, port = await _discovered(storage)
    path = tmp_path / "found.json"
    write_profile(data, path)
    device = DeviceConfig(
        name="bess", profile=str(path), host="127.0.0.1", port=port, poll_interval_s=0.2
    )
    gw = Gateway("sf", [device], data_dir=tmp_path, control_interval_s=0.2)
    await gw.start()
    try:
        ctl = gw.controller()

        def soc_unknown() -> bool:
            return any(
                i.reason is Reason.INTERLOCK_MEASUREMENT and "soc_pct" in i.message_en
                for i in ctl.current_interlocks(time.time())
            )

        await until(lambda: ctl.telemetry.comms_up, 5.0, "first sample")
        await until(lambda: ctl.telemetry.soc_pct is not None, 5.0, "the SoC")
        assert ctl.telemetry.soc_pct == pytest.approx(63.21)
        assert not soc_unknown()
        storage.set(_address(profile, "bat_soc_sf"), [0x8000])
        await until(soc_unknown, 5.0, "the SoC unknown once its scale factor is not implemented")
        storage.set(_address(profile, "bat_soc_sf"), [-3 & 0xFFFF])
        await until(lambda: not soc_unknown(), 5.0, "the SoC known again")
        assert ctl.telemetry.soc_pct == pytest.approx(6.321)
    finally:
        await gw.stop()
