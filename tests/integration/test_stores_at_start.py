"""Starting on a DATA_DIR that is corrupt, read-only, busy or loose: one line, never a crash loop."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bessai.core.site.gateway import Gateway
from bessai.core.site.instance import warn_if_loose
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import sim_device
from tests.tmpfs import tmpfs

GARBAGE = b"this is not a database, it is garbage " * 200


def _bessai(
    data: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE"))},
        "DATA_DIR": str(data),
        "HEALTH_PORT": "0",
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bessai", "--headless", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=data.parent,
        timeout=60,
        check=False,
    )


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("store", ["users.db", "audit.db"])
def test_a_corrupt_users_or_audit_store_is_refused_with_its_recovery(
    tmp_path: Path, store: str
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / store).write_bytes(GARBAGE)
    line = _one_line(_bessai(data, "--duration", "1"))
    assert f"{data / store} is corrupt" in line
    assert "it is not replaced" in line
    assert ("users add" in line) if store == "users.db" else ("mv audit.db" in line)
    assert (data / store).read_bytes() == GARBAGE  # never silently replaced


@pytest.mark.parametrize("store", ["history.db", "alarms.db", "dispatch.db"])
async def test_a_corrupt_rebuildable_store_is_moved_aside_with_an_alarm(
    tmp_path: Path, simulator: tuple[BessSimulator, int], store: str
) -> None:
    _, port = simulator
    (tmp_path / store).write_bytes(GARBAGE)
    gw = Gateway("s", [sim_device(port)], data_dir=tmp_path)
    try:
        await gw.start()
        aside = list(tmp_path.glob(f"{store}.corrupt-*"))  # noqa: ASYNC240
        assert len(aside) == 1
        assert aside[0].read_bytes() == GARBAGE
        alarm = gw.alarms.get("store_replaced")
        assert alarm.active
        assert store in alarm.detail
        from bessai.core.observe.health import health_report

        assert any(
            p.startswith("store ") and "replaced" in p for p in health_report(gw)["problems"]
        )
    finally:
        await gw.stop()


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    line = _one_line(_bessai(Path("/dev/null"), "--duration", "1"))
    assert line == "bessai: cannot start: DATA_DIR /dev/null is not a directory"


@pytest.mark.tmpfs
def test_a_read_only_data_dir_is_one_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "size=1m,ro") as mount:
        line = _one_line(_bessai(mount, "--duration", "1"))
        assert f"DATA_DIR {mount} is not writable: Read-only file system" in line


def test_a_second_instance_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE"))},
        "DATA_DIR": str(data),
        "HEALTH_PORT": "0",
    }
    first = subprocess.Popen(
        [sys.executable, "-m", "bessai", "--headless", "--duration", "30"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (data / "bessai.lock").exists() or not (data / "bessai.lock").read_text():
            assert time.monotonic() < deadline, "the first gateway did not start"
            time.sleep(0.1)
        line = _one_line(_bessai(data, "--duration", "1"))
        assert line == (
            f"bessai: cannot start: another bessai (pid {first.pid}) is running on "
            f"DATA_DIR {data}: stop it first"
        )
    finally:
        first.terminate()
        first.wait(20)
    # Once it is gone (even killed), the lock is free again.
    assert _bessai(data, "--duration", "0.5").returncode == 0


def test_a_health_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _one_line(
            _bessai(tmp_path / "data", "--duration", "1", extra_env={"HEALTH_PORT": str(port)})
        )
    assert line.startswith(f"bessai: cannot start: HEALTH_PORT {port} on HEALTH_BIND 127.0.0.1:")
    assert "address already in use" in line


def test_data_dir_and_stores_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _bessai(data, "--duration", "0.5").returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for store in ("users.db", "audit.db", "alarms.db", "history.db", "bessai.lock"):
        assert stat.S_IMODE((data / store).stat().st_mode) == 0o600, store
    assert warn_if_loose(data) == []
    data.chmod(0o755)
    assert warn_if_loose(data) == [f"{data} is 0755"]


def test_a_store_from_a_newer_release_is_refused_and_an_old_one_migrated(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    assert _bessai(data, "--duration", "0.5").returncode == 0
    with sqlite3.connect(data / "history.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        db.execute("PRAGMA user_version = 0")  # the layout before versions were kept
    assert _bessai(data, "--duration", "0.5").returncode == 0
    with sqlite3.connect(data / "history.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        db.execute("PRAGMA user_version = 7")
    line = _one_line(_bessai(data, "--duration", "0.5"))
    assert "history" in line
    assert "was written by a newer bessai (schema 7, this one reads 1)" in line
