"""The kiosk session under a virtual X screen: full-screen, live, restarted after a crash.

The session script is the one the kiosk unit starts with xinit on the panel's
console; here Xvfb stands in for the panel (800x480) and xwd takes the
screenshots. (cage's headless backend kept the app's first frame in trials, so
the tested kiosk is X11; see packaging/kiosk/.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "packaging" / "kiosk" / "bessai-kiosk-session"


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


def test_the_kiosk_session_shows_live_values_full_screen(tmp_path: Path) -> None:
    xvfb = _need("Xvfb", "xvfb")
    xwd = _need("xwd", "x11-apps")
    _need("xset", "x11-xserver-utils")
    display = f":{40 + os.getpid() % 50}"
    screen = subprocess.Popen(
        [xvfb, display, "-screen", "0", "800x480x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    health = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE", "QT_QPA"))},
        "DISPLAY": display,
        "DATA_DIR": str(tmp_path / "data"),
        "HEALTH_PORT": str(health),
        "BESSAI": str(Path(sys.executable).parent / "bessai"),
        "BESSAI_PYTHON": sys.executable,
    }
    session = None
    try:
        time.sleep(1.0)
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
        time.sleep(4.0)
        first = _screenshot(xwd, display)
        time.sleep(3.0)
        second = _screenshot(xwd, display)
        (tmp_path / "kiosk-1.xwd").write_bytes(first)
        (tmp_path / "kiosk-2.xwd").write_bytes(second)
        assert first != second, "the screen did not repaint: values are not live"
        # The app covers the panel: no large stretch of the bare (black) root window is left.
        pixels = first[-800 * 480 * 4 :]
        black = pixels.count(b"\x00\x00\x00\x00") / (800 * 480)
        assert black < 0.2, f"{black:.0%} of the screen is bare root window"
        # A crash is followed by a restart of the app.
        app = subprocess.run(
            ["pgrep", "-f", "-s", str(session.pid), "bessai --kiosk"],
            capture_output=True,
            text=True,
        )
        pids = [int(p) for p in app.stdout.split()]
        assert pids, "no kiosk app process in the session"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            again = subprocess.run(
                ["pgrep", "-f", "-s", str(session.pid), "bessai --kiosk"],
                capture_output=True,
                text=True,
            )
            if again.stdout.split() and set(map(int, again.stdout.split())) - set(pids):
                break
            assert time.monotonic() < deadline, "the app was not restarted after the crash"
            time.sleep(0.5)
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
