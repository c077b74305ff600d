"""The audit trail: hash chain, tamper detection (changed, inserted, deleted rows), CSV export."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bessai.core.audit import AuditTrail


@pytest.fixture
def trail(tmp_path: Path) -> AuditTrail:
    t = AuditTrail(tmp_path / "audit.db")
    for i in range(5):
        t.append_now(f"user{i}", "setpoint", "ok", requested_kw=10.0 * i)
    return t


def raw(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()


async def test_async_append_chains_onto_the_last_row(tmp_path: Path) -> None:
    t = AuditTrail(tmp_path / "a.db")
    first = await t.append("ana", "login", "ok")
    second = await t.append("ana", "estop", "latched", source="screen")
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev_hash == first.hash
    assert t.verify().ok
    t.close()


def test_intact_trail_verifies(trail: AuditTrail) -> None:
    result = trail.verify()
    assert (result.ok, result.rows) == (True, 5)


def test_changed_row_is_found(trail: AuditTrail) -> None:
    raw(trail.db.path, "UPDATE audit SET detail = '{\"requested_kw\": 99.0}' WHERE seq = 3")
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "changed" in (result.problem or "")


def test_deleted_middle_row_is_found(trail: AuditTrail) -> None:
    raw(trail.db.path, "DELETE FROM audit WHERE seq = 2")
    result = trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 2
    assert "missing" in (result.problem or "")


def test_deleted_last_row_is_found(trail: AuditTrail) -> None:
    raw(trail.db.path, "DELETE FROM audit WHERE seq = 5")
    result = trail.verify()
    assert not result.ok
    assert "deleted" in (result.problem or "")


def test_user_changed_after_the_fact_is_found(trail: AuditTrail) -> None:
    raw(trail.db.path, "UPDATE audit SET user = 'someone_else' WHERE seq = 1")
    assert trail.verify().first_bad_seq == 1


def test_export_csv_has_every_row(trail: AuditTrail) -> None:
    out = io.StringIO()
    assert trail.export_csv(out) == 5
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:5] == ["seq", "time_utc", "user", "action", "outcome"]
    assert [r[2] for r in rows[1:]] == [f"user{i}" for i in range(5)]
    assert rows[3][5] == '{"requested_kw": 20.0}'


def test_cli_verify_exits_1_on_tampering(trail: AuditTrail, tmp_path: Path) -> None:
    env = dict(os.environ, DATA_DIR=str(tmp_path))
    ok = subprocess.run(
        [sys.executable, "-m", "bessai", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert ok.returncode == 0
    assert "intact: 5 rows" in ok.stdout
    raw(trail.db.path, "UPDATE audit SET outcome = 'refused' WHERE seq = 4")
    bad = subprocess.run(
        [sys.executable, "-m", "bessai", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "row 4 was changed" in bad.stderr
