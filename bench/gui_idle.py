"""Benchmark: the operator app's CPU at idle on Overview and Charts, at 800×480 and 1280×800.

"Idle" is the app on the embedded simulator, nobody touching it, a page left
open: what the kiosk costs the edge computer all day. Each figure is the app
process's CPU time (all threads: Qt, the core, SQLite) over wall time, after
a warm-up. The baseline is the same measurement of another revision of the
app (by default the commit before this wave's HMI work), checked out into a
temporary git worktree and run in the same session, page for page. Target:
no worse than the baseline (ratio <= 1.0, within noise).

    python bench/gui_idle.py [--seconds 20] [--baseline-ref 38cab97]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("Overview", 0, 800, 480),
    ("Charts", 1, 800, 480),
    ("Overview", 0, 1280, 800),
    ("Charts", 1, 1280, 800),
]

CHILD = r"""
import asyncio, json, os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from PySide6.QtWidgets import QApplication
from bessai.gui.bridge import CoreBridge
from bessai.gui.demo import demo_gateway
from bessai.gui.loop import AppEventLoop
from bessai.gui.main_window import MainWindow
from bessai.gui.theme import apply_theme

page, width, height, seconds = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])

async def run():
    app = QApplication.instance()
    apply_theme(app, "dark")
    with tempfile.TemporaryDirectory() as tmp:
        gateway = await demo_gateway(Path(tmp))
        bridge = CoreBridge(gateway)
        window = MainWindow(bridge)
        window.resize(width, height)
        window.show()
        window.show_page(page)
        await asyncio.sleep(5.0)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        bridge.close()
        window.close()
        await gateway.stop()
    return 100.0 * cpu / wall

app = QApplication([])
app.setQuitOnLastWindowClosed(False)
with asyncio.Runner(loop_factory=AppEventLoop) as runner:
    print(json.dumps(runner.run(run())))
"""


def measure(tree: Path, page: int, width: int, height: int, seconds: float) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(page), str(width), str(height), str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--baseline-ref", default="38cab97")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline_ref],
            check=True,
            capture_output=True,
        )
        try:
            print(f"CPU at idle, {args.seconds:.0f} s per case; baseline {args.baseline_ref}")
            for name, page, width, height in CASES:
                now = measure(ROOT, page, width, height, args.seconds)
                before = measure(base, page, width, height, args.seconds)
                print(
                    f"{name:9s} {width}x{height}: {now:5.1f} % CPU  baseline {before:5.1f} %  "
                    f"ratio {now / before:.2f}"
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
