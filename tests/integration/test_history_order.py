"""Records keep the order they were made in when the wall clock steps back (issue 30, item 6).

History numbers its raw rows, the audit trail its records and the outbox its
messages; a step of the wall clock changes their stamps, never their order.
Each store is given a wall clock that is stepped back an hour between writes;
one gateway, polling the simulator over real Modbus/TCP, is stepped under way.
A history file of an older release, without the numbers, is numbered in place.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from pathlib import Path

from bessai.core.runtime.events import Quality, Sample
from bessai.core.site.gateway import Gateway
from bessai.core.stores.aggregate import QUANTITIES
from bessai.core.stores.audit import AuditTrail
from bessai.core.stores.history import History
from bessai.core.stores.outbox import Outbox
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import sim_device, until

T0 = 1_790_000_000.0
STEP_BACK_S = -3600.0


class Wall:
    """A wall clock the test steps; it otherwise follows the machine's."""

    def __init__(self, start: float | None = None) -> None:
        self.offset_s = 0.0 if start is None else start - time.time()

    def __call__(self) -> float:
        return time.time() + self.offset_s


def _exported_soc(history: History) -> list[float]:
    out = io.StringIO()
    history.export_csv(out, "bess", 0.0, 1e12)
    return [float(row["soc_pct"]) for row in csv.DictReader(io.StringIO(out.getvalue()))]


async def test_history_rows_keep_their_arrival_order_across_a_step_back(tmp_path: Path) -> None:
    wall = Wall(T0)
    history = History(tmp_path / "history.db", raw_retention_s=1e12, clock=wall)
    for i in range(10):
        if i == 5:
            wall.offset_s += STEP_BACK_S
        history.add("bess", wall() + i, "good", {"soc_pct": float(i)})
    await history.flush()
    rows = history.db.query("SELECT ts, soc_pct, seq FROM raw ORDER BY seq")
    assert [r[1] for r in rows] == [float(i) for i in range(10)]
    assert rows[5][0] < rows[4][0]  # the stamps went back ...
    assert _exported_soc(history) == [float(i) for i in range(10)]  # ... the export did not
    await history.stop()
    again = History(tmp_path / "history.db", raw_retention_s=1e12, clock=wall)
    again.add("bess", wall() - 7200.0, "good", {"soc_pct": 10.0})
    await again.flush()
    assert _exported_soc(again) == [float(i) for i in range(11)]  # numbered on after a reopen
    await again.stop()


async def test_a_history_of_an_older_release_is_numbered_in_place(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE raw (device TEXT NOT NULL, ts REAL NOT NULL, quality TEXT NOT NULL, "
            + ", ".join(f"{q} REAL" for q in QUANTITIES)
            + ")"
        )
        # Written in this order; the stamps of the last two went back with the clock.
        for i, ts in enumerate((T0, T0 + 1, T0 + 2, T0 - 3600, T0 - 3599)):
            old.execute(
                "INSERT INTO raw (device, ts, quality, soc_pct) VALUES (?,?,?,?)",
                ("bess", ts, "good", float(i)),
            )
    history = History(path, raw_retention_s=1e12, clock=lambda: T0)
    assert _exported_soc(history) == [0.0, 1.0, 2.0, 3.0, 4.0]
    history.add("bess", T0 - 7200.0, "good", {"soc_pct": 5.0})
    await history.flush()
    assert _exported_soc(history) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert history.db.query("PRAGMA quick_check") == [("ok",)]
    await history.stop()


async def test_audit_and_outbox_keep_their_order_across_a_step_back(tmp_path: Path) -> None:
    wall = Wall(T0)
    trail = AuditTrail(tmp_path / "audit.db", clock=wall)
    box = Outbox(tmp_path / "outbox.db", "site", events_topic="events", clock=wall)
    for i in range(6):
        if i == 3:
            wall.offset_s += STEP_BACK_S
        await trail.append("ana", "set_mode", "ok", n=i)
        box.add_event("audit", "audit", {"id": f"site:audit:{i}", "n": i})
        box.add_sample(Sample("bess", wall(), {}, {"soc_pct": float(i)}, Quality.GOOD))
        await box.commit()
    records = trail.records()
    assert [r.detail["n"] for r in records] == list(range(6))
    assert records[3].ts < records[2].ts  # stamped back, still after
    assert trail.verify().ok
    since = trail.records_since(T0 - 2 * 3600, ("set_mode",))
    assert [r.detail["n"] for r in since] == list(range(6))
    rows = await box.batch(100)
    events = [r for r in rows if r.kind == "audit"]
    assert [int(r.message_id.rsplit(":", 1)[1]) for r in events] == list(range(6))
    seqs = [int(r.attributes["seq"]) for r in rows]
    assert seqs == [r.id for r in rows]
    assert seqs == sorted(set(seqs))
    assert events[3].created < events[2].created
    trail.close()
    await box.stop()


async def test_a_gateway_stepped_back_under_way_keeps_its_history_in_order(
    tmp_path: Path,
) -> None:
    sim = BessSimulator()
    port = await sim.start_tcp("127.0.0.1", 0)
    wall = Wall()
    gw = Gateway(
        "cl-order-01",
        [sim_device(port)],
        data_dir=tmp_path,
        ids_enabled=False,
        control_interval_s=0.1,
        wall_clock=wall,
    )
    await gw.start()
    try:
        await until(lambda: gw.controller().telemetry.comms_up, 5.0, "first sample")
        await gw.history.flush()
        wall.offset_s += STEP_BACK_S
        await until(lambda: len(gw.clock_watch.steps) == 1, 3.0, "the step seen")
        await until(lambda: gw.history.rows_written >= 10, 5.0, "samples after the step")
    finally:
        await gw.stop()
        await sim.stop()
    with sqlite3.connect(tmp_path / "history.db") as db:
        rows = db.execute("SELECT ts, seq FROM raw ORDER BY seq").fetchall()
    seqs = [seq for _, seq in rows]
    assert seqs == list(range(1, len(rows) + 1))
    backwards = [i for i in range(1, len(rows)) if rows[i][0] < rows[i - 1][0]]
    assert len(backwards) == 1  # one step back: the stamps fall once, the numbers never
    assert rows[backwards[0] - 1][0] - rows[backwards[0]][0] > 3000.0
    trail = AuditTrail(tmp_path / "audit.db")
    actions = [r.action for r in trail.records()]
    trail.close()
    assert "clock_stepped" in actions
