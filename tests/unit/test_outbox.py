"""The outbox: durable commits, the drop policy when full, a corrupt file moved aside, valid messages."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import jsonschema
import pytest

from bessai.core.runtime.events import Quality, Sample
from bessai.core.stores.outbox import Outbox

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads(
    (ROOT / "bessai" / "resources" / "schemas" / "telemetry-v1.json").read_text(encoding="utf-8")
)
T0 = 1_789_999_980.0  # on a minute boundary


def sample(i: int, device: str = "bess") -> Sample:
    roles = {"soc_pct": 50.0 + i * 0.01, "active_power_kw": float(i % 7), "battery_temp_c": 25.0}
    return Sample(
        device, T0 + i, {"soc_pct": roles["soc_pct"], "serial": None}, roles, Quality.GOOD
    )


async def test_committed_messages_survive_a_reopen_in_order(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "site")
    for i in range(10):
        box.add_sample(sample(i))
    assert box.depth == 10
    assert await box.commit() == 10
    box.db.close()  # no clean stop: what was committed is on disk
    again = Outbox(tmp_path / "o.db", "site")
    rows = await again.batch(100)
    assert [r.message_id for r in rows] == [
        f"site:bess:{round((T0 + i) * 1000)}" for i in range(10)
    ]
    await again.ack(rows[:4])
    assert again.depth == 6
    first = (await again.batch(100))[0]
    assert first.message_id.endswith(str(round((T0 + 4) * 1000)))
    await again.stop()


async def test_every_message_kind_validates_against_the_schema(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "site", events_topic="events")
    for i in range(0, 130, 1):  # crosses two minute boundaries: aggregates too
        box.add_sample(sample(i))
    box.add_event(
        "alarm",
        "comms_lost",
        {"id": "a1", "alarm": "comms_lost", "state": "active_unack", "priority": 2},
    )
    box.add_status(
        {
            "id": "site:status:1",
            "ts": 1.0,
            "devices": {"bess": {"up": True, "mode": "manual", "interlocks": 0}},
            "alarms": {"active": 1, "highest_priority": 2},
            "outbox": {"depth": 130, "oldest_age_s": 2.5},
        }
    )
    await box.commit()
    rows = await box.batch(1000)
    kinds = {r.attributes["kind"] for r in rows}
    assert kinds == {"sample", "aggregate", "alarm", "status"}
    for row in rows:
        body = json.loads(row.payload)
        jsonschema.validate(body, SCHEMA)
        assert row.attributes["schema_version"] == "1"
        assert row.attributes["site_id"] == "site"
    aggregate = next(json.loads(r.payload) for r in rows if r.kind == "aggregate")
    assert aggregate["stats"]["soc_pct"]["n"] > 1
    assert {r.topic for r in rows if r.kind == "alarm"} == {"events"}
    await box.stop()


async def test_when_full_the_oldest_raw_samples_go_and_aggregates_stay(tmp_path: Path) -> None:
    dropped: list[int] = []
    box = Outbox(tmp_path / "o.db", "site", max_rows=1000, on_drop=dropped.append)
    for i in range(1500):  # 25 minutes of 1 Hz samples: 24 finished minute aggregates
        box.add_sample(sample(i))
    await box.commit()
    rows = await box.batch(5000)
    raw = [r for r in rows if r.kind == "raw"]
    aggregates = [r for r in rows if r.kind == "aggregate"]
    assert len(rows) == 1000
    assert len(aggregates) == 24
    assert box.stats.dropped == sum(dropped) == 1500 + 24 - 1000
    # What is left is the newest raw samples, contiguous up to the last one.
    stamps = [json.loads(r.payload)["ts"] for r in raw]
    assert stamps == [T0 + i for i in range(1500 - len(raw), 1500)]
    await box.stop()


async def test_a_corrupt_file_is_moved_aside_and_a_fresh_outbox_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.db"
    path.write_bytes(b"this is not a database" * 100)
    caplog.set_level(logging.ERROR)
    box = Outbox(path, "site")
    assert box.stats.corrupt_files == 1
    aside = list(tmp_path.glob("outbox.db.corrupt-*"))  # noqa: ASYNC240
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not a database")
    assert "is corrupt" in caplog.text
    box.add_sample(sample(1))
    assert await box.commit() == 1
    await box.stop()


def _replace_with_a_folder(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.mkdir()


async def test_a_failed_commit_keeps_the_samples_queued(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "site")
    box.add_sample(sample(1))
    box.db.close()
    _replace_with_a_folder(tmp_path / "o.db")  # the file cannot be opened again
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await box.commit()
    assert box.depth == 1  # still queued, not lost
