"""Auto mode from an ONNX model on the simulator: through the guard, recorded, and falling back visibly."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from bessai.core.config.settings import DispatchSettings
from bessai.core.control.events import ControlMode, DispatchProposed
from bessai.core.guard.safety import Reason, SafetyLimits
from bessai.core.observe.health import health_report
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Session
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import operated_site, until, write_constant_model

LIMITS = SafetyLimits(
    max_charge_kw=60, max_discharge_kw=80, max_ramp_kw_per_s=200, max_sample_age_s=1.0
)


def site(
    tmp_path: Path, dispatch: DispatchSettings
) -> AbstractAsyncContextManager[tuple[BessSimulator, Gateway, Session]]:
    return operated_site(tmp_path, "dispatch-test", dispatch, LIMITS, seed=3)


def setpoints(sim: BessSimulator) -> list[float]:
    return [float(v) for n, v in sim.writes if n == "setpoint_power_kw" and isinstance(v, float)]


async def test_auto_runs_the_simulator_from_the_shipped_model_through_the_guard(
    tmp_path: Path,
) -> None:
    async with site(tmp_path, DispatchSettings()) as (sim, gw, olga):
        ctl = gw.controller()
        seen: list[DispatchProposed] = []
        gw.bus.subscribe(DispatchProposed, seen.append)
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        await until(lambda: len(seen) > 10, what="model proposals")
        await until(lambda: ctl.last_verdict is not None and ctl.applied_kw is not None)
        proposal = ctl.state().proposal
        assert proposal is not None
        assert proposal.source == "model"
        assert proposal.model_version == gw.dispatch_summary().model_version
        assert set(proposal.inputs) == {
            "hour_local",
            "soc_pct",
            "pv_kw",
            "load_kw",
            "price_usd_mwh",
        }
        assert all(age is not None and age < 1.0 for age in proposal.input_ages_s.values())
        # The one door: what reaches the simulator is the guard's value for the model's proposal.
        verdict = ctl.guard.evaluate(proposal.setpoint_kw, ctl.telemetry, [])
        await until(lambda: sim.model.setpoint_kw == pytest.approx(verdict.value_kw, abs=1.5))
        assert all(-60.0 <= kw <= 80.0 for kw in setpoints(sim))
        await gw.dispatch_record.flush()
        rows = gw.dispatch_record.rows(shadow=False)
        assert rows
        row = rows[-1]
        assert row["source"] == "model"
        assert row["mode"] == "auto"
        assert row["raw_output"] is not None
        assert row["inference_ms"] < 50
        assert gw.alarms.get("dispatch_fallback", "bess").active is False


async def test_a_constant_model_drives_the_battery_clamped_by_the_limits(tmp_path: Path) -> None:
    model = write_constant_model(tmp_path / "model", 0.95)
    async with site(tmp_path, DispatchSettings(model_path=model)) as (sim, gw, olga):
        ctl = gw.controller()
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        # 0.95 of the 80 kW rated power = 76 kW: inside the window, written as proposed.
        await until(lambda: sim.model.setpoint_kw == pytest.approx(76.0, abs=0.2))
        await gw.dispatch_record.flush()
        row = gw.dispatch_record.rows()[-1]
        assert row["proposed_kw"] == pytest.approx(76.0, abs=0.01)
        assert row["guarded_kw"] == pytest.approx(76.0, abs=0.01)
        assert row["model_version"] == "constant-0.95"


async def test_a_model_answering_nan_falls_back_to_the_rules_visibly(tmp_path: Path) -> None:
    model = write_constant_model(tmp_path / "model", float("nan"))
    async with site(tmp_path, DispatchSettings(model_path=model)) as (sim, gw, olga):
        ctl = gw.controller()
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        await until(
            lambda: gw.alarms.get("dispatch_fallback", "bess").active, what="fallback alarm"
        )
        proposal = ctl.state().proposal
        assert proposal is not None
        assert proposal.source == "rules"
        assert proposal.fallback is not None
        assert proposal.fallback.code == "output_not_finite"
        await until(lambda: sim.model.setpoint_kw == pytest.approx(proposal.setpoint_kw, abs=0.5))
        metrics = gw.metrics.render().decode()
        assert 'bessai_dispatch_fallbacks_total{device="bess",reason="output_not_finite"' in metrics
        await gw.dispatch_record.flush()
        assert gw.dispatch_record.rows()[-1]["fallback"].startswith("output_not_finite")
        # Leaving Auto clears it.
        assert (await ctl.set_mode(olga, ControlMode.STANDBY)).ok
        await until(lambda: not gw.alarms.get("dispatch_fallback", "bess").active)


async def test_a_tampered_model_starts_on_the_rules_with_an_alarm_and_a_degraded_health(
    tmp_path: Path,
) -> None:
    model = write_constant_model(tmp_path / "model", 0.5)
    model.write_bytes(model.read_bytes() + b"\0")
    async with site(tmp_path, DispatchSettings(model_path=model)) as (_sim, gw, olga):
        alarm = gw.alarms.get("dispatch_model_unavailable")
        assert alarm.active
        assert "sha256" in alarm.detail
        report = health_report(gw)
        assert report["status"] == "degraded"
        assert report["dispatch"]["model_version"] is None
        assert "sha256" in report["dispatch"]["model_error"]
        ctl = gw.controller()
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        await until(lambda: ctl.state().proposal is not None)
        proposal = ctl.state().proposal
        assert proposal is not None
        assert proposal.source == "rules"
        assert proposal.fallback is not None
        assert proposal.fallback.code == "model_unavailable"


async def test_shadow_mode_records_the_model_beside_the_battery_and_writes_nothing_of_it(
    tmp_path: Path,
) -> None:
    model = write_constant_model(tmp_path / "model", -0.5)
    async with site(tmp_path, DispatchSettings(mode="shadow", model_path=model)) as (sim, gw, olga):
        ctl = gw.controller()
        assert (await ctl.set_mode(olga, ControlMode.MANUAL)).ok
        assert (await ctl.command_setpoint(olga, 30.0)).ok
        await until(lambda: sim.model.setpoint_kw == pytest.approx(30.0))
        await until(lambda: sim.model.power_kw > 25.0, timeout_s=5)

        def beside_the_setpoint() -> list[dict[str, object]]:
            return [r for r in gw.dispatch_record.rows(shadow=True) if r["applied_kw"] == 30.0]

        await until(
            beside_the_setpoint, timeout_s=5, what="a shadow row (the record flushes at 1 Hz)"
        )
        row = beside_the_setpoint()[-1]
        assert row["source"] == "model"
        assert row["proposed_kw"] == pytest.approx(-40.0)
        assert row["mode"] == "manual"
        assert row["actual_kw"] is not None
        # The model wanted -40 kW; the battery only ever got the operator's setpoint (ramped).
        assert all(0.0 <= kw <= 30.0 for kw in setpoints(sim))
        assert ctl.state().shadow_proposal is not None
        # Auto in shadow mode is run by the rules.
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        await until(lambda: ctl.state().proposal is not None)
        proposal = ctl.state().proposal
        assert proposal is not None
        assert proposal.source == "rules"
        assert proposal.fallback is None


async def test_the_record_names_the_limit_that_clamped_a_proposal(tmp_path: Path) -> None:
    model = write_constant_model(tmp_path / "model", -1.0)
    async with site(tmp_path, DispatchSettings(model_path=model)) as (sim, gw, olga):
        ctl = gw.controller()
        assert (await ctl.set_mode(olga, ControlMode.AUTO)).ok
        await until(lambda: sim.model.setpoint_kw == pytest.approx(-60.0))
        await gw.dispatch_record.flush()
        row = gw.dispatch_record.rows()[-1]
        assert row["proposed_kw"] == pytest.approx(-80.0)
        assert row["guarded_kw"] == pytest.approx(-60.0)
        assert row["guard_reason"] == Reason.CLAMP_MAX_CHARGE.value
