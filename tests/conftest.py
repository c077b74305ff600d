"""Shared fixtures: the simulator as a real Modbus TCP server on 127.0.0.1, and leak guards."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from bessai.drivers.simulator.server import BessSimulator
from tests.pubsub_emulator import PubSubEmulator, emulator_binary

pytest_plugins = ["tests.tmpfs"]


def pytest_report_header() -> list[str]:
    """A stale manifest of shipped files makes every shipped profile refused: say so first."""
    from bessai.integrity.manifest import WRITE_COMMAND, changed_files

    stale = changed_files()
    if not stale:
        return []
    return [f"STALE bessai/integrity/manifest.json ({'; '.join(stale)}): run {WRITE_COMMAND}"]


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves threads running behind it."""
    before = set(threading.enumerate())
    yield
    deadline = 50
    leftover: list[threading.Thread] = []
    for _ in range(deadline):
        # "asyncio_N" are the event loop's default-executor workers: the loop shuts them
        # down when pytest-asyncio closes it, which happens after this guard runs.
        leftover = [
            t
            for t in threading.enumerate()
            if t not in before
            and t.is_alive()
            and not t.daemon
            and not t.name.startswith("asyncio_")
        ]
        if not leftover:
            return
        threading.Event().wait(0.05)
    pytest.fail(f"test left threads running: {leftover}")


@pytest.fixture
async def simulator() -> AsyncIterator[tuple[BessSimulator, int]]:
    """The BESS simulator on a free loopback port, stepped only by the test."""
    sim = BessSimulator(step_hz=0, seed=7)
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        yield sim, port
    finally:
        await sim.stop()


@pytest.fixture
def pubsub_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[PubSubEmulator]:
    """Google's Pub/Sub emulator on a free port, with PUBSUB_EMULATOR_HOST pointing at it."""
    binary = emulator_binary()
    if binary is None:
        pytest.fail(
            "Google's Pub/Sub emulator is not installed (Debian's google-cloud-cli-pubsub-emulator); "
            "set PUBSUB_EMULATOR_BIN to its cloud-pubsub-emulator launcher"
        )
    emulator = PubSubEmulator(binary)
    emulator.start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.host)
    try:
        yield emulator
    finally:
        emulator.stop()
