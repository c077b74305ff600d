"""A full poll of every shipped profile, served by the simulator on 127.0.0.1, decodes what the physics shows."""

from __future__ import annotations

import pytest

from bessai.drivers.device import ModbusDevice, TcpEndpoint
from bessai.drivers.profile import Role
from bessai.drivers.profile_loader import load_profile, registry_ids
from bessai.drivers.simulator.server import BessSimulator


@pytest.mark.parametrize("profile_id", registry_ids())
async def test_full_poll_decodes_the_simulated_values(profile_id: str) -> None:
    profile = load_profile(profile_id)
    sim = BessSimulator(profile, step_hz=0, seed=1)
    sim.model.soc_pct = 63.2
    sim.model.write_setpoint(40.0)
    sim.step(0.5)  # ramp to 25 kW: power, current and voltage move off their rest values
    port = await sim.start_tcp("127.0.0.1", 0)
    device = ModbusDevice("dev", profile, TcpEndpoint("127.0.0.1", port))
    try:
        result = await device.poll()
    finally:
        await device.close()
        await sim.stop()
    assert result.complete, result.errors
    assert result.requests == device.plan.request_count
    measured = sim.model.measure()
    checked = 0
    for reg in profile.registers:
        if reg.role is None or reg.table.is_bit:
            continue
        expected = sim.value_for(reg, measured)
        if isinstance(expected, str):
            continue
        if reg.min is not None and reg.max is not None:
            expected = min(max(expected, reg.min), reg.max)
        codec = device.codecs[reg.name]
        # With a live scale factor, the exponent the same poll read.
        sf = device.exponents.get(reg.scale_factor) if reg.scale_factor else None
        pegged = codec.decode(
            codec.encode(expected, saturate=True, sf=sf), sf
        )  # a small device's register pegs
        assert isinstance(pegged, float)
        expected = pegged
        got = result.values[reg.name]
        assert got is not None, reg.name
        # The image was encoded from an earlier measure() whose noise differs: allow one
        # resolution step plus the simulator's measurement noise.
        tolerance = abs(reg.scale) + 0.5
        assert abs(got - expected) <= tolerance, (reg.name, got, expected)
        checked += 1
    assert checked >= 4
    soc = profile.by_role(Role.SOC_PCT)
    if soc is None:
        # A PCS (its BMS has the SoC) or a meter: it maps power, a battery's or the grid's.
        roles = profile.roles_of({})
        assert Role.ACTIVE_POWER_KW.value in roles or Role.GRID_POWER_KW.value in roles
        return
    assert result.values[soc.name] == pytest.approx(63.2, abs=max(abs(soc.scale), 0.01) + 1e-6)
