"""Primary frequency response on the simulator over loopback: the metered frequency steps, the
battery follows the droop through the guard, and every interlock still wins."""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from bessai.core.config.settings import DispatchSettings, FrequencySettings
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import SafetyLimits
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Session
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import operated_site, until

DROOP = FrequencySettings(deadband_hz=0.1, droop_pct=4.0, ramp_kw_per_s=100.0)


def site(
    tmp_path: Path, limits: SafetyLimits
) -> AbstractAsyncContextManager[tuple[BessSimulator, Gateway, Session]]:
    dispatch = DispatchSettings(mode="frequency", frequency=DROOP)
    return operated_site(tmp_path, "frequency-test", dispatch, limits, seed=5)


async def test_the_battery_follows_the_droop_on_frequency_steps(tmp_path: Path) -> None:
    limits = SafetyLimits(max_ramp_kw_per_s=200, max_sample_age_s=1.0)
    async with site(tmp_path, limits) as (sim, gw, olga):
        ctl = gw.controller()
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        await until(lambda: ctl.state().proposal is not None, what="a first proposal")
        assert abs(sim.model.setpoint_kw) < 0.5  # 50 Hz ± noise: inside the dead band
        sim.model.grid_frequency_hz = 49.5  # 0.4 Hz beyond the band: +20 kW
        stepped = time.monotonic()
        await until(lambda: abs(sim.model.setpoint_kw - 20.0) < 0.6, 5.0, "+20 kW written")
        written_s = time.monotonic() - stepped
        await until(lambda: abs(sim.model.power_kw - 20.0) < 1.0, 5.0, "power at +20 kW")
        assert written_s < 1.0  # a poll (0.1 s) and a control tick (0.1 s), with slack
        proposal = ctl.state().proposal
        assert proposal is not None
        assert proposal.source == "frequency"
        assert "49.5" in proposal.explanation
        sim.model.grid_frequency_hz = 50.3  # over-frequency: charge 10 kW
        await until(lambda: abs(sim.model.setpoint_kw + 10.0) < 0.6, 5.0, "-10 kW written")
        sim.model.grid_frequency_hz = 50.05
        await until(lambda: abs(sim.model.setpoint_kw) < 0.6, 5.0, "back to zero in the band")
        audit = [r.action for r in gw.audit.records()]
        assert "mode" in audit  # arming Auto for frequency response is on record


async def test_the_guard_clamps_the_response_and_an_estop_zeroes_it(tmp_path: Path) -> None:
    limits = SafetyLimits(max_discharge_kw=15, max_ramp_kw_per_s=200, max_sample_age_s=1.0)
    async with site(tmp_path, limits) as (sim, gw, olga):
        ctl = gw.controller()
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        sim.model.grid_frequency_hz = 49.0  # the droop asks for +45 kW
        await until(lambda: abs(sim.model.setpoint_kw - 15.0) < 0.3, 5.0, "clamped at 15 kW")
        await until(
            lambda: ctl.last_verdict is not None and ctl.last_verdict.requested_kw > 44.5,
            3.0,
            "the droop's whole request (after its ramp)",
        )
        verdict = ctl.state().last_verdict
        assert verdict is not None
        assert verdict.requested_kw == pytest.approx(45.0, abs=0.5)
        assert verdict.value_kw == pytest.approx(15.0)
        await ctl.estop(olga, "test")
        await until(lambda: sim.model.setpoint_kw == 0.0, 3.0, "zero after the E-stop")
        assert ctl.mode is ControlMode.STANDBY  # nothing resumes by itself
