"""The fleet view: three gateways on loopback publish to Google's Pub/Sub emulator at once and
`bessai fleet` shows each site's latest state; a site that stops publishing turns stale."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import jsonschema

from bessai.core.cloud.fleet import Fleet
from bessai.core.config.settings import DeviceConfig
from bessai.core.site.gateway import Gateway
from bessai.core.site.gateway_cloud import CloudConfig
from tests.pubsub_emulator import PubSubEmulator

ROOT = Path(__file__).resolve().parents[2]
SITES = ["cl-norte-01", "cl-centro-02", "cl-sur-03"]


async def gateway(tmp_path: Path, site: str, emulator: PubSubEmulator) -> Gateway:
    gw = Gateway(
        site,
        [DeviceConfig(name="bess", profile="sim_bess", simulated=True, poll_interval_s=0.5)],
        data_dir=tmp_path / site,
        cloud=CloudConfig(emulator.project, "telemetry", retry_max_s=1.0),
        ids_enabled=False,
    )
    gw.status_every_s = 1.0
    await gw.start()
    return gw


async def test_three_gateways_show_in_the_fleet_table_and_a_silent_one_turns_stale(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    await asyncio.to_thread(pubsub_emulator.create, "telemetry", "fleet")
    gateways = [await gateway(tmp_path, site, pubsub_emulator) for site in SITES]
    fleet = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        "fleet",
        "--subscription",
        "fleet",
        "--project",
        pubsub_emulator.project,
        "--stale-after",
        "3",
        "--every",
        "1",
        "--duration",
        "14",
        env={**os.environ, **pubsub_emulator.env()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        await asyncio.sleep(6.0)
        schema = json.loads((ROOT / "bessai/resources/schemas/telemetry-v1.json").read_text())
        status = {"schema_version": 1, "kind": "status", "site_id": SITES[0]}
        jsonschema.validate({**status, **gateways[0].status_message(1.0e9)}, schema)
        await gateways[2].stop()  # cl-sur-03 stops publishing
        out, err = await asyncio.wait_for(fleet.communicate(), 60)
    finally:
        for gw in gateways[:2]:
            await gw.stop()
    assert fleet.returncode == 0, err.decode()
    blocks = [b for b in out.decode().split("\n\n") if b.startswith("SITE")]
    assert len(blocks) >= 8  # redrawn every second
    early = blocks[3]
    for site in SITES:
        line = next(line for line in early.splitlines() if line.startswith(site))
        assert "bess" in line
        assert "standby" in line  # the mode, from the site's status message
        assert "STALE" not in line
        assert " 50." in line or " 49." in line  # the simulator's SoC
    last = blocks[-1].splitlines()
    stale = {line.split()[0] for line in last if "STALE" in line}
    assert stale == {"cl-sur-03"}, blocks[-1]
    assert "3 sites" in last[-1]
    assert "0 out-of-order" in last[-1]  # ordering per device held


def test_the_fleet_never_goes_back_in_time_and_drops_redeliveries() -> None:
    fleet = Fleet(stale_after_s=10.0)

    def sample(ts: float, soc: float, sample_id: str) -> tuple[bytes, dict[str, str]]:
        body = {
            "schema_version": 1,
            "kind": "sample",
            "site_id": "s1",
            "sample_id": sample_id,
            "device": "bess",
            "ts": ts,
            "quality": "good",
            "roles": {"soc_pct": soc, "active_power_kw": 1.0},
            "values": {},
        }
        schema = json.loads((ROOT / "bessai/resources/schemas/telemetry-v1.json").read_text())
        jsonschema.validate(body, schema)
        return json.dumps(body).encode(), {"sample_id": sample_id}

    fleet.add(*sample(100.0, 50.0, "a"))
    fleet.add(*sample(101.0, 51.0, "b"))
    fleet.add(*sample(100.5, 40.0, "c"))  # older than the newest: ignored
    fleet.add(*sample(101.0, 51.0, "b"))  # redelivered
    row = fleet.rows(now=105.0)[0]
    assert row.soc_pct == 51.0
    assert row.age_s == 4.0
    assert not row.stale
    assert fleet.out_of_order == 1
    assert fleet.duplicates == 1
    assert fleet.rows(now=112.0)[0].stale
    fleet.add(b"not json", {"sample_id": "z"})
    assert fleet.unreadable == 1
