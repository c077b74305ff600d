"""Benchmark: requests and time per full poll, coalesced against one request per register.

For every shipped profile the simulator serves it on 127.0.0.1 and the same
ModbusDevice polls it with the coalesced plan and with the naive plan; a bare
pymodbus read of one register is timed in the same run as the floor. Prints
the figures and the ratios, and whether the targets hold (>= 10x fewer
requests on the simulator's profile, a full poll in <= 2 ms median, and at
most 1.3x what a raw-socket client pays for the same blocks in the same run).
The gateway and the raw-socket client poll in alternating batches, so that a
change in the machine's load weighs on both alike.

    python bench/poll.py [--polls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import time

from pymodbus.client import AsyncModbusTcpClient

from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.planner import ReadPlan
from bessai.drivers.profile_loader import load_profile, registry_ids
from bessai.drivers.simulator.server import BessSimulator


async def median_poll_ms(device: ModbusDevice, polls: int) -> float:
    times = []
    await device.poll()  # connect and warm up
    for _ in range(polls):
        started = time.perf_counter()
        await device.poll()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def bare_request_ms(port: int, polls: int) -> float:
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    times = []
    try:
        for _ in range(polls):
            started = time.perf_counter()
            await client.read_input_registers(0, count=1, device_id=1)
            times.append(time.perf_counter() - started)
    finally:
        client.close()
    return statistics.median(times) * 1000


class RawSocketClient:
    """The same blocks read over a bare asyncio socket: MBAP frames built by hand, no library.

    The floor a Modbus client could reach in Python for one full poll of a plan.
    """

    def __init__(self, plan: ReadPlan, unit_id: int) -> None:
        codes = {"holding": 3, "input": 4, "coil": 1, "discrete": 2}
        self.frames = []
        for tid, block in enumerate(plan.blocks, start=1):
            pdu = struct.pack(">BHH", codes[block.table.value], block.address, block.count)
            self.frames.append(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit_id) + pdu)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, port: int) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def poll(self) -> None:
        reader, writer = self._reader, self._writer
        assert reader is not None
        assert writer is not None
        for frame in self.frames:
            writer.write(frame)
            header = await reader.readexactly(7)
            body = await reader.readexactly(struct.unpack(">H", header[4:6])[0] - 1)
            if body[0] & 0x80:
                raise RuntimeError(f"exception {body[1]} from the simulator")


async def interleaved_ms(
    device: ModbusDevice, raw: RawSocketClient, polls: int, rounds: int = 6
) -> tuple[float, float]:
    """Median full poll of the gateway's device and of the raw client, in alternating batches."""
    ours: list[float] = []
    theirs: list[float] = []
    await device.poll()  # connect and warm up
    await raw.poll()
    for _ in range(rounds):
        for _ in range(polls // rounds):
            started = time.perf_counter()
            await device.poll()
            ours.append(time.perf_counter() - started)
        for _ in range(polls // rounds):
            started = time.perf_counter()
            await raw.poll()
            theirs.append(time.perf_counter() - started)
    return statistics.median(ours) * 1000, statistics.median(theirs) * 1000


async def main(polls: int) -> int:
    print(
        f"{'profile':<26} {'regs':>4} {'req':>4} {'req/reg':>7} {'fewer':>6} "
        f"{'poll ms':>8} {'naive ms':>8} {'faster':>6}"
    )
    ok = True
    floor_ms = 0.0
    for pid in registry_ids():
        profile = load_profile(pid)
        sim = BessSimulator(profile, step_hz=0)
        port = await sim.start_tcp("127.0.0.1", 0)
        coalesced = ModbusDevice("bench", profile, TcpEndpoint("127.0.0.1", port))
        naive = ModbusDevice("bench", profile, TcpEndpoint("127.0.0.1", port))
        naive.plan = ReadPlan.per_register(profile)
        try:
            fast_ms = await median_poll_ms(coalesced, polls)
            slow_ms = await median_poll_ms(naive, max(20, polls // 5))
            if pid == "sim_bess":
                floor_ms = await bare_request_ms(port, polls)
                raw = RawSocketClient(coalesced.plan, profile.connection.unit_id)
                await raw.connect(port)
                try:
                    paired_ms, raw_ms = await interleaved_ms(coalesced, raw, polls)
                finally:
                    await raw.close()
        finally:
            await coalesced.close()
            await naive.close()
            await sim.stop()
        reqs, per_reg = coalesced.plan.request_count, naive.plan.request_count
        fewer = per_reg / reqs
        print(
            f"{pid:<26} {len(profile.registers):>4} {reqs:>4} {per_reg:>7} {fewer:>5.1f}x "
            f"{fast_ms:>8.2f} {slow_ms:>8.2f} {slow_ms / fast_ms:>5.1f}x"
        )
        if pid == "sim_bess":
            sim_fewer, sim_ms = fewer, fast_ms
    print(f"\nbare pymodbus read of one register (same run): {floor_ms:.3f} ms median")
    print(f"sim_bess full poll: {sim_ms:.2f} ms median = {sim_ms / floor_ms:.1f}x one bare request")
    print(
        f"sim_bess full poll over a raw socket (same blocks, same run, alternating batches): "
        f"{raw_ms:.3f} ms median against the gateway's {paired_ms:.3f} ms: "
        f"{paired_ms / raw_ms:.2f}x"
    )
    for label, met in (
        (
            f"sim_bess requests {sim_fewer:.1f}x fewer than per-register (target >= 10x)",
            sim_fewer >= 10,
        ),
        (f"sim_bess full poll {sim_ms:.2f} ms median (target <= 2 ms)", sim_ms <= 2.0),
        (
            f"sim_bess full poll {paired_ms / raw_ms:.2f}x a raw-socket client (target <= 1.3x)",
            paired_ms / raw_ms <= 1.3,
        ),
    ):
        print(("PASS " if met else "MISS ") + label)
        ok = ok and met
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=300)
    raise SystemExit(asyncio.run(main(parser.parse_args().polls)))
