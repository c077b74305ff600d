"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from bessai.core.config.settings import DeviceConfig, DispatchSettings
from bessai.core.guard.safety import SafetyLimits
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.simulator.server import BessSimulator


async def until(
    predicate: Callable[[], object], timeout_s: float = 3.0, what: str = "condition"
) -> None:
    """Wait (polling every 20 ms) until ``predicate()`` is true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        await asyncio.sleep(0.02)


async def run_bessai(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
    timeout_s: float = 180.0,
) -> tuple[int, str, str]:
    """``python -m bessai ARGS`` to the end: exit code, standard output, standard error."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


PLANT_EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "plant.example.toml"
PLANT_EXAMPLE_PORTS = {"pcs1": 15021, "pcs2": 15022, "bms1": 15031, "bms2": 15032, "poi": 15041}


def plant_site_file(directory: Path, extra: str = "") -> tuple[Path, dict[str, int]]:
    """The shipped plant example on free ports (and ``extra`` TOML appended): its path and
    each device's port, for `bessai simulate --site` and a gateway run on the same file."""
    text = PLANT_EXAMPLE.read_text(encoding="utf-8")
    ports = {}
    for name, shipped in PLANT_EXAMPLE_PORTS.items():
        ports[name] = free_port()
        text = text.replace(f"port = {shipped}\n", f"port = {ports[name]}\n")
    site = directory / "plant.toml"
    site.write_text(text + extra, encoding="utf-8")
    return site, ports


def sim_device(port: int, **overrides: Any) -> DeviceConfig:
    """The simulator on 127.0.0.1 as a site device, polled at 10 Hz with a 0.3 s timeout."""
    fields: dict[str, Any] = {
        "name": "bess",
        "profile": "sim_bess",
        "host": "127.0.0.1",
        "port": port,
        "poll_interval_s": 0.1,
        "timeout_s": 0.3,
    }
    fields.update(overrides)
    return DeviceConfig(**fields)


def write_constant_model(directory: Path, value: float, **meta_changes: Any) -> Path:
    """A dispatch model whose ONNX graph answers ``value`` for any input, with valid metadata.

    Built from the shipped model's metadata (names, shapes, ranges) so that
    only the output differs; ``meta_changes`` overrides metadata keys.
    """
    import onnx
    from onnx import TensorProto, helper

    from bessai.core.dispatch.model import builtin_model_path

    meta = json.loads(builtin_model_path().with_suffix(".json").read_text())
    width = meta["input"]["shape"][1]
    # output = features[:, :1] * 0 + value: keeps the batch dimension, ignores the inputs.
    graph = helper.make_graph(
        [
            helper.make_node("Slice", ["features", "start", "stop", "axis"], ["first"]),
            helper.make_node("Mul", ["first", "zero"], ["nothing"]),
            helper.make_node("Add", ["nothing", "value"], ["setpoint_per_rated"]),
        ],
        "constant",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info("setpoint_per_rated", TensorProto.FLOAT, [None, 1])],
        initializer=[
            helper.make_tensor("start", TensorProto.INT64, [1], [0]),
            helper.make_tensor("stop", TensorProto.INT64, [1], [1]),
            helper.make_tensor("axis", TensorProto.INT64, [1], [1]),
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("value", TensorProto.FLOAT, [], [value]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    blob = model.SerializeToString()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "dispatch.onnx"
    path.write_bytes(blob)
    meta.update(version=f"constant-{value}", sha256=hashlib.sha256(blob).hexdigest())
    meta.update(meta_changes)
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


@asynccontextmanager
async def operated_site(
    tmp_path: Path,
    site_id: str,
    dispatch: DispatchSettings,
    limits: SafetyLimits,
    *,
    seed: int = 3,
) -> AsyncIterator[tuple[BessSimulator, Gateway, Session]]:
    """The simulator on loopback, a gateway with this dispatch and these limits, an admin
    and an operator (logged in, yielded): the site a dispatch test commands."""
    sim = BessSimulator(seed=seed)
    port = await sim.start_tcp("127.0.0.1", 0)
    auth = AuthService(
        tmp_path / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    await auth.add_user("ana", Role.ADMIN, "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=await auth.login("ana", "271828"))
    gw = Gateway(
        site_id,
        [sim_device(port)],
        data_dir=tmp_path,
        limits=limits,
        control_interval_s=0.1,
        auth=auth,
        dispatch=dispatch,
    )
    await gw.start()
    try:
        await until(lambda: gw.controller().telemetry.comms_up)
        yield sim, gw, await auth.login("olga", "314159")
    finally:
        await gw.stop()
        await sim.stop()
