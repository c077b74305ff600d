"""``bessai dispatch check`` and ``bessai dispatch export`` as an engineer runs them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bessai.core.control.events import ControlMode, DispatchProposed
from bessai.core.control.proposals import DispatchRecord
from bessai.core.dispatch import DispatchInputs, RuleDispatcher
from bessai.core.guard.safety import SafetyGuard, Telemetry
from tests.helpers import write_constant_model


def bessai(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    env.pop("DISPATCH_MODEL_PATH", None)
    return subprocess.run(
        [sys.executable, "-m", "bessai.cli", "dispatch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_check_accepts_the_shipped_model_and_refuses_a_tampered_one(tmp_path: Path) -> None:
    ok = bessai("check", data_dir=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "bessai-dispatch" in ok.stdout
    assert "price_usd_mwh" in ok.stdout
    model = write_constant_model(tmp_path / "m", 0.2)
    model.write_bytes(model.read_bytes()[:-1])
    bad = bessai("check", str(model), data_dir=tmp_path)
    assert bad.returncode == 1
    assert "sha256" in bad.stderr
    assert "Traceback" not in bad.stderr


async def test_export_writes_the_record_as_csv(tmp_path: Path) -> None:
    record = DispatchRecord(tmp_path / "dispatch.db", min_interval_s=1.0)
    inputs = DispatchInputs(0.0, 19.5, 60.0, 0.0, 80.0, 130.0, 100.0, {"soc_pct": 0.2})
    proposal = RuleDispatcher().propose(inputs)
    verdict = SafetyGuard().evaluate(
        proposal.setpoint_kw, Telemetry(soc_pct=60.0, comms_up=True), []
    )
    now = time.time()
    for dt in (0.0, 0.5, 1.0, 2.5):  # the 0.5 s one is within the record's 1 s spacing
        record._on_proposal(
            DispatchProposed(
                "bess", now + dt, proposal, 0.0002, False, verdict, ControlMode.AUTO, 55.0, 60.0
            )
        )
    assert await record.flush() == 3
    await record.stop()
    out = bessai("export", "--hours", "1", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 3
    row = rows[0]
    assert row["source"] == "rules"
    assert float(row["proposed_kw"]) == 60.0
    assert row["mode"] == "auto"
    assert float(row["actual_kw"]) == 55.0
    assert json.loads(row["inputs"])["price_usd_mwh"] == 130.0
    assert "3 proposals exported" in out.stderr
