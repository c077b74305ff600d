"""The plant in the site file: roles, batteries, the POI meter and the limits, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bessai.cli.entry import main
from bessai.core.config.plant import PlantError, check_plant_profiles
from bessai.core.config.settings import ConfigError, load_site_file
from bessai.drivers.profile_loader import load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "plant.example.toml"


def _device(name: str, role: str, profile: str, extra: str = "") -> str:
    return (
        f'[[devices]]\nname = "{name}"\nrole = "{role}"\nprofile = "{profile}"\n'
        f'host = "127.0.0.1"\n{extra}\n'
    )


PLANT = (
    _device("pcs1", "inverter", "sim_pcs", 'battery = "bms1"')
    + _device("pcs2", "inverter", "sim_pcs", 'battery = ["bms2", "bms3"]')
    + _device("bms1", "bms", "sim_bms")
    + _device("bms2", "bms", "sim_bms")
    + _device("bms3", "bms", "sim_bms")
    + _device("poi", "meter", "sim_meter")
)


def _site(tmp_path: Path, body: str) -> Path:
    site = tmp_path / "site.toml"
    site.write_text(body, encoding="utf-8")
    return site


def test_the_plant_is_described_for_the_core(tmp_path: Path) -> None:
    site = load_site_file(
        _site(
            tmp_path,
            '[site]\npoi_meter = "poi"\nexport_limit_kw = 50\nimport_limit_kw = 200\n'
            "ramp_kw_per_s = 20\n" + PLANT,
        )
    )
    plant = site.plant
    assert plant.is_plant
    assert dict(plant.inverters) == {"pcs1": ("bms1",), "pcs2": ("bms2", "bms3")}
    assert plant.bms == ("bms1", "bms2", "bms3")
    assert plant.meters == ("poi",)
    assert plant.poi_meter == "poi"
    assert (plant.export_limit_kw, plant.import_limit_kw, plant.ramp_kw_per_s) == (50, 200, 20)
    assert plant.batteries_of("pcs2") == ("bms2", "bms3")
    assert plant.inverter_of("bms3") == "pcs2"
    assert plant.unclaimed_bms() == ()
    profiles = {d.name: load_profile(d.profile) for d in site.devices}
    check_plant_profiles(plant, profiles)


def test_a_bms_may_name_the_racks_under_it(tmp_path: Path) -> None:
    body = (
        _device("pcs1", "inverter", "sim_pcs", 'battery = "bank"')
        + _device("bank", "bms", "sim_bms", 'battery = ["rack1", "rack2"]')
        + _device("rack1", "bms", "sim_bms")
        + _device("rack2", "bms", "sim_bms")
        + _device("spare", "bms", "sim_bms")
    )
    plant = load_site_file(_site(tmp_path, body)).plant
    assert plant.batteries_of("pcs1") == ("bank", "rack1", "rack2")
    assert plant.inverter_of("rack2") == "pcs1"
    assert plant.unclaimed_bms() == ("spare",)


def test_a_site_without_plant_keys_is_one_inverter_as_before(tmp_path: Path) -> None:
    plant = load_site_file(_site(tmp_path, _device("inv", "inverter", "sim_bess"))).plant
    assert not plant.is_plant
    assert dict(plant.inverters) == {"inv": ()}
    assert plant.poi_meter is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            PLANT.replace('battery = "bms1"', 'battery = "bms9"'),
            "devices[0] (pcs1) battery = 'bms9': no such device (the site has pcs1, pcs2, "
            "bms1, bms2, bms3, poi)",
        ),
        (
            PLANT.replace('battery = "bms1"', 'battery = "bms2"'),
            "devices[1] (pcs2) battery = 'bms2': bms2 is already the battery of pcs1 "
            "(a BMS belongs to one inverter)",
        ),
        (
            PLANT.replace('battery = "bms1"', 'battery = "poi"'),
            "devices[0] (pcs1) battery = 'poi': poi has role 'meter', expected 'bms'",
        ),
        (
            PLANT.replace('battery = "bms1"', 'battery = "pcs1"'),
            "devices[0] (pcs1) battery = 'pcs1': pcs1 has role 'inverter', expected 'bms'",
        ),
        (
            PLANT + _device("pv", "other", "sim_bess", 'battery = "bms1"'),
            "devices[6] (pv) battery: a device of role 'other' drives no battery",
        ),
        (
            '[site]\npoi_meter = "bms1"\n' + PLANT,
            "site.poi_meter = 'bms1': bms1 has role 'bms', expected 'meter'",
        ),
        (
            '[site]\npoi_meter = "grid"\n' + PLANT,
            "site.poi_meter = 'grid': no such device",
        ),
        ("[site]\nexport_limit_kw = -5\n" + PLANT, "site.export_limit_kw = -5"),
        ("[site]\nramp_kw_per_s = 0\n" + PLANT, "site.ramp_kw_per_s = 0"),
        ('[site]\npoi_metre = "poi"\n' + PLANT, "site.poi_metre"),
        (PLANT.replace('battery = "bms1"', "battery = []"), "devices.0.battery"),
    ],
)
def test_a_plant_that_cannot_be_wired_is_one_clear_line(
    tmp_path: Path, body: str, expected: str
) -> None:
    site = _site(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_site_file(site)
    message = str(info.value)
    assert message.startswith(f"site file {site}: "), message
    assert expected in message
    assert "\n" not in message
    assert "(top level)" not in message


def test_a_bms_chain_that_loops_is_named(tmp_path: Path) -> None:
    body = (
        _device("pcs1", "inverter", "sim_pcs")
        + _device("bms1", "bms", "sim_bms", 'battery = "bms2"')
        + _device("bms2", "bms", "sim_bms", 'battery = "bms1"')
    )
    with pytest.raises(ConfigError, match=r"devices\[1\] \(bms1\) battery: the BMS chain loops"):
        load_site_file(_site(tmp_path, body))
    selfish = _device("bms1", "bms", "sim_bms", 'battery = "bms1"')
    with pytest.raises(ConfigError, match=r"loops \(bms1 -> bms1\)"):
        load_site_file(_site(tmp_path, selfish))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('profile = "sim_meter"', 'profile = "sim_bms"'),
            "site.poi_meter = 'poi': its profile sim_bms maps no grid_power_kw",
        ),
        (
            (
                'name = "bms1"\nrole = "bms"\nprofile = "sim_bms"',
                'name = "bms1"\nrole = "bms"\nprofile = "sim_meter"',
            ),
            "bms1: role bms, but its profile sim_meter maps no soc_pct",
        ),
        (
            (
                'name = "pcs1"\nrole = "inverter"\nprofile = "sim_pcs"',
                'name = "pcs1"\nrole = "inverter"\nprofile = "sim_bms"',
            ),
            "pcs1: drives bms1 but its profile sim_bms has no control section",
        ),
    ],
)
def test_site_check_refuses_a_profile_that_cannot_play_its_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], expected: str
) -> None:
    body = '[site]\npoi_meter = "poi"\n' + PLANT
    assert change[0] in body
    site = _site(tmp_path, body.replace(change[0], change[1], 1))
    load_site_file(site)  # the wiring itself is fine
    assert main(["site", "check", str(site)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"INVALID site file {site}: ")
    assert expected in lines[0]
    assert out == ""


def test_check_plant_profiles_names_the_device(tmp_path: Path) -> None:
    site = load_site_file(_site(tmp_path, '[site]\npoi_meter = "poi"\n' + PLANT))
    profiles = {d.name: load_profile(d.profile) for d in site.devices}
    profiles["poi"] = load_profile("sim_pcs")
    with pytest.raises(PlantError, match=r"site\.poi_meter = 'poi': its profile sim_pcs"):
        check_plant_profiles(site.plant, profiles)


def test_the_shipped_plant_example_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["site", "check", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert "5 devices: pcs1 (sim_pcs), pcs2 (sim_pcs), bms1 (sim_bms), bms2 (sim_bms), poi" in out
    assert err == ""
    plant = load_site_file(EXAMPLE).plant
    assert dict(plant.inverters) == {"pcs1": ("bms1",), "pcs2": ("bms2",)}
    assert plant.poi_meter == "poi"


NAMES = ['"pcs1"', '"pcs2"', '"bms1"', '"bms2"', '"poi"', '"nobody"', '""', '["bms1", "bms1"]']
PLANT_LITERALS = [*NAMES, '["bms1", "bms2"]', "[]", "5", "-1", "nan", '"meter"', '"bms"', '"other"']


@st.composite
def mutated_plant(draw: st.DrawFn) -> str:
    """The shipped plant with a few of its wiring keys rewired, dropped or added."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    keys = ("battery", "role", "poi_meter", "name", "export_limit_kw", "ramp_kw_per_s")
    for _ in range(draw(st.integers(1, 3))):
        wiring = [i for i, line in enumerate(lines) if line.split("=")[0].strip() in keys]
        i = draw(st.sampled_from(wiring))
        key = lines[i].split("=")[0].strip()
        how = draw(st.sampled_from(["value", "value", "drop", "battery"]))
        if how == "value":
            lines[i] = f"{key} = {draw(st.sampled_from(PLANT_LITERALS))}"
        elif how == "drop":
            del lines[i]
        else:
            lines.insert(i + 1, f"battery = {draw(st.sampled_from(NAMES))}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=mutated_plant())
def test_a_rewired_plant_is_accepted_or_refused_in_one_line(
    body: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, body)
    rc = main(["site", "check", str(site)])
    out, err = capsys.readouterr()
    event(f"exit {rc}")
    assert rc in (0, 2), (rc, out, err)
    assert "Traceback" not in out + err
    if rc == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert lines[0].startswith(f"INVALID site file {site}: "), lines[0]
        assert "(top level)" not in lines[0]
    else:
        plant = load_site_file(site).plant
        claimed = [b for inverter in plant.inverters for b in plant.batteries_of(inverter)]
        assert len(claimed) == len(set(claimed)), "a BMS under two inverters was accepted"
        assert plant.poi_meter is None or plant.poi_meter in plant.meters
