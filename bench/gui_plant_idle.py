"""Benchmark: the operator app at idle on a 20-device plant's Overview (the single-line diagram).

Ten PCS, each with the BMS of its rack (20 devices, plus the POI meter), on the
coupled plant simulator in a process of its own over loopback; the app (the
gateway and Qt in one process, polling every device every second) shows the
plant Overview at 1280×800, nobody touching it. Measured over ``--seconds``
after a warm-up: the app process's CPU (all threads, % of one core) and its
RSS. Baseline, in the same run: the same app on the one embedded simulated
battery. Targets (issue): within 5 % of a core and 280 MB RSS.

    python bench/gui_plant_idle.py [--seconds 20] [--pcs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import asyncio, json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from PySide6.QtWidgets import QApplication
from bessai.gui.bridge import CoreBridge
from bessai.gui.demo import demo_gateway
from bessai.gui.loop import AppEventLoop
from bessai.gui.main_window import MainWindow
from bessai.gui.theme import apply_theme

site_file, seconds = sys.argv[2], float(sys.argv[3])

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0

async def run():
    app = QApplication.instance()
    apply_theme(app, "dark")
    with tempfile.TemporaryDirectory() as tmp:
        site = None
        if site_file != "-":
            from bessai.core.config.settings import load_site_file
            site = load_site_file(Path(site_file))
        gateway = await demo_gateway(Path(tmp), site=site)
        bridge = CoreBridge(gateway)
        window = MainWindow(bridge)
        window.resize(1280, 800)
        window.show()
        window.show_page(0)
        await asyncio.sleep(8.0)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        up = sum(1 for p in gateway.pollers.values() if p.status.up)
        heavy = [m for m in ("google.cloud.pubsub_v1", "grpc", "onnxruntime", "c104") if m in sys.modules]
        out = {"cpu_pct": 100.0 * cpu / wall, "rss_mb": rss_mb(), "up": up, "devices": len(gateway.pollers), "heavy": heavy}
        bridge.close()
        window.close()
        await gateway.stop()
    return out

app = QApplication([])
app.setQuitOnLastWindowClosed(False)
with asyncio.Runner(loop_factory=AppEventLoop) as runner:
    print(json.dumps(runner.run(run())))
"""

SIMULATOR = r"""
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from bessai.cli.simulate_site import plant_devices
from bessai.drivers.simulator.plant import PlantSimulator

async def main():
    sim = PlantSimulator(plant_devices(Path(sys.argv[2])), seed=1, load_kw=300.0, pv_kw=100.0)
    await sim.start()
    print("ready", flush=True)
    await asyncio.sleep(float(sys.argv[3]))
    await sim.stop()

asyncio.run(main())
"""


def plant_file(directory: Path, pcs: int) -> Path:
    """A site file of ``pcs`` inverters, each with its BMS, and the POI meter, on free ports."""
    import socket

    def port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    lines = [
        'site_id = "cl-bench-plant"',
        "[site]",
        'poi_meter = "poi"',
        "[limits]",
        "temp_trip_c = 58",
        "pack_voltage_min_v = 600",
        "pack_voltage_max_v = 900",
    ]

    def device(name: str, role: str, profile: str, battery: str | None = None) -> None:
        lines.extend(
            [
                "[[devices]]",
                f'name = "{name}"',
                f'role = "{role}"',
                f'profile = "{profile}"',
                'host = "127.0.0.1"',
                f"port = {port()}",
                "poll_interval_s = 1.0",
            ]
        )
        if battery:
            lines.append(f'battery = "{battery}"')

    for i in range(1, pcs + 1):
        device(f"pcs{i}", "inverter", "sim_pcs", f"bms{i}")
        device(f"bms{i}", "bms", "sim_bms")
    device("poi", "meter", "sim_meter")
    path = directory / "plant.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def measure(site: str, seconds: float) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), site, str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--pcs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = plant_file(Path(tmp), args.pcs)
        sim = subprocess.Popen(
            [sys.executable, "-c", SIMULATOR, str(ROOT), str(site), str(args.seconds + 40)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert sim.stdout is not None
            assert sim.stdout.readline().strip() == "ready"
            plant = measure(str(site), args.seconds)
        finally:
            sim.terminate()
            sim.wait(10)
        base = measure("-", args.seconds)
    print(
        f"plant Overview, {plant['devices']:.0f} devices ({plant['up']:.0f} answering), "
        f"1280x800: {plant['cpu_pct']:.1f} % CPU, {plant['rss_mb']:.0f} MB RSS"
    )
    # What the app holds at idle that only some sites need (Pub/Sub ~50 MB, onnxruntime ~50 MB).
    print("optional libraries loaded at idle:", ", ".join(plant["heavy"]) or "none")
    print(
        f"baseline, one simulated battery: {base['cpu_pct']:.1f} % CPU, "
        f"{base['rss_mb']:.0f} MB RSS; ratio CPU {plant['cpu_pct'] / base['cpu_pct']:.2f}, "
        f"RSS {plant['rss_mb'] / base['rss_mb']:.2f}"
    )
    ok = plant["cpu_pct"] <= 5.0 and plant["rss_mb"] <= 280.0 and plant["up"] == plant["devices"]
    print("target (<= 5 % of a core, <= 280 MB, every device answering):", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
