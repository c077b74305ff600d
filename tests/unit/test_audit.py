"""The audit trail: hash chain, tamper detection (changed, inserted, deleted rows), CSV export."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bessai.core.stores.audit import AuditTrail


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


def _verify_cli(data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "bessai", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _trail_with_rows(data: Path, n: int = 5) -> None:
    trail = AuditTrail(data / "audit.db")
    for i in range(n):
        trail.append_now("ana", "setpoint", "ok", kw=i)
    trail.close()


def _delete_chain(data: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data / 'audit.db'}{suffix}").unlink(missing_ok=True)


def test_deleting_the_file_is_found_by_its_anchor(tmp_path: Path) -> None:
    _trail_with_rows(tmp_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'audit.db'}{suffix}").unlink(missing_ok=True)
    proc = _verify_cli(tmp_path)
    assert proc.returncode == 1
    assert "ends at row 0 but was anchored at row 5" in proc.stderr


def test_deleting_every_row_and_the_head_is_found(tmp_path: Path) -> None:
    _trail_with_rows(tmp_path)
    with sqlite3.connect(tmp_path / "audit.db") as c:
        c.execute("DELETE FROM audit")
        c.execute("DELETE FROM audit_head")
    assert not AuditTrail(tmp_path / "audit.db").verify().ok


def test_deleting_the_last_row_and_fixing_the_head_is_found(tmp_path: Path) -> None:
    _trail_with_rows(tmp_path)
    with sqlite3.connect(tmp_path / "audit.db") as c:
        c.execute("DELETE FROM audit WHERE seq = 5")
        prev = c.execute("SELECT hash FROM audit WHERE seq = 4").fetchone()[0]
        c.execute("UPDATE audit_head SET seq = 4, hash = ?", (prev,))
    result = AuditTrail(tmp_path / "audit.db").verify()
    assert not result.ok
    assert "anchored at row 5" in (result.problem or "")


def test_a_rewritten_chain_does_not_match_its_anchor(tmp_path: Path) -> None:
    _trail_with_rows(tmp_path, 3)
    anchor = (tmp_path / "audit.anchor").read_text()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'audit.db'}{suffix}").unlink(missing_ok=True)
    _trail_with_rows(tmp_path, 3)  # a new, internally valid chain of the same length
    (tmp_path / "audit.anchor").write_text(anchor)
    result = AuditTrail(tmp_path / "audit.db").verify()
    assert not result.ok
    assert "does not match its anchored hash" in (result.problem or "")


def test_garbage_bytes_are_tampered_not_a_traceback(tmp_path: Path) -> None:
    _trail_with_rows(tmp_path)
    (tmp_path / "audit.db").write_bytes(b"\x00garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / 'audit.db'}{suffix}").unlink(missing_ok=True)
    proc = _verify_cli(tmp_path)
    assert proc.returncode == 1
    assert "TAMPERED or corrupt" in proc.stderr
    assert "Traceback" not in proc.stderr


async def test_a_start_without_the_anchored_chain_alarms_and_records_it(tmp_path: Path) -> None:
    from bessai.core.site.gateway import Gateway

    _trail_with_rows(tmp_path)
    _delete_chain(tmp_path)
    gw = Gateway("s", [], data_dir=tmp_path)
    try:
        assert gw.alarms.get("audit_chain_short").active
        assert await gw.books.settled(5.0)
        assert [r.action for r in gw.audit.records()] == ["audit_chain_short"]
    finally:
        await gw.stop()


def test_two_writers_at_once_anchor_every_write_without_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two trails on one file (two ``bessai users ...`` at once) each write the anchor."""
    path = tmp_path / "audit.db"
    trails = [AuditTrail(path), AuditTrail(path)]
    start = threading.Barrier(2)

    def write(trail: AuditTrail, who: str) -> None:
        start.wait()
        for i in range(150):
            trail.append_now(who, "login", "ok", attempt=i)

    with caplog.at_level("ERROR", logger="bessai.core.stores.audit"):
        threads = [threading.Thread(target=write, args=(t, f"u{n}")) for n, t in enumerate(trails)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert [r.getMessage() for r in caplog.records] == []
    assert not any(t._anchor_failed for t in trails)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []
    result = trails[0].verify()
    assert result.ok, result.problem
    assert result.rows == 300
    for trail in trails:
        trail.close()
