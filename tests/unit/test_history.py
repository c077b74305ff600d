"""History: batched writes, minute aggregates, at most two points per pixel, retention, CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bessai.core.stores.history import History

T0 = 1_790_000_000.0 - (1_790_000_000.0 % 60)


@pytest.fixture
async def week(tmp_path: Path) -> History:
    h = History(tmp_path / "history.db", raw_retention_s=1e12)
    for i in range(0, 3 * 86400, 1):
        h.add(
            "bess",
            T0 + i,
            "good",
            {"soc_pct": 50 + 40 * np.sin(i / 3600), "active_power_kw": float(i % 60)},
        )
        if i % 50000 == 0:
            await h.flush()
    await h.flush()
    return h


async def test_chart_query_gives_at_most_two_points_per_pixel_and_keeps_extremes(
    week: History,
) -> None:
    for span, width, source in (
        (3 * 86400, 1000, "minute"),
        (3600, 800, "raw"),
        (600, 1920, "raw"),
    ):
        series = await week.fetch("bess", "soc_pct", T0 + 3 * 86400 - span, T0 + 3 * 86400, width)
        assert series.source == source
        assert 0 < len(series.ts) <= 2 * width
        assert np.all(np.diff(series.ts) >= 0)
    full = week.query("bess", "soc_pct", T0, T0 + 3 * 86400, 500)
    assert full.values.max() == pytest.approx(90.0, abs=0.01)
    assert full.values.min() == pytest.approx(10.0, abs=0.01)


async def test_minute_aggregates_hold_min_max_mean(week: History) -> None:
    rows = week.db.query(
        "SELECT min, max, mean, n FROM minute WHERE device = 'bess' AND quantity = 'active_power_kw' ORDER BY ts LIMIT 3"
    )
    assert rows == [(0.0, 59.0, 29.5, 60)] * 3


async def test_retention_drops_old_raw_rows_but_keeps_minutes(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db", raw_retention_s=3600)
    now = time.time()
    for i in range(7200):
        h.add("bess", now - 7200 + i, "good", {"soc_pct": 50.0})
    h._last_prune = now  # hold the hourly prune back for the first flush
    await h.flush()
    raw_before = h.db.query("SELECT COUNT(*) FROM raw")[0][0]
    h._last_prune = 0
    await h.flush()
    assert raw_before == 7200
    assert h.db.query("SELECT MIN(ts) FROM raw")[0][0] >= now - 3601
    assert h.db.query("SELECT COUNT(*) FROM minute")[0][0] >= 119
    await h.stop()


async def test_size_bound_drops_the_oldest_raw_first(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db", raw_retention_s=1e12, max_bytes=400_000)
    for i in range(30_000):
        h.add("bess", T0 + i, "good", {"soc_pct": 50.0, "active_power_kw": 1.0})
    await h.flush()
    h._last_prune = 0
    await h.flush()
    kept = h.db.query("SELECT MIN(ts), MAX(ts), COUNT(*) FROM raw")[0]
    assert kept[1] == T0 + 29_999
    assert kept[0] > T0
    assert h._size_bytes(h.db._conn) <= 400_000
    await h.stop()


def test_unknown_quantity_is_refused(tmp_path: Path) -> None:
    h = History(tmp_path / "h.db")
    with pytest.raises(ValueError, match="unknown quantity 'soc'"):
        h.query("bess", "soc", 0, 1, 10)


async def test_export_cli_writes_csv(tmp_path: Path) -> None:
    t0 = time.time() - 3600
    h = History(tmp_path / "history.db")
    for i in range(5):
        h.add("bess", t0 + i, "good", {"soc_pct": 40.0 + i})
    await h.stop()
    out = io.StringIO()
    History(tmp_path / "history.db").export_csv(out, "bess", t0, t0 + 10)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:4] == ["device", "time_utc", "ts", "quality"]
    assert [r[4] for r in rows[1:]] == ["40.0", "41.0", "42.0", "43.0", "44.0"]
    env = dict(os.environ, DATA_DIR=str(tmp_path))
    start = datetime.fromtimestamp(t0 - 60, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + 60, UTC).isoformat()
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "bessai",
            "export",
            "--device",
            "bess",
            "--from",
            start,
            "--to",
            end,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "5 samples exported" in proc.stderr
    assert proc.stdout.count("\n") == 6
