"""The commissioning tests, each a function of the run: identity, poll, a setpoint step,
the watchdog, an interlock and, with someone at the cable, comms loss.

The commanding ones (step, watchdog, interlock) start the same way, through the run's
``in_manual``: Manual, the step size and the battery running at +step, or the verdict that
says why not. Each returns its verdict: findings as codes with values, and each pass
criterion beside the figure measured for it; the run puts the battery back in Standby after.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import Reason
from bessai.core.runtime.events import Sample
from bessai.core.site.commissioning_report import (
    NO_CONTROL,
    Criterion,
    Finding,
    TestResult,
    found,
    verdict,
)
from bessai.drivers.profile import RegisterType, Role

if TYPE_CHECKING:
    from bessai.core.site.commissioning import CommissioningRun

UNITS = {"soc_pct": "%", "pack_voltage_v": "V", "battery_temp_c": "°C"}


def _criterion(
    code: str, measured: float | str | None, unit: str, passed: bool | None, **values: Any
) -> Criterion:
    return Criterion(code, values, measured, unit, passed)


async def identity_test(run: CommissioningRun) -> TestResult:
    sample = await run.fresh_sample(run.clock(), run.settle_timeout_s)
    answers = _criterion("answers", None if sample is None else "yes", "", sample is not None)
    if sample is None:
        return verdict("identity", False, found("no_answer"), criteria=[answers])
    profile = run.device.profile
    identity: dict[str, Any] = {
        "unit_id": run.device.unit_id,
        "manufacturer": profile.manufacturer,
        "model": profile.model,
    }
    for reg in profile.registers:
        text = sample.texts.get(reg.name)
        if reg.type is RegisterType.STRING and text:
            identity[reg.name] = text
    for key in ("c_mn", "c_md", "c_vr", "c_sn"):
        if key in sample.texts:
            identity[key] = sample.texts[key]
    run.report.identity = identity
    strings = [k for k in identity if k not in ("unit_id", "manufacturer", "model")]
    read = ", ".join(f"{k}={identity[k]}" for k in strings)
    said = found("identity_read", read=read) if read else found("no_identity_text")
    return verdict("identity", True, said, figures=dict(identity), criteria=[answers])


async def poll_test(run: CommissioningRun) -> TestResult:
    sample = await run.fresh_sample(run.clock(), run.settle_timeout_s)
    if sample is None:
        answers = _criterion("answers", None, "", False)
        return verdict("poll", False, found("no_sample"), criteria=[answers])
    limits = run.report.limits
    checks: dict[str, tuple[float, float]] = {
        "soc_pct": (0.0, 100.0),
        "pack_voltage_v": (
            limits.get("pack_voltage_min_v", 0.0),
            limits.get("pack_voltage_max_v", math.inf),
        ),
        "battery_temp_c": (
            limits.get("temp_cold_trip_c", -40.0),
            limits.get("temp_warning_c", 60.0),
        ),
    }
    figures: dict[str, Any] = {
        "quality": sample.quality.value,
        "registers": len(sample.values),
        "missing": sorted(k for k, v in sample.values.items() if v is None),
        "poll_s": round(sample.poll_duration_s, 4),
    }
    bad: list[Finding] = []
    criteria: list[Criterion] = []
    for role, (low, high) in checks.items():
        value = sample.roles.get(role)
        figures[role] = value
        if role not in sample.roles:
            continue
        ok = value is not None and low <= value <= high
        criteria.append(
            _criterion("in_range", value, UNITS[role], ok, role=role, low=low, high=high)
        )
        if not ok:
            bad.append(found("out_of_range", role=role, value=value, low=low, high=high))
    if sample.refused:
        bad.append(found("refused_registers", registers=", ".join(sorted(sample.refused))))
    passed = not bad and sample.quality.value != "bad"
    quality = _criterion("poll_quality", sample.quality.value, "", not sample.refused and passed)
    said = bad or [found("all_in_range")]
    return verdict("poll", passed, *said, figures=figures, criteria=[*criteria, quality])


def _step_criteria(s: dict[str, Any], step: float, wait_s: float) -> list[Criterion]:
    """Reached in time, with its sign, and read back: one setpoint of the step test."""
    kw = s["setpoint_kw"]
    if "refused" in s:
        return [_criterion("reached", None, "s", False, kw=kw, tolerance_kw=0, limit_s=wait_s)]
    tolerance = s["tolerance_kw"]
    read_back = s["read_back_kw"]
    read_ok = read_back is not None and abs(read_back - kw) <= 0.05 * step + 0.01
    return [
        _criterion(
            "reached",
            s["response_s"],
            "s",
            s["response_s"] is not None,
            kw=kw,
            tolerance_kw=tolerance,
            limit_s=wait_s,
        ),
        _criterion("sign", s["measured_kw"], "kW", bool(s["sign_ok"]), kw=kw),
        _criterion(
            "read_back", read_back, "kW", read_ok, kw=kw, tolerance_kw=round(0.05 * step + 0.01, 3)
        ),
    ]


async def step_test(run: CommissioningRun) -> TestResult:
    ready = await run.in_manual("step", start=False)
    if isinstance(ready, TestResult):
        return ready
    _, step, _ = ready
    steps = [await run.step_to(kw) for kw in (step, 0.0, -step, 0.0)]
    problems: list[Finding] = []
    criteria: list[Criterion] = []
    for s in steps:
        kw = s["setpoint_kw"]
        criteria += _step_criteria(s, step, run.settle_timeout_s)
        if "refused" in s:
            problems.append(found("step_refused", kw=kw, why=s["refused"]))
        elif s["response_s"] is None:
            problems.append(
                found(
                    "step_not_reached",
                    kw=kw,
                    wait_s=run.settle_timeout_s,
                    measured=s["measured_kw"],
                )
            )
        elif not s["sign_ok"]:
            problems.append(found("step_sign_inverted", kw=kw, measured=s["measured_kw"]))
        elif (
            s["read_back_kw"] is None
            or abs(s["read_back_kw"] - s["setpoint_kw"]) > 0.05 * step + 0.01
        ):
            problems.append(found("step_read_back", kw=kw, read_back=s["read_back_kw"]))
    times = [s["response_s"] for s in steps if s.get("response_s") is not None]
    figures = {
        "step_kw": step,
        "steps": steps,
        "max_response_s": max(times) if times else None,
    }
    said = problems or [found("step_ok", step=step, slowest_s=max(times))]
    return verdict("step", not problems, *said, figures=figures, criteria=criteria)


def _watchdog_timeout_s(run: CommissioningRun) -> float | None:
    profile = run.device.profile
    if (
        profile.connection.watchdog_timeout_s is not None
        and run.controller
        and run.controller.watchdog_reg
    ):
        return profile.connection.watchdog_timeout_s
    control = profile.effective_control
    return None if control is None else control.timeout_s


async def watchdog_test(run: CommissioningRun) -> TestResult:
    timeout_s = _watchdog_timeout_s(run)
    if run.controller is None or timeout_s is None:
        return verdict("watchdog", None, found("no_watchdog"))
    ready = await run.in_manual("watchdog", start=True, without_control=False)
    if isinstance(ready, TestResult):
        return ready
    controller, step, running = ready
    if running.get("response_s") is None:
        return verdict(
            "watchdog", False, found("could_not_start", kw=step), figures={"start": running}
        )
    controller.heartbeat_paused = True
    run.mark("heartbeat_stopped")
    idle = run.near_zero(step)

    def fell(sample: Sample) -> bool:
        return "watchdog" in (_state_name(run, sample) or "") or idle(sample)

    margin_s = 2 * run.device_interval_s() + 2.0
    fall_s, sample = await run.power_where(fell, timeout_s + margin_s + 5.0)
    controller.heartbeat_paused = False
    figures = {
        "timeout_s": timeout_s,
        "margin_s": margin_s,
        "fall_s": None if fall_s is None else round(fall_s, 3),
        "state": None if sample is None else _state_name(run, sample),
        "power_kw": None if sample is None else sample.roles.get("active_power_kw"),
        "from_kw": step,
    }
    limit_s = timeout_s + margin_s
    passed = fall_s is not None and fall_s <= limit_s
    criteria = [
        _criterion("fall", figures["fall_s"], "s", passed, limit_s=limit_s, timeout_s=timeout_s)
    ]
    if fall_s is None:
        said = found("still_running", waited_s=timeout_s + margin_s + 5)
        return verdict("watchdog", False, said, figures=figures, criteria=criteria)
    run.mark("fell")
    said = found("fell_to_standby", fall_s=fall_s, timeout_s=timeout_s)
    return verdict("watchdog", passed, said, figures=figures, criteria=criteria)


def _state_name(run: CommissioningRun, sample: Sample) -> str | None:
    """The device's operating state in its own words (the state register's enum)."""
    reg = run.device.profile.by_role(Role.DEVICE_STATE)
    value = sample.roles.get("device_state")
    if reg is None or value is None:
        return None
    return (reg.enum or {}).get(str(int(value)), str(int(value)))


async def interlock_test(run: CommissioningRun) -> TestResult:
    controller = run.controller
    if controller is None or not controller.can_control:
        return verdict("interlock", None, NO_CONTROL)
    changes, quantity, value, unit = _tightened(controller)
    if not changes:
        return verdict("interlock", False, found("no_trip_value"))
    run.watch_role = "battery_temp_c" if quantity == "battery_temperature" else "pack_voltage_v"
    ready = await run.in_manual("interlock", start=True, without_control=False)
    if isinstance(ready, TestResult):
        return ready
    _, step, running = ready
    old = controller.guard.limits
    t0 = time.monotonic()
    run.mark("limit_tightened")
    result = await controller.set_limits(run.session, **changes)
    if not result.ok:
        return verdict("interlock", False, found("limit_refused", why=result.message_en))
    trip_s: float | None = None
    power_zero_s: float | None = None
    try:
        while time.monotonic() - t0 < run.settle_timeout_s:
            await controller.tick()
            reasons = {i.reason for i in controller.current_interlocks(run.clock())}
            if (
                Reason.INTERLOCK_TRIP in reasons
                and controller.applied_kw == 0.0
                and controller.mode is ControlMode.STANDBY
            ):
                trip_s = time.monotonic() - t0
                run.mark("zero_written")
                break
            await asyncio.sleep(0.05)
        if trip_s is not None:
            idle = run.near_zero(step)
            power_zero_s, _ = await run.power_where(idle, run.settle_timeout_s)
    finally:
        restore = {k: getattr(old, k) for k in changes}
        back = await controller.set_limits(run.session, **restore)
    tripped_on = f"{quantity.replace('_', ' ')} {value:g} {unit}"
    figures: dict[str, Any] = {
        "tripped_on": tripped_on,
        "tightened": changes,
        "trip_to_zero_s": None if trip_s is None else round(trip_s, 3),
        "device_at_zero_s": None
        if power_zero_s is None or trip_s is None
        else round(trip_s + power_zero_s, 3),
        "running_kw": running.get("measured_kw"),
        "restored": back.ok,
        "mode_after": controller.mode.value,
    }
    wait_s = run.settle_timeout_s
    criteria = [
        _criterion(
            "zero_written", figures["trip_to_zero_s"], "s", trip_s is not None, limit_s=wait_s
        ),
        _criterion(
            "device_at_zero",
            None if power_zero_s is None else round(power_zero_s, 3),
            "s",
            power_zero_s is not None,
            limit_s=wait_s,
        ),
        _criterion("restored", "yes" if back.ok else "no", "", back.ok),
    ]
    if trip_s is None:
        return verdict("interlock", False, found("no_trip"), figures=figures, criteria=criteria)
    said = found(
        "trip_seen",
        quantity=quantity,
        value=value,
        unit=unit,
        trip_s=trip_s,
        at_zero_s=figures["device_at_zero_s"],
    )
    if not back.ok:
        said = found("not_restored")
    return verdict("interlock", back.ok, said, figures=figures, criteria=criteria)


def _tightened(controller: Controller) -> tuple[dict[str, float], str, float, str]:
    """Limits just inside the live value: the temperature trip, else the voltage window; with
    the quantity tripped on (a code), its value and unit."""
    old = controller.guard.limits
    temp = controller.telemetry.battery_temp_c
    if temp is not None:
        changes = {
            "temp_warning_c": math.floor(temp) - 2.0,
            "temp_trip_c": math.floor(temp) - 1.0,
        }
        changes["temp_charge_min_c"] = min(
            old.temp_charge_min_c, changes["temp_warning_c"] - old.temp_cold_derate_band_c - 1.0
        )
        changes["temp_cold_trip_c"] = min(old.temp_cold_trip_c, changes["temp_charge_min_c"] - 1.0)
        return changes, "battery_temperature", temp, "°C"
    volts = controller.telemetry.pack_voltage_v
    if volts is not None:
        changes = {"pack_voltage_max_v": max(old.pack_voltage_min_v + 0.1, volts - 1.0)}
        return changes, "pack_voltage", volts, "V"
    return {}, "", 0.0, ""


async def comms_loss_test(run: CommissioningRun) -> TestResult:
    """Waits for the link to drop (the cable pulled, the simulator stopped), then for it
    to come back, and checks that nothing resumed by itself."""
    controller = run.controller
    run.disconnected.clear()
    run.connected.clear()
    last_good = run.latest.ts if run.latest else run.clock()
    run.progress("comms_loss", "waiting for the link to drop")
    try:
        async with asyncio.timeout(run.comms_wait_s):
            await run.disconnected.wait()
    except TimeoutError:
        return verdict("comms_loss", None, found("link_did_not_drop", wait_s=run.comms_wait_s))
    detected = run.clock()
    last_good = run.latest.ts if run.latest else last_good
    mode_during = controller.mode.value if controller else None
    run.progress("comms_loss", "link down; waiting for it to come back")
    back_s: float | None = None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(run.comms_wait_s):
            await run.connected.wait()
            back_s = run.clock() - detected
    figures = {
        "detected_after_last_sample_s": round(detected - last_good, 3),
        "mode_during": mode_during,
        "back_after_s": None if back_s is None else round(back_s, 3),
        "mode_after": controller.mode.value if controller else None,
    }
    resumed = controller is not None and controller.mode is not ControlMode.STANDBY
    passed = back_s is not None and not resumed and mode_during in (None, "standby")
    seen_s = figures["detected_after_last_sample_s"]
    criteria = [
        _criterion("loss_seen", seen_s, "s", True, limit_s=run.comms_wait_s),
        _criterion("standby_after", figures["mode_after"], "", passed),
    ]
    if back_s is not None:
        said = found("link_back", seen_s=seen_s, back_s=back_s)
    else:
        said = found("link_not_back", seen_s=seen_s)
    return verdict("comms_loss", passed, said, figures=figures, criteria=criteria)


CHECKS: dict[str, Callable[[CommissioningRun], Awaitable[TestResult]]] = {
    "identity": identity_test,
    "poll": poll_test,
    "step": step_test,
    "watchdog": watchdog_test,
    "interlock": interlock_test,
    "comms_loss": comms_loss_test,
}
