"""The commissioning run: prove one device against the running gateway, test by test.

Each test leaves the battery in Standby at zero power, whatever it found;
the figures of the report are what the run measured (response times, the
watchdog's fall time), each test and the run are written to the audit trail,
and the report ends with the audit chain's head so that it can be checked
against ``bessai audit verify`` later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bessai import __version__
from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import Reason
from bessai.core.runtime.events import DeviceConnected, DeviceDisconnected, Sample, SampleTaken
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Permission, Session
from bessai.drivers.profile import RegisterType, Role

TESTS = ("identity", "poll", "step", "watchdog", "interlock", "comms_loss")
HEADLESS_TESTS = TESTS[:-1]  # the comms-loss test needs someone to pull the cable


class CommissioningError(Exception):
    """The run cannot start (no such device, not allowed, not commandable)."""


@dataclass
class TestResult:
    """One test: passed, failed, or not run (None), with what it measured; ``detail`` says
    so in English and ``detail_es`` in Spanish (the report's language picks one)."""

    name: str
    passed: bool | None
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    duration_s: float = 0.0
    detail_es: str = ""


@dataclass(frozen=True)
class Refusal:
    """Why a test could not go on, in both languages."""

    en: str
    es: str


NO_CONTROL = Refusal(
    "the profile has no control section: nothing to command",
    "el perfil no tiene sección de control: nada que comandar",
)


@dataclass
class CommissioningReport:
    """Everything a commissioning report shows, in the form its JSON takes."""

    site_id: str
    device: str
    endpoint: str
    identity: dict[str, Any]
    profile: dict[str, Any]
    limits: dict[str, Any]
    user: str
    role: str
    started_at: float
    finished_at: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    audit_head_seq: int = 0
    audit_head_hash: str = ""
    software: str = f"bessai-edge {__version__}"

    @property
    def passed(self) -> bool:
        return all(t.passed is not False for t in self.tests) and any(t.passed for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data


def write_report_json(report: dict[str, Any], path: Path) -> None:
    """The report's JSON file (raises OSError); the PDF is drawn from the same dictionary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


class CommissioningRun:
    """The tests of one device, run through its controller as an engineer would."""

    def __init__(
        self,
        gateway: Gateway,
        device: str,
        session: Session,
        *,
        step_kw: float | None = None,
        settle_timeout_s: float = 20.0,
        comms_wait_s: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if device not in gateway.devices:
            raise CommissioningError(
                f"no device named {device!r} (known: {', '.join(gateway.devices)})"
            )
        if not session.may(Permission.ENGINEER):
            raise CommissioningError(f"{session.user} is not an engineer: commissioning needs one")
        self.gateway = gateway
        self.name = device
        self.session = session
        self.device = gateway.devices[device]
        self.controller: Controller | None = gateway.controllers.get(device)
        self.settle_timeout_s = settle_timeout_s
        self.comms_wait_s = comms_wait_s
        self.clock = clock
        self.step_kw = step_kw
        self.latest: Sample | None = None
        self.progress: Callable[[str, str], None] = lambda test, text: None
        self._disconnected = asyncio.Event()
        self._connected = asyncio.Event()
        self._unsubscribe = [
            gateway.bus.subscribe(SampleTaken, self._on_sample),
            gateway.bus.subscribe(DeviceDisconnected, self._on_down),
            gateway.bus.subscribe(DeviceConnected, self._on_up),
        ]
        profile = self.device.profile
        limits = (
            self.controller.guard.limits
            if self.controller is not None
            else gateway.device_limits.get(device)
        )
        self.report = CommissioningReport(
            site_id=gateway.site_id,
            device=device,
            endpoint=str(self.device.endpoint),
            identity={},
            profile={
                "id": profile.id,
                "manufacturer": profile.manufacturer,
                "model": profile.model,
                "source": profile.source,
                "sources": list(profile.sources),
                "registers": len(profile.registers),
                "unverified": sum(1 for r in profile.registers if not r.verified),
            },
            limits={} if limits is None else limits.model_dump(),
            user=session.user,
            role=session.role.name.lower(),
            started_at=clock(),
        )

    def _on_sample(self, event: SampleTaken) -> None:
        if event.sample.device == self.name:
            self.latest = event.sample

    def _on_down(self, event: DeviceDisconnected) -> None:
        if event.device == self.name:
            self._disconnected.set()

    def _on_up(self, event: DeviceConnected) -> None:
        if event.device == self.name:
            self._connected.set()

    def close(self) -> None:
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe = []

    async def _fresh_sample(self, after: float, timeout_s: float) -> Sample | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.latest is not None and self.latest.ts > after:
                return self.latest
            await asyncio.sleep(0.05)
        return None

    async def _power_where(
        self, test: Callable[[Sample], bool], timeout_s: float
    ) -> tuple[float | None, Sample | None]:
        """Seconds until a fresh sample passes ``test`` (None if none did in time)."""
        start_wall, start = self.clock(), time.monotonic()
        while time.monotonic() - start < timeout_s:
            sample = self.latest
            if sample is not None and sample.ts > start_wall and test(sample):
                return sample.ts - start_wall, sample
            await asyncio.sleep(0.05)
        return None, self.latest

    async def _standby(self) -> None:
        """Zero power and Standby, whatever happened before."""
        controller = self.controller
        if controller is None:
            return
        controller.heartbeat_paused = False
        if controller.mode is not ControlMode.STANDBY:
            await controller.set_mode(self.session, ControlMode.STANDBY)
        await controller.tick()

    def _record(self, result: TestResult) -> None:
        self.gateway.books.record(
            self.session.user,
            "commissioning_test",
            "pass" if result.passed else "not run" if result.passed is None else "fail",
            device=self.name,
            test=result.name,
            detail=result.detail,
            figures=result.figures,
        )

    async def run(self, tests: tuple[str, ...] = HEADLESS_TESTS) -> CommissioningReport:
        """Run the named tests in order; the battery is in Standby at the end of each."""
        self.gateway.books.record(
            self.session.user, "commissioning_start", "ok", device=self.name, tests=list(tests)
        )
        try:
            for name in tests:
                self.progress(name, "running")
                started, t0 = self.clock(), time.monotonic()
                try:
                    result = await getattr(self, f"test_{name}")()
                except Exception as exc:  # a test that breaks fails; the rest still run
                    said = f"{type(exc).__name__}: {exc}"
                    result = TestResult(name, False, said, detail_es=said)
                finally:
                    await self._standby()
                result.started_at = started
                result.duration_s = round(time.monotonic() - t0, 3)
                self.report.tests.append(result)
                self._record(result)
                self.progress(name, "pass" if result.passed else "fail")
        finally:
            await self._standby()
            self.close()
        self.report.finished_at = self.clock()
        self.gateway.books.record(
            self.session.user,
            "commissioning_end",
            "pass" if self.report.passed else "fail",
            device=self.name,
            results={t.name: t.passed for t in self.report.tests},
        )
        await self.gateway.books.settled()
        seq, digest = await asyncio.to_thread(self.gateway.audit.head)
        self.report.audit_head_seq, self.report.audit_head_hash = seq, digest
        return self.report

    async def test_identity(self) -> TestResult:
        sample = await self._fresh_sample(self.clock(), self.settle_timeout_s)
        if sample is None:
            return TestResult(
                "identity", False, "no answer from the device", detail_es="el equipo no responde"
            )
        profile = self.device.profile
        identity: dict[str, Any] = {
            "unit_id": self.device.unit_id,
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
        self.report.identity = identity
        strings = [k for k in identity if k not in ("unit_id", "manufacturer", "model")]
        read = ", ".join(f"{k}={identity[k]}" for k in strings)
        return TestResult(
            "identity",
            True,
            read or "the profile maps no identity text",
            dict(identity),
            detail_es=read or "el perfil no define textos de identidad",
        )

    async def test_poll(self) -> TestResult:
        sample = await self._fresh_sample(self.clock(), self.settle_timeout_s)
        if sample is None:
            return TestResult(
                "poll",
                False,
                "no sample within the timeout",
                detail_es="ninguna lectura dentro del plazo",
            )
        limits = self.report.limits
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

    def _step_size_kw(self) -> float:
        controller = self.controller
        assert controller is not None
        if self.step_kw is not None:
            return abs(self.step_kw)
        span = min(abs(controller.guard.device_min_kw), abs(controller.guard.device_max_kw))
        limits = controller.guard.limits
        span = min(span, limits.max_charge_kw, limits.max_discharge_kw)
        return round(max(0.5, min(5.0, 0.05 * span)), 1)

    async def _enter_manual(self) -> Refusal | None:
        controller = self.controller
        if controller is None or not controller.can_control:
            return NO_CONTROL
        result = await controller.set_mode(self.session, ControlMode.MANUAL)
        if result.ok:
            return None
        return Refusal(
            f"manual mode refused: {result.message_en}",
            f"modo manual rechazado: {result.message_es}",
        )

    async def _step(self, target_kw: float) -> dict[str, Any]:
        controller = self.controller
        assert controller is not None
        tolerance = max(0.3, 0.1 * abs(target_kw))
        result = await controller.command_setpoint(self.session, target_kw)
        if not result.ok:
            return {
                "setpoint_kw": target_kw,
                "refused": result.message_en,
                "refused_es": result.message_es,
            }
        await controller.tick()

        def reached(sample: Sample) -> bool:
            power = sample.roles.get("active_power_kw")
            return power is not None and abs(power - target_kw) <= tolerance

        response_s, sample = await self._power_where(reached, self.settle_timeout_s)
        power = None if sample is None else sample.roles.get("active_power_kw")
        return {
            "setpoint_kw": target_kw,
            "read_back_kw": controller.applied_kw,
            "measured_kw": None if power is None else round(power, 3),
            "response_s": None if response_s is None else round(response_s, 3),
            "sign_ok": power is not None and _sign(power) == _sign(target_kw)
            if target_kw
            else True,
        }

    async def test_step(self) -> TestResult:
        refused = await self._enter_manual()
        if refused is not None:
            not_run = refused is NO_CONTROL
            return TestResult("step", None if not_run else False, refused.en, detail_es=refused.es)
        step = self._step_size_kw()
        steps = [await self._step(kw) for kw in (step, 0.0, -step, 0.0)]
        problems: list[Refusal] = []
        for s in steps:
            kw = f"{s['setpoint_kw']:+g} kW"
            if "refused" in s:
                problems.append(
                    Refusal(f"{kw} refused: {s['refused']}", f"{kw} rechazada: {s['refused_es']}")
                )
            elif s["response_s"] is None:
                wait = f"{self.settle_timeout_s:g} s"
                problems.append(
                    Refusal(
                        f"{kw} not reached within {wait} (measured {s['measured_kw']})",
                        f"{kw} no alcanzada en {wait} (medido {s['measured_kw']})",
                    )
                )
            elif not s["sign_ok"]:
                problems.append(
                    Refusal(
                        f"{kw} measured as {s['measured_kw']}: sign inverted",
                        f"{kw} medida como {s['measured_kw']}: signo invertido",
                    )
                )
            elif (
                s["read_back_kw"] is None
                or abs(s["read_back_kw"] - s["setpoint_kw"]) > 0.05 * step + 0.01
            ):
                problems.append(
                    Refusal(
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
            en, es = "; ".join(p.en for p in problems), "; ".join(p.es for p in problems)
        else:
            en = f"±{step:g} kW read back and reached, slowest in {max(times):.2f} s"
            es = f"±{step:g} kW releídos y alcanzados, el más lento en {max(times):.2f} s"
        return TestResult("step", not problems, en, figures, detail_es=es)

    def _watchdog_timeout_s(self) -> float | None:
        profile = self.device.profile
        if (
            profile.connection.watchdog_timeout_s is not None
            and self.controller
            and self.controller.watchdog_reg
        ):
            return profile.connection.watchdog_timeout_s
        control = profile.effective_control
        return None if control is None else control.timeout_s

    async def test_watchdog(self) -> TestResult:
        controller = self.controller
        timeout_s = self._watchdog_timeout_s()
        if controller is None or timeout_s is None:
            return TestResult(
                "watchdog",
                None,
                "the profile declares no watchdog or setpoint timeout",
                detail_es="el perfil no declara watchdog ni plazo de consigna",
            )
        refused = await self._enter_manual()
        if refused is not None:
            return TestResult("watchdog", False, refused.en, detail_es=refused.es)
        step = self._step_size_kw()
        running = await self._step(step)
        if running.get("response_s") is None:
            return TestResult(
                "watchdog",
                False,
                f"could not start at {step:g} kW",
                {"start": running},
                detail_es=f"no pudo arrancar a {step:g} kW",
            )
        controller.heartbeat_paused = True
        floor = max(0.3, 0.1 * step)

        def fell(sample: Sample) -> bool:
            power = sample.roles.get("active_power_kw")
            state = self._state_name(sample) or ""
            return "watchdog" in state or (power is not None and abs(power) <= floor)

        margin_s = 2 * self.device_interval_s() + 2.0
        fall_s, sample = await self._power_where(fell, timeout_s + margin_s + 5.0)
        controller.heartbeat_paused = False
        figures = {
            "timeout_s": timeout_s,
            "margin_s": margin_s,
            "fall_s": None if fall_s is None else round(fall_s, 3),
            "state": None if sample is None else self._state_name(sample),
            "power_kw": None if sample is None else sample.roles.get("active_power_kw"),
            "from_kw": step,
        }
        if fall_s is None:
            waited = f"{timeout_s + margin_s + 5:g} s"
            return TestResult(
                "watchdog",
                False,
                f"still running {waited} after the heartbeat stopped",
                figures,
                detail_es=f"sigue en marcha {waited} después de detener el latido",
            )
        passed = fall_s <= timeout_s + margin_s
        return TestResult(
            "watchdog",
            passed,
            f"fell to standby {fall_s:.1f} s after the heartbeat stopped (timeout {timeout_s:g} s)",
            figures,
            detail_es=(
                f"pasó a espera {fall_s:.1f} s después de detener el latido (plazo {timeout_s:g} s)"
            ),
        )

    def _state_name(self, sample: Sample) -> str | None:
        """The device's operating state in its own words (the state register's enum)."""
        reg = self.device.profile.by_role(Role.DEVICE_STATE)
        value = sample.roles.get("device_state")
        if reg is None or value is None:
            return None
        return (reg.enum or {}).get(str(int(value)), str(int(value)))

    def device_interval_s(self) -> float:
        poller = self.gateway.pollers.get(self.name)
        return poller.status.interval_s if poller is not None else 1.0

    async def test_interlock(self) -> TestResult:
        controller = self.controller
        if controller is None or not controller.can_control:
            return TestResult("interlock", None, NO_CONTROL.en, detail_es=NO_CONTROL.es)
        changes, tripped_on, tripped_on_es = self._tightened(controller)
        if not changes:
            return TestResult(
                "interlock",
                False,
                "no battery temperature or pack voltage to trip on",
                detail_es="sin temperatura de batería ni tensión de pack con que disparar",
            )
        refused = await self._enter_manual()
        if refused is not None:
            return TestResult("interlock", False, refused.en, detail_es=refused.es)
        step = self._step_size_kw()
        running = await self._step(step)
        old = controller.guard.limits
        t0 = time.monotonic()
        result = await controller.set_limits(self.session, **changes)
        if not result.ok:
            return TestResult(
                "interlock",
                False,
                f"tightened limit refused: {result.message_en}",
                detail_es=f"límite ajustado rechazado: {result.message_es}",
            )
        trip_s: float | None = None
        try:
            while time.monotonic() - t0 < self.settle_timeout_s:
                await controller.tick()
                reasons = {i.reason for i in controller.current_interlocks(self.clock())}
                if (
                    Reason.INTERLOCK_TRIP in reasons
                    and controller.applied_kw == 0.0
                    and controller.mode is ControlMode.STANDBY
                ):
                    trip_s = time.monotonic() - t0
                    break
                await asyncio.sleep(0.05)
            floor = max(0.3, 0.1 * step)

            def idle(sample: Sample) -> bool:
                power = sample.roles.get("active_power_kw")
                return power is not None and abs(power) <= floor

            power_zero_s: float | None = None
            if trip_s is not None:
                power_zero_s, _ = await self._power_where(idle, self.settle_timeout_s)
        finally:
            restore = {k: getattr(old, k) for k in changes}
            back = await controller.set_limits(self.session, **restore)
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
            return TestResult(
                "interlock",
                False,
                "no trip seen after the limit was tightened",
                figures,
                detail_es="ningún disparo tras ajustar el límite",
            )
        at_zero = figures["device_at_zero_s"]
        if back.ok:
            en = (
                f"trip on {tripped_on} seen, zero written in {trip_s:.2f} s, the device at zero "
                f"{at_zero} s after the change; limits restored"
            )
            es = (
                f"disparo por {tripped_on_es} visto, cero escrito en {trip_s:.2f} s, el equipo "
                f"en cero {at_zero} s después del cambio; límites restablecidos"
            )
        else:
            en = "trip seen, but the limits could not be restored"
            es = "disparo visto, pero los límites no se pudieron restablecer"
        return TestResult("interlock", back.ok, en, figures, detail_es=es)

    @staticmethod
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
            changes["temp_cold_trip_c"] = min(
                old.temp_cold_trip_c, changes["temp_charge_min_c"] - 1.0
            )
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

    async def test_comms_loss(self) -> TestResult:
        """Waits for the link to drop (the cable pulled, the simulator stopped), then for it
        to come back, and checks that nothing resumed by itself."""
        controller = self.controller
        self._disconnected.clear()
        self._connected.clear()
        last_good = self.latest.ts if self.latest else self.clock()
        self.progress("comms_loss", "waiting for the link to drop")
        try:
            async with asyncio.timeout(self.comms_wait_s):
                await self._disconnected.wait()
        except TimeoutError:
            return TestResult(
                "comms_loss",
                None,
                f"the link did not drop within {self.comms_wait_s:g} s",
                detail_es=f"el enlace no se cortó en {self.comms_wait_s:g} s",
            )
        detected = self.clock()
        last_good = self.latest.ts if self.latest else last_good
        mode_during = controller.mode.value if controller else None
        self.progress("comms_loss", "link down; waiting for it to come back")
        back_s: float | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.comms_wait_s):
                await self._connected.wait()
                back_s = self.clock() - detected
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
