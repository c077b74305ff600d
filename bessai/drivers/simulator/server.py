"""The BESS simulator as a real Modbus server (pymodbus SimDevice) over any device profile.

Registers are filled from the physics by their semantic role (or, for the
simulator's own profile, by name); writes to the setpoint, run-mode and
watchdog roles drive the physics. Faults can be injected for tests and demos:
over-temperature, frozen values, dropped connections, no answer, exception
responses and noisy measurements.

Over 500 lines on purpose: the one Modbus server that honours every profile's registers, control section, faults and attacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer, ModbusTlsServer
from pymodbus.simulator import SimDevice

from bessai.drivers.codec import CodecError, RegisterCodec, compile_codecs, usable_sf
from bessai.drivers.profile import (
    Profile,
    Register,
    RegisterType,
    Role,
    Table,
    control_range_kw,
)
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.physics import BatteryModel, BatteryParams, Measurements
from bessai.drivers.simulator.units import OwnUnitOnly, sim_devices
from bessai.drivers.simulator.vendor_control import VendorControl

log = logging.getLogger(__name__)

SIMULATOR_PROFILE = "sim_bess"

_TABLE_BY_FC = {
    3: Table.HOLDING,
    6: Table.HOLDING,
    16: Table.HOLDING,
    23: Table.HOLDING,
    4: Table.INPUT,
}


class Fault(StrEnum):
    """Faults the simulator can be told to show."""

    OVER_TEMPERATURE = "over_temperature"
    FROZEN = "frozen"
    DROP_CONNECTION = "drop_connection"
    NO_ANSWER = "no_answer"
    EXCEPTION = "exception"
    NOISY = "noisy"
    NOT_AVAILABLE = "not_available"
    IMPLAUSIBLE = "implausible"


@dataclass
class FaultState:
    active: set[Fault] = field(default_factory=set)
    exception_code: int = int(ExcCodes.DEVICE_FAILURE)


def _static_value(reg: Register) -> float | str:
    if reg.type is RegisterType.STRING:
        return "SIM-0001"
    if reg.min is not None and reg.max is not None:
        return min(max(0.0, reg.min), reg.max)
    return reg.offset if reg.scale > 0 else 0.0


_COUNT_LIMIT = {1: 2000, 2: 2000, 3: 125, 4: 125}


def rated_params(profile: Profile, params: BatteryParams) -> BatteryParams:
    """The simulated battery sized to the profile: its rated voltage (a 48 V unit gets a
    48 V pack) and the most power its control can command (a 10 kW hybrid, not 100 kW)."""
    control = profile.effective_control
    if control is not None:
        low, high = control_range_kw(profile, control)
        params = dataclasses.replace(
            params, rated_power_kw=min(params.rated_power_kw, max(-low, high))
        )
    if profile.ratings is None:
        return params
    cells = max(1, int(profile.ratings.pack_voltage_max_v // 3.6))
    resistance = params.internal_resistance_ohm * cells / params.cells_in_series
    return dataclasses.replace(params, cells_in_series=cells, internal_resistance_ohm=resistance)


class BessSimulator:
    """A simulated battery served over Modbus TCP (and/or RTU) for one device profile."""

    def __init__(
        self,
        profile: Profile | None = None,
        *,
        seed: int = 0,
        params: BatteryParams | None = None,
        unit_id: int | None = None,
        step_hz: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        strict_gaps: bool = False,
        constants: dict[str, float | str] | None = None,
        model: BatteryModel | None = None,
    ) -> None:
        self.profile = profile or load_profile(SIMULATOR_PROFILE)
        # A plant's device brings its own model (a PCS, a rack's BMS, a meter): see plant.py.
        self.model = (
            model
            if model is not None
            else BatteryModel(
                params=rated_params(self.profile, params or BatteryParams()), seed=seed
            )
        )
        self.unit_id = self.profile.connection.unit_id if unit_id is None else unit_id
        self.step_hz = step_hz
        self.clock = clock
        self.strict_gaps = strict_gaps
        self.faults = FaultState()
        self.writes: list[tuple[str, float | str | None]] = []
        self.requests_served = 0
        # What the device's diagnostic counters show: every request received, every exception sent.
        self.requests_received = 0
        self.exceptions_sent = 0
        self._codecs: dict[str, RegisterCodec] = compile_codecs(
            self.profile.registers, self.profile.connection
        )
        self._regs = [r for r in self.profile.registers if not r.table.is_bit]
        self._by_addr: dict[tuple[Table, int], Register] = {}
        for reg in self._regs:
            for a in range(reg.address, reg.end):
                self._by_addr[(reg.table, a)] = reg
        self._statics: dict[str, float | str] = {r.name: _static_value(r) for r in self._regs}
        # Values a map fixes (a SunSpec chain's marker, model ids and lengths, scale factors).
        self._statics.update(self._scale_factors())
        self._statics.update(constants or {})
        if self.profile.by_role(Role.WATCHDOG) is None:
            # The model's heartbeat watchdog stands for a watchdog register; without one the
            # vendor's own timeout (the control section's) is what the unit honours.
            self.model.watchdog_timeout_s = 0.0
        self.vendor = VendorControl(self.profile.control, self._statics, clock)
        self._sum_parts: dict[str, tuple[str, int]] = {
            name: (total.role.value, len(total.registers))
            for total in self.profile.sums
            for name in total.registers
        }
        self.unit_ids = sorted(
            {self.unit_id} | {r.unit_id for r in self.profile.registers if r.unit_id is not None}
        )
        self._counter_regs = {
            r.role.value: r
            for r in self._regs
            if r.role in (Role.REQUEST_COUNT, Role.EXCEPTION_COUNT)
        }
        self.image: dict[Table, dict[int, int]] = {Table.HOLDING: {}, Table.INPUT: {}}
        # Words shown instead of the physics for some registers (sentinels, implausible values).
        self.overrides: dict[str, list[int]] = {}
        self._bad_counts: set[int] = set()
        self._servers: list[Any] = []
        self._shared: list[Any] = []  # servers a plant runs for several simulators (a gateway)
        self._stepper: asyncio.Task[None] | None = None
        self._last_step = clock()
        self.refresh_image()

    def value_for(self, reg: Register, m: Measurements) -> float | str:
        """The engineering value the device shows for a register now."""
        key = reg.role.value if reg.role is not None else reg.name
        if key in self._counter_regs:
            return float(self._counters()[key] % 2**32)
        if reg.name in self._sum_parts:
            total = self._sum_parts[reg.name][0]
            return self._part_of_sum(reg, float(m.extras.get(total, getattr(m, total, 0.0))))
        value = m.extras.get(key, getattr(m, key, None))
        if value is None or isinstance(value, str):
            return self._statics[reg.name]
        return float(value)

    def _part_of_sum(self, reg: Register, total: float) -> float:
        """A summed role's share in one register: an equal share when every part can carry
        the total's sign (three phases), else all of it in the first part that can (a
        discharge and a charge register) and nothing in the others."""
        role, _ = self._sum_parts[reg.name]
        parts = [r for r in self._regs if self._sum_parts.get(r.name, ("",))[0] == role]

        def carries(part: Register) -> bool:
            signed = part.type in (RegisterType.I16, RegisterType.I32, RegisterType.I64)
            signed = signed or part.type in (RegisterType.F32, RegisterType.F64)
            return signed or total == 0 or (total > 0) == (part.scale > 0)

        if all(carries(p) for p in parts):
            return total / len(parts)
        first = next((p for p in parts if carries(p)), None)
        return total if first is not None and first.name == reg.name else 0.0

    def refresh_image(self) -> None:
        """Encode the current measurements into the register image (unless frozen)."""
        if Fault.FROZEN in self.faults.active:
            return
        m = self.model.measure()
        for reg in self._regs:
            value = self.value_for(reg, m)
            if isinstance(value, float) and reg.min is not None and reg.max is not None:
                value = min(max(value, reg.min), reg.max)
            try:
                words = self._codecs[reg.name].encode(value, saturate=True, sf=self._sf(reg))
            except CodecError:
                words = [0] * reg.words
            table = self.image[reg.table]
            for i, w in enumerate(self.overrides.get(reg.name, words)):
                table[reg.address + i] = w
        self._encode_counters()

    def _scale_factors(self) -> dict[str, float]:
        """Live scale factors as a device sets them where the map fixes none: tens of watts
        (or watt-hours) for what is in kW, tenths for the rest, so that values fit."""
        exponents: dict[str, float] = {}
        for reg in self.profile.registers:
            if reg.scale_factor is not None:
                exponent = 1.0 if abs(reg.scale) <= 0.001 else -1.0
                exponents[reg.scale_factor] = max(exponent, exponents.get(reg.scale_factor, -1.0))
        return exponents

    def _sf(self, reg: Register) -> int | None:
        """The exponent the unit's scale-factor register for ``reg`` holds now."""
        if reg.scale_factor is None:
            return None
        return usable_sf(self._statics.get(reg.scale_factor))

    def override(self, role: Role, words: list[int] | None) -> None:
        """Show these raw words for the register of a role (None: the physics again)."""
        reg = self.profile.by_role(role)
        if reg is None:
            return
        if words is None:
            self.overrides.pop(reg.name, None)
        else:
            if len(words) != reg.words:
                raise ValueError(f"{reg.name} takes {reg.words} words, not {len(words)}")
            self.overrides[reg.name] = list(words)
        self.refresh_image()

    def sentinel_words(self, role: Role) -> list[int] | None:
        """The raw words of the register's declared 'not available' value, if it has one."""
        reg = self.profile.by_role(role)
        if reg is None or not reg.not_available:
            return None
        return self.sentinel_words_of(reg)

    def sentinel_words_of(self, reg: Register) -> list[int]:
        """The words of the register's first 'not available' value, in the device's order."""
        raw = reg.not_available[0]
        words = [(raw >> (16 * (reg.words - 1 - i))) & 0xFFFF for i in range(reg.words)]
        if self.profile.connection.word_order == "little":
            words.reverse()
        if self.profile.connection.byte_order == "little":
            words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
        return words

    def step(self, dt_s: float) -> None:
        """Advance the physics and refresh the register image."""
        if self.vendor.timed_out():
            self._follow_control()
        self.model.step(dt_s)
        self.refresh_image()

    def inject(self, fault: Fault, active: bool = True) -> None:
        if active:
            self.faults.active.add(fault)
        else:
            self.faults.active.discard(fault)
        if fault is Fault.OVER_TEMPERATURE:
            self.model.extra_heat_w = 400_000.0 if active else 0.0
        elif fault is Fault.NOISY:
            self.model.noise_gain = 40.0 if active else 1.0
        elif fault is Fault.DROP_CONNECTION and active:
            self.drop_connections()
            self.faults.active.discard(fault)
        elif fault is Fault.NOT_AVAILABLE:
            # The quantity the guard needs most reads its "not available" sentinel: a
            # BMS's hottest cell, else the battery temperature, else a meter's grid power.
            for role in (Role.CELL_TEMP_MAX_C, Role.BATTERY_TEMP_C, Role.GRID_POWER_KW):
                words = self.sentinel_words(role)
                if words is not None:
                    self.override(role, words if active else None)
                    break
        elif fault is Fault.IMPLAUSIBLE:
            # The SoC reads a value no battery can have (0xFFFE: 655.34 % on a 0.01 % scale).
            soc = self.profile.by_role(Role.SOC_PCT)
            words = [0xFFFE] + [0xFFFF] * (soc.words - 1) if soc is not None else None
            self.override(Role.SOC_PCT, words if active else None)
        log.info("fault %s %s", fault.value, "on" if active else "off")

    def drop_connections(self) -> None:
        for server in (*self._servers, *self._shared):
            for conn in list(getattr(server, "active_connections", {}).values()):
                conn.close()

    def _action_for(self, unit: int) -> Any:
        """The request handler of one unit id: a register belongs to its own unit only."""

        async def action(
            function_code: int,
            start_address: int,
            address: int,
            count: int,
            current_registers: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            table = _TABLE_BY_FC.get(function_code)
            if table is not None and len(self.unit_ids) > 1:
                for a in range(address, address + count):
                    reg = self._by_addr.get((table, a))
                    owner = (
                        None
                        if reg is None
                        else (self.unit_id if reg.unit_id is None else reg.unit_id)
                    )
                    if owner is not None and owner != unit:
                        self.requests_served += 1
                        return ExcCodes.ILLEGAL_ADDRESS
            return await self._action(
                function_code, start_address, address, count, current_registers, set_values
            )

        return action

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests_served += 1
        if Fault.EXCEPTION in self.faults.active:
            return ExcCodes(self.faults.exception_code)
        table = _TABLE_BY_FC.get(function_code)
        if table is None:
            return None
        image = self.image[table]
        if table is Table.INPUT:
            self._encode_counters()
        if set_values is None:
            self._catch_up()
            for a in range(address, address + count):
                if a in image:
                    current_registers[a - start_address] = image[a]
            return None
        return self._apply_write(table, address, [int(v) for v in set_values])

    def _apply_write(self, table: Table, address: int, values: list[int]) -> ExcCodes | None:
        image = self.image[table]
        staged = dict(image)
        touched: dict[str, Register] = {}
        for i, word in enumerate(values):
            reg = self._by_addr.get((table, address + i))
            if reg is None or not reg.writable:
                return ExcCodes.ILLEGAL_ADDRESS
            staged[address + i] = word
            touched[reg.name] = reg
        decoded: dict[str, float | str | None] = {}
        for name, reg in touched.items():
            words = [staged.get(a, 0) for a in range(reg.address, reg.end)]
            value = self._codecs[name].decode(words, self._sf(reg))
            if isinstance(value, float) and (
                (reg.min is not None and value < reg.min - 1e-9)
                or (reg.max is not None and value > reg.max + 1e-9)
            ):
                return ExcCodes.ILLEGAL_VALUE
            decoded[name] = value
        image.update(staged)
        for name, value in decoded.items():
            self.writes.append((name, value))
            self._apply_to_model(touched[name], value)
        if self.vendor.registers & decoded.keys():
            self.vendor.heard()
            self._follow_control()
        return None

    @property
    def fell_back(self) -> bool:
        return self.vendor.fell_back

    def in_remote_control(self) -> bool:
        """The unit obeys remote setpoints when every enter write holds its value."""
        return self.vendor.in_remote_control()

    def commanded_kw(self) -> float:
        """The signed power (+ discharge) the control registers ask for now."""
        return self.vendor.commanded_kw()

    def _follow_control(self) -> None:
        self.model.write_setpoint(self.vendor.commanded_kw())

    def _apply_to_model(self, reg: Register, value: float | str | None) -> None:
        if not isinstance(value, float):
            self._statics[reg.name] = value or ""
            return
        role = reg.role.value if reg.role is not None else reg.name
        if reg.name in self.vendor.registers:
            self._statics[reg.name] = value
        elif role == "setpoint_power_kw":
            self.model.write_setpoint(value)
        elif role == "setpoint_reactive_power_kvar":
            self._statics[reg.name] = value
            self.model.write_reactive_setpoint(value)
        elif role == "run_mode":
            self.model.write_run_mode(int(value))
        elif role == "watchdog":
            self.model.write_heartbeat(int(value))
        elif role == "watchdog_timeout_s":
            self.model.watchdog_timeout_s = value
        elif role == "ramp_rate_kw_per_s":
            self.model.params.ramp_kw_per_s = value
        elif role == "fault_reset" and value:
            self.model.reset_fault()
        else:
            self._statics[reg.name] = value

    # A plant serves several simulators on one socket, as a Modbus gateway does: the shared
    # server takes each one's devices and hands each its own requests (plant.py).
    def sim_devices(self) -> list[SimDevice]:
        return self._sim_devices()

    def trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        return self._trace_pdu(sending, pdu)

    def trace_tcp_packet(self, sending: bool, data: bytes) -> bytes:
        return self._trace_tcp_packet(sending, data)

    def serve_shared(self, server: Any) -> None:
        """A shared server now carries this simulator (its owner shuts it down)."""
        self._shared.append(server)

    def _sim_devices(self) -> list[SimDevice]:
        return sim_devices(
            self.profile, self.image, self.unit_ids, self._action_for, strict_gaps=self.strict_gaps
        )

    def _counters(self) -> dict[str, int]:
        return {"request_count": self.requests_received, "exception_count": self.exceptions_sent}

    def _encode_counters(self) -> None:
        """Live counter registers: the value read includes the request reading it."""
        for name, value in self._counters().items():
            reg = self._counter_regs.get(name)
            if reg is not None:
                words = self._codecs[reg.name].encode(float(value % 2**32), saturate=True)
                for i, w in enumerate(words):
                    self.image[reg.table][reg.address + i] = w

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            self.requests_received += 1
        elif pdu.function_code & 0x80:
            self.exceptions_sent += 1
        return pdu

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending and Fault.NO_ANSWER in self.faults.active:
            return b""
        return data

    def _trace_tcp_packet(self, sending: bool, data: bytes) -> bytes:
        """A read asking for no values or more than a request may carry gets exception 3
        (illegal data value), as the protocol says, not pymodbus' exception 1.

        The request is passed on asking for one value (so that pymodbus decodes it) and
        its answer is replaced when it goes out.
        """
        if not sending and len(data) >= 12:
            tid, fc = int.from_bytes(data[0:2], "big"), data[7]
            count = int.from_bytes(data[10:12], "big")
            if fc in _COUNT_LIMIT and not 1 <= count <= _COUNT_LIMIT[fc]:
                self._bad_counts.add(tid)
                data = data[:10] + b"\x00\x01" + data[12:]
        elif sending and len(data) >= 8:
            tid = int.from_bytes(data[0:2], "big")
            if tid in self._bad_counts:
                self._bad_counts.discard(tid)
                fc = data[7] & 0x7F
                data = data[:4] + b"\x00\x03" + data[6:7] + bytes([fc | 0x80, 3])
        return self._trace_packet(sending, data)

    async def start_tcp(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
    ) -> int:
        """Serve Modbus TCP (Modbus/TCP Security with a ``tls`` server context); returns the
        bound port (port 0 picks a free one)."""
        extra: dict[str, Any] = {} if tls is None else {"sslctx": tls}
        server = (ModbusTcpServer if tls is None else ModbusTlsServer)(
            self._sim_devices(),
            address=(host, port),
            trace_packet=self._trace_tcp_packet,
            trace_pdu=self._trace_pdu,
            ignore_missing_devices=True,
            broadcast_enable=True,
            **extra,
        )
        server.context = cast(Any, OwnUnitOnly(server.context, self.unit_ids))
        await server.serve_forever(background=True)
        self._servers.append(server)
        self._ensure_stepper()
        bound: int = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        log.info(
            "simulator serving %s on %s://%s:%d unit %d",
            self.profile.id,
            "tcp" if tls is None else "tls",
            host,
            bound,
            self.unit_id,
        )
        return bound

    async def start_rtu(self, port: str, baudrate: int = 19200) -> None:
        """Serve Modbus RTU on a serial port (or a pty from socat)."""
        server = ModbusSerialServer(
            self._sim_devices(),
            port=port,
            baudrate=baudrate,
            trace_packet=self._trace_packet,
            trace_pdu=self._trace_pdu,
            ignore_missing_devices=True,
            broadcast_enable=True,
        )
        server.context = cast(Any, OwnUnitOnly(server.context, self.unit_ids))
        await server.serve_forever(background=True)
        self._servers.append(server)
        self._ensure_stepper()
        log.info("simulator serving %s on rtu://%s unit %d", self.profile.id, port, self.unit_id)

    def _ensure_stepper(self) -> None:
        if self._stepper is None and self.step_hz > 0:
            self._last_step = self.clock()
            self._stepper = asyncio.get_running_loop().create_task(self._run_stepper())

    async def _run_stepper(self) -> None:
        period = 1.0 / self.step_hz
        while True:
            await asyncio.sleep(period)
            self._step_to_now()

    def _step_to_now(self) -> None:
        now = self.clock()
        self.step(now - self._last_step)
        self._last_step = now

    def _catch_up(self) -> None:
        """A read measures now, as a device's does, if the stepper is a period late (a busy
        loop); otherwise polls in that gap would see the same noise twice, like a replay."""
        if self._stepper is not None and self.clock() - self._last_step >= 1.0 / self.step_hz:
            self._step_to_now()

    async def stop(self) -> None:
        if self._stepper is not None:
            self._stepper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stepper
            self._stepper = None
        for server in self._servers:
            await server.shutdown()
        self._servers.clear()
