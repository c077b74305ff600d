"""SR 1.12 at the command line: the notice comes before the PIN prompt, on a real terminal."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from bessai import notice


def _on_a_terminal(tmp_path: Path, *args: str, answer: bytes, **env_set: str) -> tuple[int, str]:
    """Run ``python -m bessai ARGS`` on a pseudo-terminal; type ``answer`` at the prompt."""
    main, child = os.openpty()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "HEALTH_PORT": "0",
        **env_set,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bessai", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(child)
    seen = b""
    answered = False
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # EIO: the terminal closed with the process
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"PIN or password: " in seen:
                os.write(main, answer)
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
    return code, seen.decode("utf-8", "replace").replace("\r\n", "\n")


def test_the_cli_shows_the_notice_before_asking_for_a_pin(tmp_path: Path) -> None:
    code, shown = _on_a_terminal(
        tmp_path, "--headless", "--duration", "1", "--login", "olga", answer=b"271828\n"
    )
    assert code == 0, shown
    prompt = shown.index("olga's PIN or password: ")
    assert shown.index(notice.DEFAULT["es"]) < prompt
    assert shown.index(notice.DEFAULT["en"]) < prompt
    assert "271828" not in shown  # not echoed


def test_a_sites_own_notice_is_printed_instead(tmp_path: Path) -> None:
    own = "Planta Los Andes: uso solo autorizado; todo queda registrado."
    code, shown = _on_a_terminal(
        tmp_path,
        "--headless",
        "--duration",
        "1",
        "--login",
        "olga",
        answer=b"271828\n",
        SYSTEM_USE_NOTICE=own,
    )
    assert code == 0, shown
    assert shown.index(own) < shown.index("olga's PIN or password: ")
    assert notice.DEFAULT["en"] not in shown
