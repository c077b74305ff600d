"""The commissioning run: prove one device against the running gateway, test by test.

Each test leaves the battery in Standby at zero power, whatever it found;
the figures of the report are what the run measured (response times, the
watchdog's fall time), each test and the run are written to the audit trail,
and the report ends with the audit chain's head so that it can be checked
against ``bessai audit verify`` later. The tests are in commissioning_tests.py
and the report's parts in commissioning_report.py; what the commanding tests
share (Manual, the step size, a step commanded and watched, the samples) is here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bessai.core.control.controller import Controller
from bessai.core.control.events import ControlMode
from bessai.core.runtime.events import DeviceConnected, DeviceDisconnected, Sample, SampleTaken
from bessai.core.site.commissioning_report import (
    NO_CONTROL,
    CommissioningReport,
    TestResult,
    Words,
    verdict,
)
from bessai.core.site.commissioning_tests import CHECKS
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Permission, Session

TESTS = tuple(CHECKS)  # identity, poll, step, watchdog, interlock, comms_loss
HEADLESS_TESTS = TESTS[:-1]  # the comms-loss test needs someone to pull the cable


class CommissioningError(Exception):
    """The run cannot start (no such device, not allowed, not commandable)."""


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
        self.disconnected = asyncio.Event()
        self.connected = asyncio.Event()
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
            self.disconnected.set()

    def _on_up(self, event: DeviceConnected) -> None:
        if event.device == self.name:
            self.connected.set()

    def close(self) -> None:
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe = []

    async def fresh_sample(self, after: float, timeout_s: float) -> Sample | None:
        """The device's first sample taken after ``after`` (wall clock), None after the wait."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.latest is not None and self.latest.ts > after:
                return self.latest
            await asyncio.sleep(0.05)
        return None

    async def power_where(
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
                    result = await CHECKS[name](self)
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

    def step_size_kw(self) -> float:
        """``step_kw`` if given, else 5 % of the smaller of the device's and limits' spans."""
        controller = self.controller
        assert controller is not None
        if self.step_kw is not None:
            return abs(self.step_kw)
        span = min(abs(controller.guard.device_min_kw), abs(controller.guard.device_max_kw))
        limits = controller.guard.limits
        span = min(span, limits.max_charge_kw, limits.max_discharge_kw)
        return round(max(0.5, min(5.0, 0.05 * span)), 1)

    async def _enter_manual(self) -> Words | None:
        controller = self.controller
        if controller is None or not controller.can_control:
            return NO_CONTROL
        result = await controller.set_mode(self.session, ControlMode.MANUAL)
        if result.ok:
            return None
        return Words(
            f"manual mode refused: {result.message_en}",
            f"modo manual rechazado: {result.message_en}",
        )

    async def in_manual(
        self, name: str, *, start: bool, without_control: bool | None = None
    ) -> tuple[Controller, float, dict[str, Any]] | TestResult:
        """The commanding tests' common start: Manual, the step size and, with ``start``, the
        battery running at +step (that step's record); or the result that says why not
        (``without_control`` is the verdict when there is nothing to command)."""
        refused = await self._enter_manual()
        if refused is not None:
            return verdict(name, without_control if refused is NO_CONTROL else False, refused)
        assert self.controller is not None
        step = self.step_size_kw()
        return self.controller, step, (await self.step_to(step)) if start else {}

    @staticmethod
    def near_zero(step_kw: float) -> Callable[[Sample], bool]:
        """A sample whose measured power is within the noise of zero after a ``step_kw`` run."""
        floor = max(0.3, 0.1 * step_kw)

        def idle(sample: Sample) -> bool:
            power = sample.roles.get("active_power_kw")
            return power is not None and abs(power) <= floor

        return idle

    async def step_to(self, target_kw: float) -> dict[str, Any]:
        """Command ``target_kw`` and watch for it: read back, measured, response time, sign."""
        controller = self.controller
        assert controller is not None
        tolerance = max(0.3, 0.1 * abs(target_kw))
        result = await controller.command_setpoint(self.session, target_kw)
        if not result.ok:
            return {
                "setpoint_kw": target_kw,
                "refused": result.message_en,
                "refused_es": result.message_en,
            }
        await controller.tick()

        def reached(sample: Sample) -> bool:
            power = sample.roles.get("active_power_kw")
            return power is not None and abs(power - target_kw) <= tolerance

        response_s, sample = await self.power_where(reached, self.settle_timeout_s)
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

    def device_interval_s(self) -> float:
        poller = self.gateway.pollers.get(self.name)
        return poller.status.interval_s if poller is not None else 1.0
