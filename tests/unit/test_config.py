"""Configuration: environment names of the original gateway, site files, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bessai.core.config.settings import (
    ConfigError,
    device_limits,
    ids_baseline_s,
    load_settings,
    load_site_file,
    site_config,
    site_devices,
)
from bessai.drivers.profile_loader import load_profile


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.isupper() and name.split("_")[0] in {
            "SITE",
            "INVERTER",
            "HEALTH",
            "DRIVER",
            "WATCHDOG",
            "GCP",
            "OTEL",
            "LOG",
            "POLL",
            "DATA",
            "DISPATCH",
            "IDS",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_no_configuration_is_the_embedded_simulator() -> None:
    settings = load_settings()
    assert settings.embedded_simulator
    site_id, devices = site_devices(settings)
    assert site_id == "site-sim"
    assert [d.simulated for d in devices] == [True]


def test_original_variables_configure_one_inverter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE_ID", "cl-antofagasta-01")
    monkeypatch.setenv("INVERTER_IP", "inverter.local")
    monkeypatch.setenv("INVERTER_PORT", "1502")
    monkeypatch.setenv("DRIVER_PROFILE_PATH", "solaredge_storedge")
    monkeypatch.setenv("POLL_INTERVAL_S", "0.5")
    monkeypatch.setenv("log_level", "debug")
    settings = load_settings()
    site_id, (dev,) = site_devices(settings)
    assert (site_id, dev.host, dev.port, dev.profile, dev.poll_interval_s) == (
        "cl-antofagasta-01",
        "inverter.local",
        1502,
        "solaredge_storedge",
        0.5,
    )


def test_dot_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SITE_ID=from-dotenv\nHEALTH_PORT=9100\n", encoding="utf-8")
    settings = load_settings()
    assert (settings.SITE_ID, settings.HEALTH_PORT) == ("from-dotenv", 9100)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("INVERTER_PORT", "70000", "less than or equal to 65535"),
        ("INVERTER_IP", "not a host!", "IPv4/IPv6 address or a hostname"),
        ("WATCHDOG_TIMEOUT", "-1", "greater than 0"),
        ("LOG_LEVEL", "LOUD", "'DEBUG'"),
        ("SITE_ID", "has spaces", "should match pattern"),
    ],
)
def test_invalid_variable_names_variable_value_and_expectation(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert name in message
    assert repr(value) in message or value.upper() in message
    assert expected in message


def test_site_file_with_several_devices(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        'site_id = "cl-calama-02"\n'
        '[[devices]]\nname = "inverter"\nprofile = "sma_sunny_island"\nhost = "10.0.0.5"\nunit_id = 3\npoll_interval_s = 1\n'
        '[[devices]]\nname = "bms"\nprofile = "sim_bess"\nserial_port = "/dev/ttyUSB0"\nbaudrate = 9600\npoll_interval_s = 2\nrole = "bms"\n',
        encoding="utf-8",
    )
    parsed = load_site_file(site)
    assert parsed.site_id == "cl-calama-02"
    assert [(d.name, d.host, d.serial_port, d.poll_interval_s) for d in parsed.devices] == [
        ("inverter", "10.0.0.5", None, 1.0),
        ("bms", None, "/dev/ttyUSB0", 2.0),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[devices]]\nname = "a"\nprofile = "sim_bess"\n', "exactly one of 'host'"),
        (
            '[[devices]]\nname = "a"\nprofile = "sim_bess"\nhost = "h"\npoll_interval_s = 0\n',
            "devices.0.poll_interval_s = 0",
        ),
        (
            '[[devices]]\nname = "a"\nprofile = "p"\nhost = "h"\n[[devices]]\nname = "a"\nprofile = "p"\nhost = "h"\n',
            "used twice",
        ),
        ("devices = [", "not valid TOML"),
        (
            '[[devices]]\nname = "a"\nprofile = "p"\nhost = "h"\ncolour = "red"\n',
            "devices.0.colour",
        ),
        (
            '[[devices]]\nname = "a"\nprofile = "p"\nhost = "h"\n[dispatch]\ntimezone = "Mars/Olympus"\n',
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            '[[devices]]\nname = "a"\nprofile = "p"\nhost = "h"\n[dispatch]\nmarginal_cost_usd_mwh = [1, 2]\n',
            "dispatch.marginal_cost_usd_mwh",
        ),
        (
            '[[devices]]\nname = "a"\nprofile = "p"\nhost = "h"\n[dispatch]\nmode = "ai"\n',
            "dispatch.mode = 'ai'",
        ),
    ],
)
def test_bad_site_file_names_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    site = tmp_path / "site.toml"
    site.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site_file(site)
    assert str(site) in str(info.value)
    assert expected in str(info.value)


def _bessai_headless(tmp_path: Path, **env_set: str) -> subprocess.CompletedProcess[str]:
    """`bessai --headless --duration 1` in a subprocess, with only these site variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE"))}
    env.update(env_set)
    return subprocess.run(
        [sys.executable, "-m", "bessai", "--headless", "--duration", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    proc = _bessai_headless(tmp_path, INVERTER_PORT="abc")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        "bessai: configuration error: environment variable INVERTER_PORT = 'abc': "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_cli_bad_profile_exits_2_naming_file_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(
        '{"id": "p", "manufacturer": "m", "model": "m", "source": "s", "registers": [{"name": "a", "table": "holding", "address": 0, "type": "u16", "access": "rw"}]}',
        encoding="utf-8",
    )
    proc = _bessai_headless(tmp_path, INVERTER_IP="127.0.0.1", DRIVER_PROFILE_PATH=str(bad))
    assert proc.returncode == 2
    assert f"{bad}: $.registers[0]: a writable register needs both 'min' and 'max'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_example_site_file_parses_and_dispatch_mode_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "site.example.toml"
    monkeypatch.setenv("SITE_FILE", str(example))
    monkeypatch.setenv("DISPATCH_MODE", "shadow")
    site_id, devices, limits, dispatch = site_config(load_settings())
    assert site_id == "cl-antofagasta-01"
    assert len(devices) == 2
    assert limits.max_charge_kw == 80
    assert dispatch.mode == "shadow"  # the environment wins over the file's "model"
    assert dispatch.marginal_cost_usd_mwh[19] == 128
    monkeypatch.setenv("DISPATCH_MODE", "learned")
    with pytest.raises(ConfigError, match="DISPATCH_MODE"):
        load_settings()


@pytest.mark.parametrize(
    "name",
    ["INVERTER_IP", "SITE_FILE", "DRIVER_PROFILE_PATH", "DATA_DIR", "HEALTH_BIND", "SITE_ID"],
)
def test_an_empty_setting_is_an_error_not_a_default(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "")
    with pytest.raises(ConfigError, match=f"environment variable {name} = '': .*is set but empty"):
        load_settings()


def test_example_site_file_limits_fit_the_profiles_it_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "site.example.toml"
    monkeypatch.setenv("SITE_FILE", str(example))
    _, devices, limits, _ = site_config(load_settings())
    profiles = {d.name: load_profile(d.profile) for d in devices}
    resolved = device_limits(limits, devices, profiles)
    assert (resolved["inverter"].pack_voltage_min_v, resolved["inverter"].pack_voltage_max_v) == (
        44,
        58,
    )
    assert resolved["inverter"].max_charge_kw == 80  # the site's value, not overridden
    assert resolved["bms"].pack_voltage_min_v == 680


def _one_device(tmp_path: Path, limits: str, device_limits_toml: str = "") -> Path:
    site = tmp_path / "site.toml"
    site.write_text(
        'site_id = "s"\n[[devices]]\nname = "inv"\nprofile = "sma_sunny_island"\n'
        f'host = "127.0.0.1"\n{device_limits_toml}\n[limits]\n{limits}\n',
        encoding="utf-8",
    )
    return site


@pytest.mark.parametrize(
    ("limits", "device", "expected"),
    [
        ("temp_trip_c = nan", "", "limits.temp_trip_c = nan: Input should be a finite number"),
        ("max_discharge_kw = inf", "", "Input should be a finite number"),
        ('max_charge_kw = "12"', "", "limits.max_charge_kw = '12': Input should be a valid number"),
        ("max_charge_kw = true", "", "Input should be a valid number"),
        ("temp_warning_c = 50", "", "temp_warning_c 50.0 must be below temp_trip_c 45.0"),
        ("temp_cold_trip_c = 5", "", "temp_cold_trip_c 5.0 must be below temp_charge_min_c 0.0"),
        (
            "pack_voltage_min_v = 650\npack_voltage_max_v = 880",
            "",
            "devices[0] (inv, profile sma_sunny_island): pack voltage window 650..880 V is outside "
            "what the battery is rated for (41..63 V",
        ),
        ("", "[devices.limits]\nsoc_floor_pct = -5", "devices[0] (inv, profile sma_sunny_island)"),
    ],
)
def test_limits_are_checked_like_any_input(
    tmp_path: Path, limits: str, device: str, expected: str
) -> None:
    site = _one_device(tmp_path, limits, device)

    def load() -> None:
        loaded = load_site_file(site)
        device_limits(loaded.limits, loaded.devices, {"inv": load_profile("sma_sunny_island")})

    with pytest.raises(ConfigError) as caught:
        load()
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_device_without_a_voltage_window_takes_its_rated_one(tmp_path: Path) -> None:
    loaded = load_site_file(_one_device(tmp_path, "max_charge_kw = 5"))
    limits = device_limits(loaded.limits, loaded.devices, {"inv": load_profile("sma_sunny_island")})
    assert (limits["inv"].pack_voltage_min_v, limits["inv"].pack_voltage_max_v) == (41, 63)
    assert limits["inv"].max_charge_kw == 5


def test_cli_empty_inverter_ip_exits_2_instead_of_the_simulator(tmp_path: Path) -> None:
    proc = _bessai_headless(tmp_path, INVERTER_IP="")
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        "bessai: configuration error: environment variable INVERTER_IP = '': "
        "Value error, is set but empty: give a value, or unset the variable"
    ]


def test_cli_nan_limit_exits_2(tmp_path: Path) -> None:
    site = _one_device(tmp_path, "temp_trip_c = nan")
    proc = _bessai_headless(tmp_path, SITE_FILE=str(site))
    assert proc.returncode == 2
    assert "limits.temp_trip_c = nan: Input should be a finite number" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_intrusion_baseline_length_comes_from_the_site_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ids_baseline_s(load_settings()) == 600.0
    site = _one_device(tmp_path, "")
    site.write_text(site.read_text() + "\n[ids]\nbaseline_s = 120\n")
    monkeypatch.setenv("SITE_FILE", str(site))
    assert ids_baseline_s(load_settings()) == 120.0
    monkeypatch.setenv("IDS_BASELINE_S", "60")
    assert ids_baseline_s(load_settings()) == 60.0
    monkeypatch.setenv("IDS_BASELINE_S", "nan")
    with pytest.raises(ConfigError, match="IDS_BASELINE_S"):
        load_settings()
    monkeypatch.delenv("IDS_BASELINE_S")
    site.write_text(site.read_text().replace("baseline_s = 120", "baseline_s = 1"))
    with pytest.raises(
        ConfigError, match=r"ids\.baseline_s = 1: Input should be greater than or equal to 10"
    ):
        ids_baseline_s(load_settings())


def test_config_dot_env_of_the_original_quick_start_is_read_and_dot_env_wins(
    tmp_path: Path,
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / ".env").write_text("SITE_ID=from-config\nHEALTH_PORT=9101\n")
    settings = load_settings()
    assert (settings.SITE_ID, settings.HEALTH_PORT) == ("from-config", 9101)
    (tmp_path / ".env").write_text("SITE_ID=from-dotenv\n")
    settings = load_settings()
    assert (settings.SITE_ID, settings.HEALTH_PORT) == ("from-dotenv", 9101)


def test_the_original_gateways_profile_path_names_the_shipped_profile(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DRIVER_PROFILE_PATH", "registry/huawei_sun2000.json")
    monkeypatch.setenv("INVERTER_IP", "127.0.0.1")
    _, (device,) = site_devices(load_settings())
    assert device.profile == "huawei_sun2000_luna2000"
    assert load_profile(device.profile).id == "huawei_sun2000_luna2000"
    notices = [r.getMessage() for r in caplog.records if "original gateway" in r.getMessage()]
    assert notices == [
        "DRIVER_PROFILE_PATH registry/huawei_sun2000.json is the original gateway's; "
        "using the shipped profile huawei_sun2000_luna2000"
    ]
