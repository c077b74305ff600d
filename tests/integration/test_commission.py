"""`bessai commission` against simulators on loopback: every figure of the report comes from
the run (the watchdog's fall time is the simulator's 10 s timeout, the step responses are
measured), the PDF says what the JSON says, and the head hash is what `bessai audit verify`
prints. A device found by `bessai discover` is commissioned the same way."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

from argon2 import PasswordHasher
from pypdf import PdfReader

from bessai.core.stores.auth import AuthService, Role
from tests.helpers import free_port, run_bessai

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


async def _engineer(data: Path) -> None:
    auth = AuthService(data / "users.db", hasher=FAST)
    await auth.add_user("ada", Role.ADMIN, "314159")
    admin = await auth.login("ada", "314159")
    await auth.add_user("eve", Role.ENGINEER, "271828", by=admin)
    auth.close()


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "HEALTH_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "QT_QPA_PLATFORM": "offscreen",
        **more,
    }


async def test_a_commissioning_run_writes_its_measured_figures_and_the_audit_head(
    tmp_path: Path,
) -> None:
    await _engineer(tmp_path / "data")
    env = _env(tmp_path)
    env.pop("SITE_FILE", None)
    code, out, err = await run_bessai(
        "commission",
        "--device",
        "bess-sim",
        "--report",
        str(tmp_path / "report"),
        "--login",
        "eve",
        env=env,
        cwd=tmp_path,
        stdin=b"271828\n",
    )
    assert code == 0, out + err
    report = json.loads((tmp_path / "report.json").read_text())
    tests = {t["name"]: t for t in report["tests"]}
    assert list(tests) == ["identity", "poll", "step", "watchdog", "interlock"]
    assert all(t["passed"] for t in tests.values()), tests
    assert report["user"] == "eve"
    assert report["role"] == "engineer"
    assert report["identity"]["serial_number"] == "SIM-0001"
    # The simulator drops to standby 10 s after the last heartbeat (sim_bess' watchdog).
    watchdog = tests["watchdog"]["figures"]
    assert watchdog["timeout_s"] == 10
    assert 7.9 <= watchdog["fall_s"] <= 10 + watchdog["margin_s"]  # 10 s from the last heartbeat
    steps = tests["step"]["figures"]["steps"]
    assert [s["setpoint_kw"] for s in steps] == [5.0, 0.0, -5.0, 0.0]
    assert all(0 < s["response_s"] < 20 for s in steps)
    assert steps[2]["measured_kw"] < -4.0
    interlock = tests["interlock"]["figures"]
    assert interlock["tripped_on"].startswith("battery temperature")
    assert interlock["trip_to_zero_s"] is not None
    # The device's own power reaches zero after the zero write, not before.
    assert interlock["device_at_zero_s"] >= interlock["trip_to_zero_s"]
    assert tests["interlock"]["figures"]["restored"] is True
    code, verified, _ = await run_bessai("audit", "verify", env=env, cwd=tmp_path)
    assert code == 0
    head = re.search(r"head #(\d+) ([0-9a-f]{64})", verified)
    assert head is not None
    assert (int(head.group(1)), head.group(2)) == (
        report["audit_head_seq"],
        report["audit_head_hash"],
    )
    pdf = PdfReader(tmp_path / "report.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "Informe de puesta en servicio" in text
    # The Spanish report says what each test saw in Spanish; the JSON keeps both.
    assert "pasó a espera" in text
    assert "todos los valores vigilados en rango" in text
    assert "every guarded value" not in text
    assert "eve (ingeniero)" in text
    assert "(40 registros, 0 sin veri" in text  # "fi" comes out as one ligature
    assert tests["poll"]["detail"] == "every guarded value in range"
    assert tests["interlock"]["findings"][0]["code"] == "trip_seen"  # a code; words per language
    assert "disparo por temperatura de batería" in text
    # Each criterion beside its measured figure, with units and the verdict.
    fall = next(c for c in tests["watchdog"]["criteria"] if c["code"] == "fall")
    assert fall["measured"] == watchdog["fall_s"]
    assert fall["unit"] == "s"
    assert f"{fall['values']['limit_s']:g} s de detener el latido" in text
    assert f"{watchdog['fall_s']:.2f} s — APROBADA" in text
    assert "+5 kW alcanzados con ±0.5 kW en 20 s" in text
    # The JSON keeps the raw series of the plotted tests; the PDF draws them, with their names
    # in the report's language, the limits in a table with units and the witness's fields.
    step_series = tests["step"]["series"]
    assert len(step_series["t_s"]) == len(step_series["measured_kw"]) >= 8
    measured = [v for v in step_series["measured_kw"] if v is not None]
    assert max(measured) > 4.0
    assert min(measured) < -4.0
    assert "heartbeat_stopped" in tests["watchdog"]["events"]
    assert "zero_written" in tests["interlock"]["events"]
    assert sum(len(page.images) for page in pdf.pages) == 3
    for words in ("Respuesta al escalón", "Caída por watchdog", "Disparo por enclavamiento"):
        assert words in text
    assert "Potencia máxima de descarga 100 kW" in text
    assert "Nombre del testigo" in text
    assert "Firma" in text
    assert report["audit_head_hash"][:32] in text.replace(" ", "")
    # The run is on the record, test by test.
    code, csv, _ = await run_bessai("audit", "export", env=env, cwd=tmp_path)
    assert csv.count("commissioning_test") == 5
    assert "commissioning_end" in csv


async def test_an_operator_cannot_commission_and_an_unknown_test_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    auth = AuthService(data / "users.db", hasher=FAST)
    await auth.add_user("ada", Role.ADMIN, "314159")
    admin = await auth.login("ada", "314159")
    await auth.add_user("otto", Role.OPERATOR, "161803", by=admin)
    auth.close()
    env = _env(tmp_path)
    env.pop("SITE_FILE", None)
    args = ("commission", "--device", "bess-sim", "--report", str(tmp_path / "r"))
    code, _, err = await run_bessai(
        *args, "--login", "otto", env=env, cwd=tmp_path, stdin=b"161803\n"
    )
    assert code == 1
    assert "not an engineer" in err
    code, _, err = await run_bessai(
        *args, "--login", "otto", "--tests", "poll,smoke", env=env, cwd=tmp_path
    )
    assert code == 2
    assert "unknown test 'smoke'" in err
    code, _, err = await run_bessai(
        "commission", "--device", "nope", "--report", "r", "--login", "otto", env=env, cwd=tmp_path
    )
    assert code == 2
    assert "no device 'nope'" in err
    assert not (tmp_path / "r.json").exists()


async def test_a_discovered_sunspec_device_is_commanded_through_its_model_124(
    tmp_path: Path,
) -> None:
    await _engineer(tmp_path / "data")
    port = free_port()
    env = _env(tmp_path)
    sim = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "simulate",
        "--sunspec",
        "--port",
        str(port),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert sim.stdout is not None
        await asyncio.wait_for(sim.stdout.readline(), 30)
        code, out, err = await run_bessai(
            "discover",
            "127.0.0.1",
            "--port",
            str(port),
            "--out",
            "found.json",
            env=env,
            cwd=tmp_path,
        )
        assert code == 0, err
        site = tmp_path / "site.toml"
        site.write_text(
            f'site_id = "sunspec-lab"\n[[devices]]\nname = "bess"\nprofile = "found.json"\n'
            f'host = "127.0.0.1"\nport = {port}\npoll_interval_s = 0.5\n'
        )
        code, out, err = await run_bessai(
            "commission",
            "--device",
            "bess",
            "--report",
            "sunspec",
            "--login",
            "eve",
            "--tests",
            "identity,poll,step",
            env={**env, "SITE_FILE": str(site)},
            cwd=tmp_path,
            stdin=b"271828\n",
        )
        assert code == 0, out + err
        report = json.loads((tmp_path / "sunspec.json").read_text())
        assert report["identity"]["c_sn"] == "SIM-SUNSPEC-0001"
        assert report["identity"]["c_vr"]  # the firmware version, from model 1
        step = next(t for t in report["tests"] if t["name"] == "step")
        assert step["passed"], step
        assert step["figures"]["steps"][0]["measured_kw"] > 4.0
        assert step["figures"]["steps"][2]["measured_kw"] < -4.0
        # Discovery trusts nothing it has not measured: model 124's power registers (and their
        # scale factors) were unverified; the passing run verified them by its report, in the
        # site's record, so that Auto and remote control take the device from now on.
        doubt = report["profile"]["unverified_power"]
        assert {"bat_w", "st_inwrte", "st_outwrte"} <= set(doubt)
        assert report["verified"] == doubt
        record = json.loads((tmp_path / "data" / "verification.json").read_text())["bess"]
        assert {r["report"] for r in record["registers"].values()} == {report["id"]}
    finally:
        sim.terminate()
        await sim.wait()
