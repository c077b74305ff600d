"""Logs say a failure once: a dead device's heartbeat, a library's storm, a dying thread."""

from __future__ import annotations

import io
import json
import logging
import threading
from pathlib import Path

import pytest

from bessai.core.alarms.manager import AlarmManager
from bessai.core.control.controller import Controller
from bessai.core.observe.logs import JsonFormatter, Repeats, setup_logging
from bessai.core.runtime.bus import EventBus
from bessai.core.stores.audit import AuditTrail
from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.profile_loader import load_profile
from tests.helpers import free_port


async def test_a_dead_devices_heartbeat_failure_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    device = ModbusDevice("bess", load_profile("sim_bess"), TcpEndpoint("127.0.0.1", free_port()))
    audit = AuditTrail(tmp_path / "audit.db")
    clock = [1000.0]
    ctl = Controller(
        device,
        EventBus(),
        audit,
        AlarmManager(EventBus(), None),
        heartbeat_interval_s=0.5,
        clock=lambda: clock[0],
    )
    caplog.set_level(logging.WARNING)
    try:
        for _ in range(20):
            clock[0] += 1.0
            await ctl.tick()
    finally:
        ctl.close()
        assert ctl.books is not None
        await ctl.books.stop(1.0)
        audit.close()
    failures = [r for r in caplog.records if r.getMessage() == "heartbeat write failed"]
    assert len(failures) == 1
    assert ctl._heartbeat_failures == 20


def test_a_thread_dying_in_a_library_is_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    previous = threading.excepthook
    setup_logging("INFO", json_lines=True)
    try:

        def commit_batch() -> None:
            raise ValueError("Cannot invoke RPC on closed channel!")

        for _ in range(50):
            t = threading.Thread(target=commit_batch, name="Thread-CommitBatchPublisher")
            t.start()
            t.join()
    finally:
        threading.excepthook = previous
        logging.getLogger().handlers.clear()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert entry["thread_name"] == "Thread-CommitBatchPublisher"
    assert entry["error"] == "ValueError: Cannot invoke RPC on closed channel!"


def test_repeats_are_counted_into_the_next_line_after_the_window() -> None:
    clock = [0.0]
    folding = Repeats(window_s=60)
    import bessai.core.observe.logs as logs

    original = logs.time.monotonic
    logs.time.monotonic = lambda: clock[0]  # type: ignore[assignment]
    try:
        record = lambda: logging.getLogger("grpc").makeRecord(  # noqa: E731
            "grpc", logging.ERROR, __file__, 1, "channel closed", (), None
        )
        assert folding.filter(record())
        assert not any(folding.filter(record()) for _ in range(9))
        clock[0] = 61.0
        later = record()
        assert folding.filter(later)
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(JsonFormatter())
        handler.emit(later)
        assert json.loads(out.getvalue())["repeated"] == 9
    finally:
        logs.time.monotonic = original  # type: ignore[assignment]
