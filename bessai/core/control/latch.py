"""The E-stop latch on disk, so that a restart does not clear it.

One small JSON file per site (``DATA_DIR/estop.json``), replaced atomically
(write, fsync, rename). A file that cannot be read or parsed counts as
latched for every device: unknown is unsafe, and an engineer's reset
writes a good file again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bessai.core.runtime.files import replace_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LatchState:
    """A device's latch as kept on disk: when it was latched and by whom (kept across
    restarts, so that the screen shows the press, not the restart)."""

    latched: bool
    detail: str = ""
    at: float | None = None
    by: str | None = None


class EstopLatchStore:
    """Reads and writes which devices have their emergency stop latched."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any] | None:
        """The file's content; {} when there is none; None when it cannot be trusted."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            log.error("E-stop state unreadable", extra={"file": str(self.path), "error": str(exc)})
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            log.error("E-stop state corrupt", extra={"file": str(self.path), "error": str(exc)})
            return None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            log.error("E-stop state malformed", extra={"file": str(self.path)})
            return None
        return data

    def load(self, device: str) -> LatchState:
        """Whether the device's E-stop was latched when the gateway last ran."""
        with self._lock:
            data = self._read()
        if data is None:
            return LatchState(True, f"{self.path} cannot be read: latched until an engineer resets")
        entry = data.get(device)
        if not entry or not entry.get("latched"):
            return LatchState(False)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(entry.get("at", 0))))
        at = entry.get("at")
        by = str(entry.get("by", "?"))
        return LatchState(
            True,
            f"latched {when} by {by} before a restart",
            float(at) if isinstance(at, int | float) else None,
            by,
        )

    def save(self, device: str, latched: bool, by: str) -> None:
        """Record the device's latch; raises OSError when the disk refuses (caller alarms it)."""
        with self._lock:
            data = self._read() or {}
            data[device] = {"latched": latched, "by": by, "at": time.time()}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self.path, json.dumps(data))
