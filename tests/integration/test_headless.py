"""`bessai --headless` on the embedded simulator: status lines, JSON logs, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path


async def test_headless_prints_status_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVERTER", "SITE"))}
    env.update(POLL_INTERVAL_S="0.2", HEALTH_PORT="0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "--headless",
        "--status-every",
        "0.5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while len(lines) < 2:
            raw = await asyncio.wait_for(proc.stdout.readline(), 30)
            if not raw:
                break
            lines.append(raw.decode())
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    assert len(lines) == 2
    for line in lines:
        assert line.startswith("bess-sim")
        assert " UP " in line
        assert "SoC 50.0 %" in line
        assert "poll " in line
    logs = [json.loads(x) for x in err.decode().splitlines() if x.strip()]
    messages = [entry["msg"] for entry in logs]
    assert "gateway started" in messages
    assert messages[-1] == "gateway stopped"
    assert all(entry["level"] in ("INFO", "WARNING") for entry in logs), logs
