"""Device profiles: the shipped ones load, the schema file is current, bad ones are refused with a path."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from bessai.drivers.planner import ReadPlan
from bessai.drivers.profile import Role
from bessai.drivers.profile_loader import (
    ProfileError,
    load_profile,
    parse_profile,
    profile_json_schema,
    registry_ids,
)

VENDOR_PROFILES = {
    "huawei_sun2000_luna2000",
    "sma_sunny_island",
    "victron_gx_system",
    "solaredge_storedge",
    "sungrow_sh_rt",
    "sma_sunny_boy_storage",
    "sma_sunny_tripower_se",
    "goodwe_et",
    "kostal_plenticore",
    "fronius_gen24_plus",
}
# The plant simulator's devices: a PCS, a rack BMS and a POI meter.
PLANT_SIM_PROFILES = {"sim_pcs", "sim_bms", "sim_meter"}
# Real meters and rack BMS of a plant: measured, never commanded.
PLANT_METERS = {"janitza_umg604", "eastron_sdm630", "socomec_diris_a10"}
PLANT_BMS = {"byd_battery_box_commercial_c130"}
# Generic SunSpec battery and meters, built from pysunspec2's model definitions (their own
# tests: tests/integration/test_sunspec_live.py).
SUNSPEC_GENERIC = {
    "sunspec_battery",
    "sunspec_meter_single_phase",
    "sunspec_meter_split_phase",
    "sunspec_meter_wye",
    "sunspec_meter_delta",
}


def _sim_data() -> dict[str, Any]:
    text = resources.files("bessai.registry").joinpath("sim_bess.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_registry_ships_simulator_and_five_vendor_profiles() -> None:
    ids = set(registry_ids())
    assert "sim_bess" in ids
    assert ids >= VENDOR_PROFILES


@pytest.mark.parametrize("profile_id", sorted(VENDOR_PROFILES | {"sim_bess"}))
def test_shipped_profile_loads_with_source_and_core_roles(profile_id: str) -> None:
    profile = load_profile(profile_id)
    assert profile.source.strip()
    assert profile.by_role(Role.SOC_PCT) is not None
    assert profile.by_role(Role.PACK_VOLTAGE_V) is not None
    for reg in profile.registers:
        if reg.writable and reg.type.value not in ("string", "bool"):
            assert reg.min is not None
            assert reg.max is not None


def test_schema_file_matches_the_model() -> None:
    text = resources.files("bessai.registry").joinpath("schema.json").read_text("utf-8")
    assert json.loads(text) == profile_json_schema(), "regenerate bessai/registry/schema.json"


def test_shipped_profiles_validate_against_schema_file() -> None:
    import jsonschema

    schema = profile_json_schema()
    for pid in registry_ids():
        data = json.loads(
            resources.files("bessai.registry").joinpath(f"{pid}.json").read_text("utf-8")
        )
        jsonschema.validate(data, schema)


def _mutated(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_sim_data())
    change(data)
    return data


BAD_PROFILES = [
    (
        "duplicate name",
        lambda d: d["registers"][1].update(name=d["registers"][0]["name"]),
        "$.registers[1].name",
        "duplicate name",
    ),
    (
        "overlap",
        lambda d: d["registers"][1].update(address=d["registers"][0]["address"]),
        "$.registers[1].address",
        "overlaps",
    ),
    (
        "count vs type",
        lambda d: d["registers"][2].update(count=1),
        "$.registers[2].count",
        "does not match type i32",
    ),
    (
        "writable without limits",
        lambda d: d["registers"][-1].pop("max"),
        "$.registers[",
        "needs both 'min' and 'max'",
    ),
    (
        "unknown role",
        lambda d: d["registers"][0].update(role="soc_percent"),
        "$.registers[0].role",
        "Input should be",
    ),
    (
        "unknown type",
        lambda d: d["registers"][0].update(type="u24"),
        "$.registers[0].type",
        "Input should be",
    ),
    (
        "address out of range",
        lambda d: d["registers"][0].update(address=70000),
        "$.registers[0].address",
        "less than or equal",
    ),
    (
        "writable input register",
        lambda d: d["registers"][0].update(access="rw", min=0, max=1),
        "$.registers[0].access",
        "read-only",
    ),
    (
        "unknown key",
        lambda d: d["registers"][0].update(scael=2),
        "$.registers[0].scael",
        "Extra inputs",
    ),
    (
        "string without count",
        lambda d: d["registers"][19].pop("count"),
        "$.registers[19].count",
        "needs 'count'",
    ),
    (
        "duplicate role",
        lambda d: d["registers"][1].update(role="soc_pct"),
        "$.registers[1].role",
        "already given",
    ),
    (
        "zero scale",
        lambda d: d["registers"][0].update(scale=0),
        "$.registers[0].scale",
        "must not be 0",
    ),
]


@pytest.mark.parametrize(
    ("label", "change", "path", "reason"), BAD_PROFILES, ids=[b[0] for b in BAD_PROFILES]
)
def test_bad_profile_is_refused_with_path_and_reason(
    label: str, change: Any, path: str, reason: str
) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(_mutated(change), "bad.json")
    assert info.value.source == "bad.json"
    assert info.value.path.startswith(path), info.value.path
    assert reason in info.value.reason
    assert str(info.value).startswith("bad.json: $")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"id": "x",\n "registers": [\n', encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(bad)
    assert str(bad) in str(info.value)
    assert "line 3" in info.value.path


def test_unknown_registry_id_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="sim_bess"):
        load_profile("no_such_device")


def test_unverified_registers_are_marked() -> None:
    huawei = load_profile("huawei_sun2000_luna2000")
    assert huawei.by_name("battery_soc_pct").verified
    assert not huawei.by_name("esu1_battery_temp_c").verified


# The request count of one full poll of each shipped profile: a change here is a
# change in what every site sends its devices, so it is pinned on purpose.
EXPECTED_REQUESTS = {
    "sim_bess": 2,
    "huawei_sun2000_luna2000": 10,
    "sma_sunny_island": 7,
    "victron_gx_system": 5,  # system and settings on unit 100, the Multi on its own
    "solaredge_storedge": 5,
    "sungrow_sh_rt": 4,
    "sma_sunny_boy_storage": 7,
    "sma_sunny_tripower_se": 7,
    "goodwe_et": 3,
    "kostal_plenticore": 5,
    "fronius_gen24_plus": 2,  # each SunSpec value in one request with its scale factor
    "sim_pcs": 2,
    "sim_bms": 2,
    "sim_meter": 1,
    "janitza_umg604": 2,
    "eastron_sdm630": 2,  # at most 60 registers a request, as the meter asks
    "byd_battery_box_commercial_c130": 5,  # no reads across unmapped words
    "socomec_diris_a10": 1,
    "sunspec_battery": 3,  # 100 registers a request over models 1, 802, 803 and 804
    "sunspec_meter_single_phase": 2,
    "sunspec_meter_split_phase": 2,
    "sunspec_meter_wye": 2,
    "sunspec_meter_delta": 2,
}


@pytest.mark.parametrize(("profile_id", "requests"), sorted(EXPECTED_REQUESTS.items()))
def test_full_poll_request_count(profile_id: str, requests: int) -> None:
    profile = load_profile(profile_id)
    plan = ReadPlan.for_profile(profile)
    assert plan.request_count == requests
    assert plan.request_count < len(profile.registers)
    for block in plan.blocks:
        assert block.count <= profile.connection.max_registers_per_request
        assert all(
            block.address <= r.address and r.end <= block.address + block.count
            for r in block.registers
        )
    covered = sorted(r.name for b in plan.blocks for r in b.registers)
    assert covered == sorted(r.name for r in profile.registers)


def test_every_shipped_profile_is_pinned() -> None:
    assert sorted(EXPECTED_REQUESTS) == registry_ids()
    shipped = VENDOR_PROFILES | PLANT_SIM_PROFILES | PLANT_METERS | PLANT_BMS | SUNSPEC_GENERIC
    assert shipped | {"sim_bess"} == set(registry_ids())


@pytest.mark.parametrize("profile_id", sorted(PLANT_METERS | PLANT_BMS))
def test_plant_profiles_name_their_sources_map_their_part_and_say_what_is_unconfirmed(
    profile_id: str,
) -> None:
    profile = load_profile(profile_id)
    assert profile.source.strip()
    assert profile.sources, "a vendor map needs an independent implementation beside it"
    assert profile.control is None, "a meter or a BMS is never commanded"
    assert not any(r.writable for r in profile.registers)
    roles = profile.roles_of({})
    if profile_id in PLANT_METERS:
        phases = {f"grid_power_l{i}_kw" for i in (1, 2, 3)}
        assert {"grid_power_kw", "grid_frequency_hz"} | phases <= set(roles)
    else:
        bms_roles = {"soc_pct", "ccl_a", "dcl_a", "cell_voltage_max_v", "cell_temp_max_c"}
        assert bms_roles | {"bms_alarm_word"} <= set(roles)
    for reg in profile.registers:
        if not reg.verified:
            assert reg.note, reg.name
    assert any(not r.verified for r in profile.registers), "say what stays unconfirmed"


@pytest.mark.parametrize("profile_id", sorted(VENDOR_PROFILES))
def test_vendor_profiles_name_their_corroborating_sources_and_say_what_is_unconfirmed(
    profile_id: str,
) -> None:
    profile = load_profile(profile_id)
    assert len(profile.sources) >= 2, "a vendor map needs independent implementations beside it"
    assert profile.control is not None, "a vendor profile says how its battery is commanded"
    assert profile.control.fallback, "and what the device does when we let go"
    for reg in profile.registers:
        if not reg.verified:
            assert reg.note or reg.description, reg.name


def test_a_control_section_naming_a_read_only_or_missing_register_is_refused() -> None:
    data = _sim_data()
    data["control"] = {"method": "signed", "setpoint": "soc_pct"}
    with pytest.raises(
        ProfileError, match=r"\$\.control\.setpoint: register 'soc_pct' is not writable"
    ):
        parse_profile(data, "t.json")
    data["control"] = {
        "method": "direction_magnitude",
        "direction": {"name": "run_mode", "charge": 0, "discharge": 1, "idle": 0},
        "charge_power": "nope",
        "discharge_power": "setpoint_power_kw",
    }
    with pytest.raises(ProfileError, match=r"\$\.control\.charge_power: no register named 'nope'"):
        parse_profile(data, "t.json")
    data["control"] = {
        "method": "direction_magnitude",
        "direction": {"name": "run_mode", "charge": 0, "discharge": 1, "idle": 0},
        "charge_power": "setpoint_power_kw",
        "discharge_power": "setpoint_power_kw",
    }
    with pytest.raises(ProfileError, match="must not go below 0"):
        parse_profile(data, "t.json")
    data["control"] = {
        "method": "signed",
        "setpoint": "setpoint_power_kw",
        "enter": [{"name": "run_mode", "value": 7}],
    }
    with pytest.raises(ProfileError, match=r"enter\[0\]\.value: 7\.0 is outside 0\.0\.\.1\.0"):
        parse_profile(data, "t.json")


def test_a_sum_of_missing_registers_is_refused_and_a_missing_part_is_a_missing_total() -> None:
    data = _sim_data()
    for reg in data["registers"]:
        if reg.get("role") == "grid_power_kw":
            del reg["role"]
    data["sums"] = [{"role": "grid_power_kw", "registers": ["pv_power_kw", "ghost"]}]
    with pytest.raises(
        ProfileError, match=r"\$\.sums\[0\]\.registers\[1\]: no register named 'ghost'"
    ):
        parse_profile(data, "t.json")
    data["sums"][0]["registers"] = ["pv_power_kw", "load_power_kw"]
    assert parse_profile(data, "t.json").roles_of({"pv_power_kw": 2.0, "load_power_kw": 3.0})[
        "grid_power_kw"
    ] == pytest.approx(5.0)
    victron = load_profile("victron_gx_system")
    assert victron.roles_of({"grid_l1_kw": 1.0, "grid_l2_kw": 2.0, "grid_l3_kw": -0.5})[
        "grid_power_kw"
    ] == pytest.approx(2.5)
    assert (
        victron.roles_of({"grid_l1_kw": 1.0, "grid_l2_kw": None, "grid_l3_kw": 0.5})[
            "grid_power_kw"
        ]
        is None
    )
