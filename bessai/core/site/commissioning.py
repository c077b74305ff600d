"""The commissioning run: prove one device against the running gateway, test by test.

Each test leaves the battery in Standby at zero power, whatever it found;
the figures of the report are what the run measured (response times, the
watchdog's fall time), each test and the run are written to the audit trail,
and the report ends with the audit chain's head so that it can be checked
against ``bessai audit verify`` later. The samples during the commanding tests are kept
as the series their plots are drawn from. A device with unverified power registers is put
in Manual on the engineer's confirmation (starting the run is it); a run that passes with
its step test records those registers as verified by its report (control/verification.py),
so that Auto and remote control take the device from then on. The tests are in commissioning_tests.py
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
from bessai.core.control.verification import unverified_power
from bessai.core.runtime.events import DeviceConnected, DeviceDisconnected, Sample, SampleTaken
from bessai.core.site.commissioning_report import (
    NO_CONTROL,
    CommissioningReport,
    Finding,
    TestResult,
    found,
    verdict,
)
from bessai.core.site.commissioning_tests import CHECKS
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Permission, Session

TESTS = tuple(CHECKS)  # identity, poll, step, watchdog, interlock, comms_loss
HEADLESS_TESTS = TESTS[:-1]  # the comms-loss test needs someone to pull the cable
PLOTTED = ("step", "watchdog", "interlock")  # the tests whose samples the report plots


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
        self._series: dict[str, list[float | None]] | None = None
        self._events: dict[str, float] = {}
        self._t0 = 0.0
        self.watch_role: str | None = None  # a quantity the series keeps beside the power
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
                "unverified_registers": [r.name for r in profile.registers if not r.verified],
                "unverified_power": list(unverified_power(profile)),
            },
            limits={} if limits is None else limits.model_dump(),
            user=session.user,
            role=session.role.name.lower(),
            started_at=clock(),
            id=f"commissioning-{device}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(clock()))}",
        )

    def _on_sample(self, event: SampleTaken) -> None:
        if event.sample.device == self.name:
            self.latest = event.sample
            if self._series is not None:
                roles = event.sample.roles
                self._point(event.sample.ts, roles.get("active_power_kw"), roles)

    def _point(
        self, ts: float, measured_kw: float | None, roles: dict[str, float | None] | None = None
    ) -> None:
        """One row of the series: time from the test's start, the setpoint written, the
        measured power (None between samples) and the watched quantity."""
        series = self._series
        if series is None:
            return
        applied = self.controller.applied_kw if self.controller is not None else None
        series["t_s"].append(round(ts - self._t0, 3))
        series["setpoint_kw"].append(applied)
        series["measured_kw"].append(None if measured_kw is None else round(measured_kw, 3))
        if self.watch_role is not None:
            value = None if roles is None else roles.get(self.watch_role)
            column = series.setdefault(self.watch_role, [])
            column += [None] * (len(series["t_s"]) - 1 - len(column)) + [value]

    def mark(self, event: str) -> None:
        """A moment of the running test (the heartbeat stopped, the limit tightened), on its plot."""
        self._events[event] = round(self.clock() - self._t0, 3)

    def note_setpoint(self) -> None:
        """The setpoint just written, as a row of its own (the step's edge, between samples)."""
        self._point(self.clock(), None)

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
            findings=[f.code for f in result.findings],
            figures=result.figures,
        )

    async def _verify(self) -> None:
        """A run that passed with its step test: the power registers it measured are verified
        by this report, in the site's record and in the profile the device is commanded with."""
        doubt = self.report.profile["unverified_power"]
        step = next((t for t in self.report.tests if t.name == "step"), None)
        if not doubt or step is None or not step.passed or not self.report.passed:
            return
        try:
            view = await asyncio.to_thread(
                self.gateway.verification.confirm,
                self.name,
                self.device.profile,
                doubt,
                self.report.id,
                self.session.user,
            )
        except (OSError, KeyError) as exc:
            self.report.verification_error = f"{type(exc).__name__}: {exc}"
            return
        self.device.profile = view
        self.gateway.profiles[self.name] = view
        self.report.verified = list(doubt)
        self.gateway.books.record(
            self.session.user,
            "commissioning_verified",
            "ok",
            device=self.name,
            registers=list(doubt),
            report=self.report.id,
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
                self._t0, self._events, self.watch_role = started, {}, None
                self._series = (
                    {"t_s": [], "setpoint_kw": [], "measured_kw": []} if name in PLOTTED else None
                )
                try:
                    result = await CHECKS[name](self)
                except Exception as exc:  # a test that breaks fails; the rest still run
                    said = f"{type(exc).__name__}: {exc}"
                    result = verdict(name, False, found("test_broke", error=said))
                finally:
                    await self._standby()
                if self._series is not None:
                    result.series, result.events = self._series, dict(self._events)
                self._series = None
                result.started_at = started
                result.duration_s = round(time.monotonic() - t0, 3)
                self.report.tests.append(result)
                self._record(result)
                self.progress(name, "pass" if result.passed else "fail")
        finally:
            await self._standby()
            self.close()
        self.report.finished_at = self.clock()
        await self._verify()
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

    async def _enter_manual(self) -> Finding | None:
        """Manual, confirmed by the engineer who runs the tests (unverified power registers
        are what the run measures; the mode's audit row names them)."""
        controller = self.controller
        if controller is None or not controller.can_control:
            return NO_CONTROL
        result = await controller.set_mode(
            self.session, ControlMode.MANUAL, confirm_unverified=True
        )
        if result.ok:
            return None
        return found("manual_refused", why=result.message_en, reason=result.reason.value)

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
            return {"setpoint_kw": target_kw, "refused": result.message_en}
        await controller.tick()
        self.note_setpoint()

        def reached(sample: Sample) -> bool:
            power = sample.roles.get("active_power_kw")
            return power is not None and abs(power - target_kw) <= tolerance

        response_s, sample = await self.power_where(reached, self.settle_timeout_s)
        power = None if sample is None else sample.roles.get("active_power_kw")
        return {
            "setpoint_kw": target_kw,
            "tolerance_kw": tolerance,
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
