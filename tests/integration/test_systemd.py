"""The supervised service: the unit passes systemd's own check, and the gateway speaks sd_notify.

No systemd runs here: a datagram socket in the test stands in for it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bessai.core.site.notify import SystemdNotifier

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "packaging" / "systemd" / "bessai.service"


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd package")
    # verify checks that ExecStart exists: point it at this checkout's command.
    unit = tmp_path / "bessai.service"
    unit.write_text(
        UNIT.read_text().replace(
            "/opt/bessai/.venv/bin/bessai", str(Path(sys.executable).parent / "bessai")
        )
    )
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "LimitNOFILE=",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        "PrivateTmp=true",
        "User=bessai",
    ):
        assert line in text


def _listen(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    return sock


def _collect(sock: socket.socket, until_s: float) -> list[tuple[float, str]]:
    got: list[tuple[float, str]] = []
    deadline = time.monotonic() + until_s
    while time.monotonic() < deadline:
        try:
            got.append((time.monotonic(), sock.recv(4096).decode()))
        except TimeoutError:
            continue
        if got[-1][1].startswith("STOPPING=1"):
            break
    return got


@pytest.mark.parametrize("abstract", [False, True])
def test_ready_after_the_first_poll_then_watchdog_pings_then_stopping(
    tmp_path: Path, abstract: bool
) -> None:
    name = f"@bessai-test-{os.getpid()}" if abstract else str(tmp_path / "notify.sock")
    sock = _listen("\0" + name[1:] if abstract else name)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE"))},
        "DATA_DIR": str(tmp_path / "data"),
        "HEALTH_PORT": "0",
        "NOTIFY_SOCKET": name,
        "WATCHDOG_USEC": "400000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bessai", "--headless", "--duration", "3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        got = _collect(sock, 30.0)
    finally:
        _, err = proc.communicate(timeout=30)
        sock.close()
    assert proc.returncode == 0, err[-2000:]
    messages = [m for _, m in got]
    ready = [i for i, m in enumerate(messages) if m.startswith("READY=1")]
    assert len(ready) == 1, messages
    assert "STATUS=polling 1 devices" in messages[ready[0]]
    pings = [t for t, m in got if m == "WATCHDOG=1"]
    assert len(pings) >= 5, messages  # every 0.2 s over ~3 s
    assert max(b - a for a, b in itertools.pairwise(pings)) < 0.6
    assert messages[-1].startswith("STOPPING=1")


async def test_the_pings_come_from_the_event_loop_so_a_stalled_loop_stops_them(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "n.sock")
    sock = _listen(path)
    received: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: received.extend(_collect(sock, 2.5)), daemon=True)
    reader.start()
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    notifier.start_watchdog()
    try:
        await asyncio.sleep(0.3)
        time.sleep(1.0)  # noqa: ASYNC251 - the point: the loop is stuck, no ping may go out
        await asyncio.sleep(0.3)
    finally:
        await notifier.stop()
    reader.join(5)
    sock.close()
    stamps = [t for t, m in received if m == "WATCHDOG=1"]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert max(gaps) >= 0.9  # the stall shows as a gap systemd would act on
    assert sorted(gaps)[len(gaps) // 2] < 0.2


def test_without_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.send("READY=1") is False
    assert notifier.watchdog_s is None
