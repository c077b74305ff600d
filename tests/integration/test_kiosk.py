"""The kiosk session under a virtual X screen: full-screen, live, restarted after a crash.

The session script is the one the kiosk unit starts with xinit on the panel's
console; here Xvfb stands in for the panel (800x480) and xwd takes the
screenshots. (cage's headless backend kept the app's first frame in trials, so
the tested kiosk is X11; see packaging/kiosk/.)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "packaging" / "kiosk" / "bessai-kiosk-session"

# Starting the app on a virtual screen takes 10-20 s on these machines.
pytestmark = pytest.mark.timeout(180)


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: install Debian's {package}")
    return path


def _screenshot(xwd: str, display: str) -> bytes:
    done = subprocess.run(
        [xwd, "-root", "-silent", "-display", display], capture_output=True, check=True, timeout=20
    )
    return done.stdout


@contextlib.contextmanager
def _kiosk(
    tmp_path: Path, size: str = "800x480", **env_extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], int]]:
    """Xvfb (800x480 unless told) with no window manager, and the kiosk session on it, up and
    answering /health."""
    xvfb = _need("Xvfb", "xvfb")
    _need("xset", "x11-xserver-utils")
    # Xvfb takes a free display and writes its number once it listens: tests running side by
    # side (pytest-xdist) never share a screen.
    chosen, told = os.pipe()
    screen = subprocess.Popen(
        [xvfb, "-displayfd", str(told), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(told,),
    )
    os.close(told)
    with os.fdopen(chosen) as number:
        display = f":{number.readline().strip()}"
    if display == ":":
        screen.wait(10)
        pytest.fail(f"Xvfb took no display (exit status {screen.returncode})")
    health = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE", "QT_QPA"))},
        "DISPLAY": display,
        "DATA_DIR": str(tmp_path / "data"),
        "HEALTH_PORT": str(health),
        "BESSAI": str(Path(sys.executable).parent / "bessai"),
        "BESSAI_PYTHON": sys.executable,
        **env_extra,
    }
    session = None
    try:
        session = subprocess.Popen(
            ["sh", str(SESSION)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the kiosk app did not come up"
            assert session.poll() is None, "the kiosk session ended"
            time.sleep(0.5)
        yield display, session, health
    finally:
        if session is not None:
            try:
                os.killpg(session.pid, signal.SIGTERM)
                session.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(session.pid, signal.SIGKILL)
                session.wait(10)
        screen.terminate()
        screen.wait(10)


def _black(shot: bytes) -> float:
    pixels = shot[-800 * 480 * 4 :]
    return pixels.count(b"\x00\x00\x00\x00") / (800 * 480)


def _app_pids(session: subprocess.Popen[bytes]) -> set[int]:
    found = subprocess.run(
        ["pgrep", "-f", "-s", str(session.pid), "bessai --kiosk"], capture_output=True, text=True
    )
    return {int(p) for p in found.stdout.split()}


def test_the_kiosk_session_shows_live_values_full_screen(tmp_path: Path) -> None:
    xwd = _need("xwd", "x11-apps")
    with _kiosk(tmp_path) as (display, session, _):
        time.sleep(4.0)
        first = _screenshot(xwd, display)
        time.sleep(3.0)
        second = _screenshot(xwd, display)
        (tmp_path / "kiosk-1.xwd").write_bytes(first)
        (tmp_path / "kiosk-2.xwd").write_bytes(second)
        assert first != second, "the screen did not repaint: values are not live"
        # The app covers the panel: no large stretch of the bare (black) root window is left.
        assert _black(first) < 0.2, f"{_black(first):.0%} of the screen is bare root window"
        # A crash is followed by a restart of the app.
        pids = _app_pids(session)
        assert pids, "no kiosk app process in the session"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (_app_pids(session) - pids):
            assert time.monotonic() < deadline, "the app was not restarted after the crash"
            time.sleep(0.5)


@pytest.mark.parametrize("alarm", [False, True])
def test_the_screen_may_blank_unless_an_alarm_is_active(tmp_path: Path, alarm: bool) -> None:
    """What the session tells the X server: blank after KIOSK_BLANK_S, and reset that timer
    (and wake the panel) only while an alarm is active. An xset that records its calls
    stands in for the real one; the blanking itself is the X server's."""
    shim = tmp_path / "bin"
    shim.mkdir()
    log = tmp_path / "xset.log"
    (shim / "xset").write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    (shim / "xset").chmod(0o755)
    if alarm:
        # A corrupt history file is moved aside at start: the store_replaced alarm is active.
        (tmp_path / "data").mkdir(mode=0o700)
        (tmp_path / "data" / "history.db").write_bytes(b"not a database " * 100)
    path = f"{shim}:{os.environ.get('PATH', '')}"
    with _kiosk(tmp_path, KIOSK_BLANK_S="3", KIOSK_AWAKE_EVERY_S="1", PATH=path) as (_, _s, health):
        with urllib.request.urlopen(f"http://127.0.0.1:{health}/health", timeout=2) as r:
            assert (json.load(r)["alarms"]["active"] > 0) is alarm
        time.sleep(4.0)
    calls = log.read_text().splitlines()
    assert calls[:2] == ["s 3 3", "s blank"]
    assert "dpms 3 3 3" in calls
    resets = calls.count("s reset")
    if alarm:
        assert resets >= 2, calls
        assert "dpms force on" in calls
    else:
        assert resets == 0, calls


def _windows(display: str) -> list[tuple[str, int, int, int, int]]:
    """The mapped top-level windows: (name, x, y, width, height)."""
    tree = subprocess.run(
        [_need("xwininfo", "x11-utils"), "-root", "-children", "-display", display],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    ).stdout
    found = []
    for line in tree.splitlines():
        match = re.match(r'\s*(0x[0-9a-f]+) "([^"]*)": .* (\d+)x(\d+)\+(-?\d+)\+(-?\d+)', line)
        if match:
            wid, name, w, h, x, y = match.groups()
            state = subprocess.run(
                ["xwininfo", "-id", wid, "-display", display], capture_output=True, text=True
            ).stdout
            if "IsViewable" in state:
                found.append((name, int(x), int(y), int(w), int(h)))
    return found


@pytest.mark.parametrize("size", ["1920x1080", "800x480"])
def test_the_kiosk_fills_any_screen_without_a_window_manager_and_is_supervised(
    tmp_path: Path, size: str
) -> None:
    """As the kiosk unit runs it: xinit's session with no window manager, systemd's notify
    socket and watchdog in the environment (WATCHDOG_PID naming xinit, not the app). The app
    covers the whole screen at +0+0, says READY=1 and pings the watchdog from its (Qt) loop."""
    notify = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(0.2)
    width, height = (int(v) for v in size.split("x"))
    try:
        with _kiosk(
            tmp_path,
            size,
            NOTIFY_SOCKET=str(notify),
            WATCHDOG_USEC="2000000",
            WATCHDOG_PID=str(os.getpid()),  # systemd's main process (xinit), not the app
        ) as (display, _session, _):
            got: list[str] = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and got.count("WATCHDOG=1") < 3:
                with contextlib.suppress(TimeoutError):
                    got.append(sock.recv(4096).decode().split("\n")[0])
            assert "READY=1" in got, got
            assert got.count("WATCHDOG=1") >= 3, got  # every second: half of WatchdogSec
            windows = _windows(display)
            app = [w for w in windows if w[0] == "BESSAI Edge"]
            assert app == [("BESSAI Edge", 0, 0, width, height)], windows
    finally:
        sock.close()


def test_the_kiosk_unit_passes_systemd_analyze_verify_and_is_supervised(tmp_path: Path) -> None:
    analyze = _need("systemd-analyze", "systemd")
    unit_path = ROOT / "packaging" / "kiosk" / "bessai-kiosk.service"
    text = unit_path.read_text()
    for line in ("Type=notify", "NotifyAccess=all", "WatchdogSec=", "Restart=always"):
        assert line in text
    unit = tmp_path / "bessai-kiosk.service"
    # verify checks that ExecStart's program exists: point it at this checkout's session.
    unit.write_text(text.replace("/usr/bin/bessai-kiosk-session", str(SESSION)))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "unset WATCHDOG_PID" in SESSION.read_text()
