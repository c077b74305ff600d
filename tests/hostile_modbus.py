"""A small hostile Modbus TCP server, written on raw asyncio sockets (not pymodbus).

It serves a simulated battery's register image (the physics of
``BessSimulator``, stepped by the test) but answers the way a misbehaving
device does: chosen words replaced by sentinels or implausible values, every
read refused with an exception, answers frozen. Writes go to the simulated
battery, so the test sees what reached the device and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from dataclasses import dataclass, field

from bessai.drivers.profile import Role, Table
from bessai.drivers.simulator.server import BessSimulator

_READ_TABLE = {3: Table.HOLDING, 4: Table.INPUT}


@dataclass
class HostileModbusServer:
    sim: BessSimulator
    unit_id: int = 1
    overrides: dict[tuple[Table, int], int] = field(default_factory=dict)
    read_exception: int | None = None
    frozen: dict[Table, dict[int, int]] | None = None
    writes: list[tuple[float, str, float | str | None]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _conns: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        for w in list(self._conns):
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def set_value(self, table: Table, address: int, words: list[int]) -> None:
        """Replace the words at an address (a sentinel, an implausible reading ...)."""
        for i, w in enumerate(words):
            self.overrides[(table, address + i)] = w

    def clear(self, table: Table, address: int, count: int = 1) -> None:
        for i in range(count):
            self.overrides.pop((table, address + i), None)

    def freeze(self, on: bool = True) -> None:
        """Answer with the image as it is now, whatever the battery does."""
        self.frozen = {t: dict(words) for t, words in self.sim.image.items()} if on else None

    def setpoints(self) -> list[tuple[float, float]]:
        """(monotonic time, kW) of every setpoint write that reached the battery."""
        register = self.sim.profile.by_role(Role.SETPOINT_POWER_KW)
        assert register is not None
        return [
            (ts, value)
            for ts, name, value in self.writes
            if name == register.name and isinstance(value, float)
        ]

    def _word(self, table: Table, address: int) -> int:
        if (table, address) in self.overrides:
            return self.overrides[(table, address)]
        image = self.frozen if self.frozen is not None else self.sim.image
        return image[table].get(address, 0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                header = await reader.readexactly(7)
                tid, pid, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                if unit != self.unit_id:
                    continue  # a real device does not answer a unit it is not
                answer = self._answer(pdu)
                writer.write(struct.pack(">HHHB", tid, pid, len(answer) + 1, unit) + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _answer(self, pdu: bytes) -> bytes:
        fc = pdu[0]
        if fc in _READ_TABLE:
            if self.read_exception is not None:
                return bytes([fc | 0x80, self.read_exception])
            address, count = struct.unpack(">HH", pdu[1:5])
            if not 1 <= count <= 125:
                return bytes([fc | 0x80, 3])
            table = _READ_TABLE[fc]
            words = [self._word(table, address + i) for i in range(count)]
            return bytes([fc, 2 * count]) + struct.pack(f">{count}H", *words)
        if fc == 6:
            address, value = struct.unpack(">HH", pdu[1:5])
            return self._write(fc, address, [value], pdu[:5])
        if fc == 16:
            address, count, _ = struct.unpack(">HHB", pdu[1:6])
            values = list(struct.unpack(f">{count}H", pdu[6 : 6 + 2 * count]))
            return self._write(fc, address, values, pdu[:5])
        return bytes([fc | 0x80, 1])

    def _write(self, fc: int, address: int, values: list[int], echo: bytes) -> bytes:
        before = len(self.sim.writes)
        code = self.sim._apply_write(Table.HOLDING, address, values)
        if code is not None:
            return bytes([fc | 0x80, int(code)])
        now = time.monotonic()
        self.writes.extend((now, name, value) for name, value in self.sim.writes[before:])
        return echo
