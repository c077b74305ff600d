"""A second, independent IEC 104 master: scapy's IEC 60870-5-104 layers on an asyncio socket.

The outstation runs on lib60870 (through c104); this master shares no code with it. Every APDU
it sends is built by scapy's encoder (``scapy.contrib.scada.iec104``) and every APDU it reads
is taken apart by scapy's decoder; this module only keeps the link's bookkeeping (the send and
receive counters, S acknowledgements, TESTFR answers) that a master's application does.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from scapy.contrib.scada.iec104 import (
    IEC104_IO_C_IC_NA_1_IOA,
    IEC104_IO_C_SC_NA_1_IOA,
    IEC104_IO_C_SE_NC_1_IOA,
    IEC104_I_Message_SeqIOA,
    IEC104_I_Message_SingleIOA,
    IEC104_S_Message,
    IEC104_U_Message,
    iec104_decode,
)

COT_SPONTANEOUS = 3
COT_ACTIVATION = 6
COT_ACTIVATION_CON = 7
COT_ACTIVATION_TERM = 10
COT_INTERROGATED = 20
TYPE_C_IC_NA_1 = 100
SINGLE_POINT_TYPES = {1, 30}  # M_SP_NA_1, M_SP_TB_1
FLOAT_TYPES = {13, 36}  # M_ME_NC_1, M_ME_TF_1


@dataclass(frozen=True)
class Reading:
    """One information object as the master received it."""

    ioa: int
    type_id: int
    cot: int
    value: float | bool
    invalid: bool
    non_topical: bool


class ScapyMaster:
    """One controlling station's connection to an outstation on 127.0.0.1."""

    def __init__(self, common_address: int) -> None:
        self.common_address = common_address
        self.readings: list[Reading] = []
        self._answers: list[tuple[int, int, int, bool]] = []  # (type, ioa, cause, positive)
        self._sent = 0
        self._received = 0
        self._started = asyncio.Event()
        self._changed = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self, port: int, timeout_s: float = 5.0) -> None:
        """Open the TCP connection only (a redundancy group's standby: not started)."""
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), timeout_s
        )
        self._task = asyncio.create_task(self._read_forever())

    async def connect(self, port: int, timeout_s: float = 5.0) -> None:
        """Open the TCP connection and send STARTDT act; return on STARTDT con."""
        await self.open(port, timeout_s)
        self._write(IEC104_U_Message(startdt_act=1))
        await asyncio.wait_for(self._started.wait(), timeout_s)

    async def interrogate(self, timeout_s: float = 5.0) -> dict[int, Reading]:
        """A station interrogation (QOI 20): every point returned, by IOA, once terminated."""
        start = len(self.readings)
        self._send_i(IEC104_IO_C_IC_NA_1_IOA(information_object_address=0, qoi=20))
        await self._wait_for(TYPE_C_IC_NA_1, 0, COT_ACTIVATION_TERM, timeout_s)
        return {r.ioa: r for r in self.readings[start:] if r.cot == COT_INTERROGATED}

    async def single_command(self, ioa: int, on: bool, timeout_s: float = 5.0) -> bool:
        """C_SC_NA_1, direct execute: True if confirmed positively."""
        self._send_i(IEC104_IO_C_SC_NA_1_IOA(information_object_address=ioa, scs=int(on)))
        return await self._wait_for(45, ioa, COT_ACTIVATION_CON, timeout_s)

    async def setpoint(self, ioa: int, value: float, timeout_s: float = 5.0) -> bool:
        """C_SE_NC_1, direct execute: True if confirmed positively."""
        io = IEC104_IO_C_SE_NC_1_IOA(information_object_address=ioa, scaled_value=value)
        self._send_i(io)
        return await self._wait_for(50, ioa, COT_ACTIVATION_CON, timeout_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    def _send_i(self, io: Any) -> None:
        self._write(
            IEC104_I_Message_SingleIOA(
                tx_seq_num=self._sent,
                rx_seq_num=self._received,
                cot=COT_ACTIVATION,
                common_asdu_address=self.common_address,
                io=[io],
            )
        )
        self._sent = (self._sent + 1) % 32768

    def _write(self, apdu: Any) -> None:
        assert self._writer is not None
        self._writer.write(bytes(apdu))

    async def _wait_for(self, type_id: int, ioa: int, cot: int, timeout_s: float) -> bool:
        """The outcome of the next frame (type, IOA, cause) to arrive: True if positive."""
        start = len(self._answers)

        async def seen() -> bool:
            while True:
                for t, i, c, positive in self._answers[start:]:
                    if (t, i, c) == (type_id, ioa, cot):
                        return positive
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(seen(), timeout_s)

    async def _read_forever(self) -> None:
        assert self._reader is not None
        while True:
            try:
                head = await self._reader.readexactly(2)
                body = await self._reader.readexactly(head[1])
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the outstation closed the connection
            self._take(iec104_decode(head + body))
            self._changed.set()

    def _take(self, apdu: Any) -> None:
        if isinstance(apdu, IEC104_U_Message):
            if apdu.startdt_con:
                self._started.set()
            if apdu.testfr_act:
                self._write(IEC104_U_Message(testfr_con=1))
            return
        if isinstance(apdu, IEC104_S_Message):
            return
        self._received = (apdu.tx_seq_num + 1) % 32768
        self._write(IEC104_S_Message(rx_seq_num=self._received))
        positive = apdu.ack == 0
        sequence = isinstance(apdu, IEC104_I_Message_SeqIOA)
        for index, io in enumerate(apdu.io):
            # A sequence (SQ = 1) names the first address only; the rest follow it.
            if sequence:
                ioa = int(apdu.information_object_address) + index
            else:
                ioa = int(io.information_object_address)
            self._answers.append((apdu.type_id, ioa, apdu.cot, positive))
            if apdu.type_id in SINGLE_POINT_TYPES:
                value: float | bool = bool(io.spi_value)
            elif apdu.type_id in FLOAT_TYPES:
                value = float(io.scaled_value)
            else:
                continue
            self.readings.append(
                Reading(ioa, apdu.type_id, apdu.cot, value, bool(io.iv), bool(io.nt))
            )
