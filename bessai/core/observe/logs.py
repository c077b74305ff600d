"""Structured logging: JSON lines when not on a terminal, readable lines when on one.

Our own records say a failure once and then count it. Other libraries'
records (asyncio, aiohttp, grpc, a thread that died) are folded the same way
here: the first of a kind is one line (its traceback reduced to the error),
repeats within a minute are counted into the next one, so that a storm of
refused connections or a dead channel never floods the journal.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class Repeats(logging.Filter):
    """Folds other libraries' repeated records: one line each, repeats counted per window."""

    def __init__(self, window_s: float = 60.0, max_kinds: int = 1000) -> None:
        super().__init__()
        self.window_s = window_s
        self.max_kinds = max_kinds
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "bessai" or record.name.startswith("bessai."):
            return True
        message = record.getMessage()
        key = (record.name, record.levelno, message.splitlines()[0][:200] if message else "")
        now = time.monotonic()
        first, repeats = self._seen.get(key, (-float("inf"), 0))
        if now - first < self.window_s:
            self._seen[key] = (first, repeats + 1)
            return False
        if len(self._seen) >= self.max_kinds:
            self._seen.clear()
        self._seen[key] = (now, 0)
        record.msg, record.args = " ".join(message.split()), None
        if repeats:
            record.repeated = repeats
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.error = f"{type(error).__name__}: {error}"
            record.exc_info, record.exc_text = None, None
        return True


def _thread_failed(args: threading.ExceptHookArgs) -> None:
    """A thread that dies (a library's worker) is one log line, not a raw traceback."""
    name = args.thread.name if args.thread else "?"
    error = f"{args.exc_type.__name__}: {args.exc_value}"
    logging.getLogger("threads").error(
        "thread %s ended with an error: %s",
        name,
        error,
        extra={"thread_name": name, "error": error},
    )


def setup_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Log to stderr; JSON lines unless stderr is a terminal (or as told)."""
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    handler.addFilter(Repeats())
    threading.excepthook = _thread_failed
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pymodbus logs every failed request at ERROR; our own records say it once, with context.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL if level != "DEBUG" else logging.DEBUG)
