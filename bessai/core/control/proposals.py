"""The dispatch record: every proposal beside what the battery actually did (``dispatch.db``).

For commissioning in shadow mode, and for the auditor in Auto: each row
holds the inputs and their age, the raw model output, the proposal, the
guard's value and the limit that clamped it, the fallback if any, the model
version and the inference time, together with the control mode, the
setpoint applied and the power measured. At most one row per device and
kind (active or shadow) per ``min_interval_s``; rows older than the
retention are pruned.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bessai.core.control.events import DispatchProposed
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.periodic import Periodic
from bessai.core.stores.database import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS proposal (
    device TEXT NOT NULL,
    ts REAL NOT NULL,
    shadow INTEGER NOT NULL,
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    model_version TEXT,
    inputs TEXT NOT NULL,
    input_ages_s TEXT NOT NULL,
    raw_output REAL,
    proposed_kw REAL NOT NULL,
    guarded_kw REAL NOT NULL,
    guard_reason TEXT NOT NULL,
    fallback TEXT,
    inference_ms REAL NOT NULL,
    applied_kw REAL,
    actual_kw REAL,
    explanation TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS proposal_ts ON proposal (device, ts);
"""

COLUMNS = (
    "device", "ts", "shadow", "mode", "source", "model_version", "inputs", "input_ages_s",
    "raw_output", "proposed_kw", "guarded_kw", "guard_reason", "fallback", "inference_ms",
    "applied_kw", "actual_kw", "explanation",
)  # fmt: skip


class DispatchRecord:
    """Records DispatchProposed events in SQLite from a worker thread, batched once a second."""

    def __init__(
        self,
        path: Path | str,
        *,
        min_interval_s: float = 1.0,
        retention_s: float = 90 * 86400.0,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.db, self.open_problem = open_store(Path(path), _SCHEMA, what="dispatch record")
        self.min_interval_s = min_interval_s
        self.retention_s = retention_s
        self._pending: list[tuple[object, ...]] = []
        self._last: dict[tuple[str, bool], float] = {}
        self._last_prune = 0.0
        self._writer = Periodic(
            "dispatch-record",
            flush_interval_s,
            self.flush,
            errors=(sqlite3.Error,),
            failure="dispatch record write failed",
        )

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(DispatchProposed, self._on_proposal)

    def _on_proposal(self, event: DispatchProposed) -> None:
        key = (event.device, event.shadow)
        if event.ts - self._last.get(key, float("-inf")) < self.min_interval_s:
            return
        self._last[key] = event.ts
        p = event.proposal
        fallback = None if p.fallback is None else f"{p.fallback.code}: {p.fallback.detail}"
        self._pending.append(
            (
                event.device,
                event.ts,
                int(event.shadow),
                event.mode.value,
                p.source,
                p.model_version,
                json.dumps(p.inputs),
                json.dumps(
                    {k: None if v is None else round(v, 3) for k, v in p.input_ages_s.items()}
                ),
                p.raw_output,
                p.setpoint_kw,
                event.guarded.value_kw,
                event.guarded.reason.value,
                fallback,
                event.duration_s * 1000.0,
                event.applied_kw,
                event.actual_kw,
                p.explanation,
            )
        )

    async def flush(self) -> int:
        rows, self._pending = self._pending, []
        placeholders = ", ".join("?" * len(COLUMNS))
        if rows:
            await self.db.run(
                lambda c: c.executemany(
                    f"INSERT INTO proposal ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows
                )
            )
        now = time.time()
        if now - self._last_prune > 3600:
            self._last_prune = now
            await self.db.run(
                lambda c: c.execute("DELETE FROM proposal WHERE ts < ?", (now - self.retention_s,))
            )
        return len(rows)

    def start(self, on_failure: Callable[[str, str | None], None] | None = None) -> None:
        """Start the periodic writer; ``on_failure`` hears when writing fails and recovers."""
        self._writer.on_failure = on_failure
        self._writer.start()

    async def stop(self) -> None:
        await self._writer.stop()
        try:
            await self.flush()
        finally:
            self.db.close()

    def rows(
        self, device: str | None = None, since: float = 0.0, shadow: bool | None = None
    ) -> list[dict[str, object]]:
        """Recorded rows in time order, as dicts (JSON columns decoded)."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM proposal WHERE ts >= ?"
        params: list[object] = [since]
        if device is not None:
            sql += " AND device = ?"
            params.append(device)
        if shadow is not None:
            sql += " AND shadow = ?"
            params.append(int(shadow))
        out = []
        for row in self.db.query(sql + " ORDER BY ts", params):
            item = dict(zip(COLUMNS, row, strict=True))
            item["inputs"] = json.loads(str(item["inputs"]))
            item["input_ages_s"] = json.loads(str(item["input_ages_s"]))
            item["shadow"] = bool(item["shadow"])
            out.append(item)
        return out

    def export_csv(self, out: TextIO, device: str | None = None, since: float = 0.0) -> int:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        rows = self.rows(device, since)
        for row in rows:
            writer.writerow(
                {
                    **row,
                    "inputs": json.dumps(row["inputs"]),
                    "input_ages_s": json.dumps(row["input_ages_s"]),
                }
            )
        return len(rows)
