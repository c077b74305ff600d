"""ModbusDevice against the simulator as a real server: exceptions, timeouts, splits, writes."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bessai.drivers.device import (
    Backoff,
    DeviceUnavailable,
    ModbusDevice,
    TcpEndpoint,
    WriteRejected,
)
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.server import BessSimulator, Fault
from bessai.drivers.traffic import Outcome


def make_device(port: int, **kw: object) -> ModbusDevice:
    return ModbusDevice(
        "bess",
        load_profile("sim_bess"),
        TcpEndpoint("127.0.0.1", port),
        backoff=Backoff(base_s=0.05, max_s=0.2),
        seed=1,
        **kw,  # type: ignore[arg-type]
    )


async def test_poll_keeps_a_traffic_record_per_request(
    simulator: tuple[BessSimulator, int],
) -> None:
    _, port = simulator
    dev = make_device(port)
    try:
        result = await dev.poll()
    finally:
        await dev.close()
    assert result.requests == 2
    records = list(dev.traffic)
    assert [(r.function_code, r.address, r.outcome) for r in records] == [
        (3, 0, Outcome.OK),
        (4, 0, Outcome.OK),
    ]
    for rec in records:
        assert rec.unit_id == 1
        assert rec.latency_s > 0
        # MBAP header (7) + fc (1) + address (2) + count (2) = 12 bytes out.
        assert rec.bytes_sent == 12
        assert rec.bytes_received == 9 + 2 * rec.count
    assert result.texts["serial_number"] == "SIM-0001"


async def test_exception_responses_are_counted_and_survived(
    simulator: tuple[BessSimulator, int],
) -> None:
    sim, port = simulator
    dev = make_device(port)
    try:
        sim.inject(Fault.EXCEPTION)
        result = await dev.poll()
        assert not result.complete
        assert all(v is None for v in result.values.values())
        assert dev.stats.exceptions == {4: 2}
        assert dev.connected  # an exception answer is not a broken link
        sim.inject(Fault.EXCEPTION, False)
        result = await dev.poll()
        assert result.complete
        assert result.values["soc_pct"] == pytest.approx(50.0)
    finally:
        await dev.close()


async def test_no_answer_times_out_drops_the_link_and_recovers(
    simulator: tuple[BessSimulator, int],
) -> None:
    sim, port = simulator
    dev = make_device(port, timeout_s=0.2)
    try:
        await dev.poll()
        sim.inject(Fault.NO_ANSWER)
        with pytest.raises(DeviceUnavailable):
            await dev.poll()
        assert dev.stats.timeouts == 1
        assert not dev.connected
        assert dev.traffic[-1].outcome is Outcome.TIMEOUT
        sim.inject(Fault.NO_ANSWER, False)
        await asyncio.sleep(0.25)
        result = await dev.poll()
        assert result.complete
        assert dev.stats.reconnects == 1
    finally:
        await dev.close()


async def test_refused_block_is_split_and_the_split_remembered() -> None:
    sim = BessSimulator(step_hz=0, strict_gaps=True)
    port = await sim.start_tcp("127.0.0.1", 0)
    dev = make_device(port)
    try:
        first = await dev.poll()
        assert first.complete, first.errors
        assert first.requests > 2
        assert dev.stats.exceptions.get(2, 0) > 0
        refused = dev.stats.exceptions[2]
        second = await dev.poll()
        assert second.complete
        assert second.requests == dev.plan.request_count < first.requests
        assert dev.stats.exceptions[2] == refused  # the working split is kept
        assert second.values["soc_pct"] == pytest.approx(50.0)
    finally:
        await dev.close()
        await sim.stop()


async def test_write_is_read_back_and_drives_the_simulator(
    simulator: tuple[BessSimulator, int],
) -> None:
    sim, port = simulator
    dev = make_device(port)
    try:
        assert await dev.write("setpoint_power_kw", -37.5) == pytest.approx(-37.5)
        assert sim.model.setpoint_kw == pytest.approx(-37.5)
        assert [r.function_code for r in dev.traffic] == [16, 3]
        assert await dev.write("watchdog", 7) == 7
        assert sim.model.heartbeat == 7
        assert dev.traffic[-2].function_code == 6
    finally:
        await dev.close()


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("setpoint_power_kw", 150.0, "above its maximum 100.0"),
        ("setpoint_power_kw", float("nan"), "not a finite number"),
        ("soc_pct", 10.0, "read-only"),
        ("no_such_register", 1.0, "no register named"),
    ],
)
async def test_bad_writes_are_refused_before_sending(
    simulator: tuple[BessSimulator, int], name: str, value: float, reason: str
) -> None:
    sim, port = simulator
    dev = make_device(port)
    try:
        with pytest.raises(WriteRejected, match=reason):
            await dev.write(name, value)
        assert not [r for r in dev.traffic if r.is_write]
        assert sim.writes == []
    finally:
        await dev.close()


async def test_simulator_refuses_an_out_of_range_write_from_another_master(
    simulator: tuple[BessSimulator, int],
) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    sim, port = simulator
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    try:
        # 200 kW as i32 W: above the profile's max of 100 kW.
        response = await client.write_registers(0, [0x0003, 0x0D40], device_id=1)
        assert response.isError()
        assert response.exception_code == 3
        response = await client.write_register(100, 1, device_id=1)
        assert response.exception_code == 2
    finally:
        client.close()
    assert sim.model.setpoint_kw == 0.0


async def test_read_back_mismatch_fails_the_write(simulator: tuple[BessSimulator, int]) -> None:
    sim, port = simulator
    dev = make_device(port)
    sim.inject(Fault.FROZEN)  # the image no longer follows: simulate a device that ignores writes

    original = sim._apply_write

    def ignore(table, address, values):  # type: ignore[no-untyped-def]
        result = original(table, address, values)
        sim.image[table][address] = 0xDEAD
        return result

    sim._apply_write = ignore  # type: ignore[method-assign]
    try:
        with pytest.raises(WriteRejected, match="read-back"):
            await dev.write("run_mode", 0)
    finally:
        await dev.close()


async def test_no_pymodbus_deprecation_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pymodbus")
    sim = BessSimulator(step_hz=0)
    port = await sim.start_tcp("127.0.0.1", 0)
    dev = make_device(port)
    try:
        await dev.poll()
        await dev.write("setpoint_power_kw", 1.0)
    finally:
        await dev.close()
        await sim.stop()
    pymodbus_lines = [r.getMessage() for r in caplog.records if r.name.startswith("pymodbus")]
    assert pymodbus_lines, "pymodbus logged nothing at DEBUG: the check would prove nothing"
    assert not [line for line in pymodbus_lines if "deprecat" in line.lower()]


async def _raw_request(port: int, unit: int, fc: int, address: int, count: int) -> bytes | None:
    """One Modbus TCP request on a raw socket; the answer's PDU, or None when none came."""
    import struct

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(struct.pack(">HHHBBHH", 9, 0, 6, unit, fc, address, count))
        await writer.drain()
        try:
            data = await asyncio.wait_for(reader.read(300), 0.5)
        except TimeoutError:
            return None
        return data[7:]
    finally:
        writer.close()


async def test_the_simulator_answers_only_its_own_unit_and_bad_counts_with_exception_3(
    simulator: tuple[BessSimulator, int], caplog: pytest.LogCaptureFixture
) -> None:
    sim, port = simulator
    assert (await _raw_request(port, sim.unit_id, 4, 0, 2) or b"")[:2] == b"\x04\x04"
    assert await _raw_request(port, 0, 4, 0, 2) is None  # broadcast: no answer
    assert await _raw_request(port, 7, 4, 0, 2) is None  # not its unit: silence
    assert await _raw_request(port, sim.unit_id, 4, 0, 0) == b"\x84\x03"
    assert await _raw_request(port, sim.unit_id, 3, 0, 126) == b"\x83\x03"
    assert "Traceback" not in caplog.text
