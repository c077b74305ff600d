"""The commissioning tests, each a function of the run: identity, poll, a setpoint step,
the watchdog, an interlock and, with someone at the cable, comms loss.

The commanding ones (step, watchdog, interlock) start the same way, through the run's
``in_manual``: Manual, the step size and the battery running at +step, or the verdict that
says why not. Each returns its verdict; the run puts the battery back in Standby after it.
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
    TestResult,
    Words,
    verdict,
)
from bessai.drivers.profile import RegisterType, Role

if TYPE_CHECKING:
    from bessai.core.site.commissioning import CommissioningRun

NO_TRIP_VALUE = Words(
    "no battery temperature or pack voltage to trip on",
    "sin temperatura de batería ni tensión de pack con que disparar",
)
NO_WATCHDOG = Words(
    "the profile declares no watchdog or setpoint timeout",
    "el perfil no declara watchdog ni plazo de consigna",
)


async def identity_test(run: CommissioningRun) -> TestResult:
    sample = await run.fresh_sample(run.clock(), run.settle_timeout_s)
    if sample is None:
        return TestResult(
            "identity", False, "no answer from the device", detail_es="el equipo no responde"
        )
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
    return TestResult(
        "identity",
        True,
        read or "the profile maps no identity text",
        dict(identity),
        detail_es=read or "el perfil no define textos de identidad",
    )


async def poll_test(run: CommissioningRun) -> TestResult:
    sample = await run.fresh_sample(run.clock(), run.settle_timeout_s)
    if sample is None:
        return TestResult(
            "poll",
            False,
            "no sample within the timeout",
            detail_es="ninguna lectura dentro del plazo",
        )
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
    bad: list[str] = []
    bad_es: list[str] = []
    for role, (low, high) in checks.items():
        value = sample.roles.get(role)
        figures[role] = value
        if role in sample.roles and (value is None or not low <= value <= high):
            bad.append(f"{role} {value} outside {low:g}..{high:g}")
            bad_es.append(f"{role} {value} fuera de {low:g}..{high:g}")
    if sample.refused:
        bad.append(f"refused: {', '.join(sorted(sample.refused))}")
        bad_es.append(f"rechazados: {', '.join(sorted(sample.refused))}")
    passed = not bad and sample.quality.value != "bad"
    return TestResult(
        "poll",
        passed,
        "; ".join(bad) or "every guarded value in range",
        figures,
        detail_es="; ".join(bad_es) or "todos los valores vigilados en rango",
    )


async def step_test(run: CommissioningRun) -> TestResult:
    ready = await run.in_manual("step", start=False)
    if isinstance(ready, TestResult):
        return ready
    _, step, _ = ready
    steps = [await run.step_to(kw) for kw in (step, 0.0, -step, 0.0)]
    problems: list[Words] = []
    for s in steps:
        kw = f"{s['setpoint_kw']:+g} kW"
        if "refused" in s:
            problems.append(
                Words(f"{kw} refused: {s['refused']}", f"{kw} rechazada: {s['refused_es']}")
            )
        elif s["response_s"] is None:
            wait = f"{run.settle_timeout_s:g} s"
            problems.append(
                Words(
                    f"{kw} not reached within {wait} (measured {s['measured_kw']})",
                    f"{kw} no alcanzada en {wait} (medido {s['measured_kw']})",
                )
            )
        elif not s["sign_ok"]:
            problems.append(
                Words(
                    f"{kw} measured as {s['measured_kw']}: sign inverted",
                    f"{kw} medida como {s['measured_kw']}: signo invertido",
                )
            )
        elif (
            s["read_back_kw"] is None
            or abs(s["read_back_kw"] - s["setpoint_kw"]) > 0.05 * step + 0.01
        ):
            problems.append(
                Words(
                    f"{kw} read back as {s['read_back_kw']}",
                    f"{kw} releída como {s['read_back_kw']}",
                )
            )
    times = [s["response_s"] for s in steps if s.get("response_s") is not None]
    figures = {
        "step_kw": step,
        "steps": steps,
        "max_response_s": max(times) if times else None,
    }
    if problems:
        said = Words("; ".join(p.en for p in problems), "; ".join(p.es for p in problems))
    else:
        said = Words(
            f"±{step:g} kW read back and reached, slowest in {max(times):.2f} s",
            f"±{step:g} kW releídos y alcanzados, el más lento en {max(times):.2f} s",
        )
    return verdict("step", not problems, said, figures)


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
        return verdict("watchdog", None, NO_WATCHDOG)
    ready = await run.in_manual("watchdog", start=True, without_control=False)
    if isinstance(ready, TestResult):
        return ready
    controller, step, running = ready
    if running.get("response_s") is None:
        said = Words(f"could not start at {step:g} kW", f"no pudo arrancar a {step:g} kW")
        return verdict("watchdog", False, said, {"start": running})
    controller.heartbeat_paused = True
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
    if fall_s is None:
        waited = f"{timeout_s + margin_s + 5:g} s"
        said = Words(
            f"still running {waited} after the heartbeat stopped",
            f"sigue en marcha {waited} después de detener el latido",
        )
        return verdict("watchdog", False, said, figures)
    said = Words(
        f"fell to standby {fall_s:.1f} s after the heartbeat stopped (timeout {timeout_s:g} s)",
        f"pasó a espera {fall_s:.1f} s después de detener el latido (plazo {timeout_s:g} s)",
    )
    return verdict("watchdog", fall_s <= timeout_s + margin_s, said, figures)


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
    changes, tripped_on, tripped_on_es = _tightened(controller)
    if not changes:
        return verdict("interlock", False, NO_TRIP_VALUE)
    ready = await run.in_manual("interlock", start=True, without_control=False)
    if isinstance(ready, TestResult):
        return ready
    _, step, running = ready
    old = controller.guard.limits
    t0 = time.monotonic()
    result = await controller.set_limits(run.session, **changes)
    if not result.ok:
        said = Words(
            f"tightened limit refused: {result.message_en}",
            f"límite ajustado rechazado: {result.message_en}",
        )
        return verdict("interlock", False, said)
    trip_s: float | None = None
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
                break
            await asyncio.sleep(0.05)
        power_zero_s: float | None = None
        if trip_s is not None:
            idle = run.near_zero(step)
            power_zero_s, _ = await run.power_where(idle, run.settle_timeout_s)
    finally:
        restore = {k: getattr(old, k) for k in changes}
        back = await controller.set_limits(run.session, **restore)
    figures = {
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
    if trip_s is None:
        said = Words(
            "no trip seen after the limit was tightened",
            "ningún disparo tras ajustar el límite",
        )
        return verdict("interlock", False, said, figures)
    at_zero = figures["device_at_zero_s"]
    said = Words(
        f"trip on {tripped_on} seen, zero written in {trip_s:.2f} s, the device at zero "
        f"{at_zero} s after the change; limits restored",
        f"disparo por {tripped_on_es} visto, cero escrito en {trip_s:.2f} s, el equipo "
        f"en cero {at_zero} s después del cambio; límites restablecidos",
    )
    if not back.ok:
        said = Words(
            "trip seen, but the limits could not be restored",
            "disparo visto, pero los límites no se pudieron restablecer",
        )
    return verdict("interlock", back.ok, said, figures)


def _tightened(controller: Controller) -> tuple[dict[str, float], str, str]:
    """Limits just inside the live value: the temperature trip, else the voltage window."""
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
        return (
            changes,
            f"battery temperature {temp:g} °C",
            f"temperatura de batería {temp:g} °C",
        )
    volts = controller.telemetry.pack_voltage_v
    if volts is not None:
        return (
            {"pack_voltage_max_v": max(old.pack_voltage_min_v + 0.1, volts - 1.0)},
            f"pack voltage {volts:g} V",
            f"tensión de pack {volts:g} V",
        )
    return {}, "", ""


async def comms_loss_test(run: CommissioningRun) -> TestResult:
    """Waits for the link to drop (the cable pulled, the simulator stopped), then for it
    to come back, and checks that nothing resumed by itrun."""
    controller = run.controller
    run.disconnected.clear()
    run.connected.clear()
    last_good = run.latest.ts if run.latest else run.clock()
    run.progress("comms_loss", "waiting for the link to drop")
    try:
        async with asyncio.timeout(run.comms_wait_s):
            await run.disconnected.wait()
    except TimeoutError:
        return TestResult(
            "comms_loss",
            None,
            f"the link did not drop within {run.comms_wait_s:g} s",
            detail_es=f"el enlace no se cortó en {run.comms_wait_s:g} s",
        )
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
    seen = f"{figures['detected_after_last_sample_s']:.1f} s"
    if back_s is not None:
        en = f"loss seen {seen} after the last sample; back after {back_s:.1f} s, still in Standby"
        es = (
            f"pérdida vista {seen} después de la última lectura; de vuelta tras "
            f"{back_s:.1f} s, aún en espera"
        )
    else:
        en = f"loss seen {seen} after the last sample; did not come back"
        es = f"pérdida vista {seen} después de la última lectura; no volvió"
    return TestResult("comms_loss", passed, en, figures, detail_es=es)


CHECKS: dict[str, Callable[[CommissioningRun], Awaitable[TestResult]]] = {
    "identity": identity_test,
    "poll": poll_test,
    "step": step_test,
    "watchdog": watchdog_test,
    "interlock": interlock_test,
    "comms_loss": comms_loss_test,
}
