"""The Controller: control modes, the manual lease, E-stop, the watchdog, and the one door to the device.

Nothing writes a setpoint except ``Controller._apply``, and only the value the
SafetyGuard returned. Modes are Standby (setpoint 0), Manual (an operator's
setpoint, held for a lease) and Auto (the dispatcher proposes). Any
interlock drops the mode to Standby, so that when it clears nothing resumes
by itself: an operator commands again, or re-arms Auto. Every command and its
outcome goes to the audit trail.

Over 500 lines on purpose: the control loop, the lease and the one door to the device are one state machine under one lock; its commands live in ``commands.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from opentelemetry import trace

from bessai.core.alarms.catalogue import DEVICE_ALARMS
from bessai.core.alarms.manager import AlarmManager
from bessai.core.control.battery import FIRST_POLL, BatteryInputs
from bessai.core.control.books import Books
from bessai.core.control.commands import ControlPort, OperatorCommands
from bessai.core.control.events import (
    COMMAND_BOOKS_WAIT_S,
    SYSTEM_USER,
    CommandRefused,
    ControlMode,
    ControlState,
    ControlStateChanged,
    DispatchProposed,
    SetpointApplied,
    SetpointRequested,
)
from bessai.core.control.latch import EstopLatchStore
from bessai.core.control.verification import unverified_power
from bessai.core.dispatch import (
    Dispatcher,
    DispatchInputs,
    PriceCurve,
    Proposal,
    RuleDispatcher,
)
from bessai.core.guard.safety import (
    Interlock,
    Preview,
    Reason,
    SafetyGuard,
    SafetyLimits,
    Telemetry,
    Verdict,
    Window,
    describe,
)
from bessai.core.guard.validity import MeasurementValidator
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import DeviceDisconnected, Sample, SampleTaken
from bessai.core.stores.audit import AuditTrail
from bessai.drivers.command import PowerCommand
from bessai.drivers.device import DeviceError, ModbusDevice
from bessai.drivers.profile import Profile, Role

log = logging.getLogger(__name__)


def _control_registers(profile: Profile) -> list[str]:
    """Registers only the controller writes: the control section's and the setpoint role's."""
    control = profile.effective_control
    return [] if control is None else control.register_names()


def toward_zero(value_kw: float, step: float) -> float:
    """The value on the register's resolution, rounded toward zero: a limit is never
    exceeded by the rounding of the encoding (62.1327 kW on a 1 W register is 62.132)."""
    steps = round(value_kw / step)
    if abs(steps * step) > abs(value_kw) + 1e-9:
        steps -= 1 if steps > 0 else -1
    return float(steps * step)


def telemetry_from(
    sample_roles: dict[str, float | None],
    ts: float,
    comms_up: bool,
    fault: str | None,
    unknown: tuple[tuple[str, str], ...] = (),
) -> Telemetry:
    return Telemetry(
        unknown=unknown,
        ts=ts,
        soc_pct=sample_roles.get("soc_pct"),
        active_power_kw=sample_roles.get("active_power_kw"),
        battery_temp_c=sample_roles.get("battery_temp_c"),
        pack_voltage_v=sample_roles.get("pack_voltage_v"),
        pack_current_a=sample_roles.get("pack_current_a"),
        device_fault=fault,
        comms_up=comms_up,
    )


@dataclass
class Controller(OperatorCommands):
    """Commands one battery through the SafetyGuard; the only writer of its setpoint."""

    device: ModbusDevice
    bus: EventBus
    audit: AuditTrail
    alarms: AlarmManager
    guard: SafetyGuard = field(default_factory=SafetyGuard)
    dispatcher: Dispatcher | None = None
    shadow_dispatcher: Dispatcher | None = None
    prices: PriceCurve = field(default_factory=PriceCurve)
    lease_s: float = 8 * 3600.0
    control_interval_s: float = 0.5
    heartbeat_interval_s: float = 2.0
    clock: Callable[[], float] = time.time
    # Every duration (lease, staleness, ramp, heartbeat) runs on this clock, never on the wall:
    # a wall clock stepped by NTP changes the records' time stamps and nothing else.
    monotonic: Callable[[], float] = time.monotonic
    intrusion_score: Callable[[], float | None] = lambda: None
    tracer: trace.Tracer = field(default_factory=lambda: trace.get_tracer("bessai.control"))
    books: Books | None = None
    latch_store: EstopLatchStore | None = None
    # On a plant: the inverter's batteries across the link (its BMS), None for a battery
    # that measures itself.
    battery: Callable[[float], BatteryInputs] | None = None

    def __post_init__(self) -> None:
        profile = self.device.profile
        control = profile.effective_control
        self.command = (
            PowerCommand(self.device, control, clock=self.clock) if control is not None else None
        )
        self.control_regs = _control_registers(profile)
        self.run_mode_reg = profile.by_role(Role.RUN_MODE)
        self.watchdog_reg = profile.by_role(Role.WATCHDOG)
        # Reactive power, where the profile maps its setpoint: the register's range is taken
        # as the apparent-power rating S (P² + Q² <= S², active power first).
        self.q_reg = profile.by_role(Role.SETPOINT_REACTIVE_POWER_KVAR)
        self.manual_kvar = 0.0
        self.applied_kvar: float | None = None
        self.alarm_reg = profile.by_role(Role.ALARM_WORD)
        if self.command is not None:
            self.guard.device_min_kw = self.command.min_kw
            self.guard.device_max_kw = self.command.max_kw
        if self.dispatcher is None:
            self.dispatcher = RuleDispatcher()
        if self.books is None:
            self.books = Books(self.audit, self.alarms, clock=self.clock)
        self._books: Books = self.books
        self.validator = MeasurementValidator(
            profile,
            self.guard.limits,
            device_max_kw=max(abs(self.guard.device_min_kw), abs(self.guard.device_max_kw))
            if self.command is not None
            else 0.0,
        )
        for definition in DEVICE_ALARMS:
            self.alarms.define(definition)
        self.mode = ControlMode.STANDBY
        self.manual_kw = 0.0
        self._lease_deadline: float | None = None  # on the monotonic clock
        self._applied_mono: float | None = None
        self.estop_latched = False
        self.estop_since: float | None = None  # when and by whom, kept across restarts
        self.estop_by: str | None = None
        self._deferred: list[tuple[float, str, str, str, dict[str, Any]]] = []
        self._wake = asyncio.Event()
        self._heartbeat_failures = 0
        self._write_failure: str | None = None
        if self.latch_store is not None:
            restored = self.latch_store.load(self.device.name)
            if restored.latched:
                # Before the first write of this run: a latched E-stop survives restarts.
                self.estop_latched = True
                self.estop_since, self.estop_by = restored.at, restored.by
                self.alarms.update(
                    "estop", True, restored.detail, source=self.device.name, since=restored.at
                )
                log.warning(
                    "E-stop restored latched",
                    extra={"device": self.device.name, "detail": restored.detail},
                )
            else:
                # The latch is the E-stop's truth: an alarm restored from the log clears.
                self.alarms.update("estop", False, source=self.device.name)
        self.maintenance = False
        self.applied_kw: float | None = None
        self.applied_at: float | None = None
        self.heartbeat = 0
        self.heartbeat_at: float | None = None
        # The commissioning watchdog test: no heartbeat and no setpoint refresh, so that the
        # device must fall back by itself; a zero still goes out.
        self.heartbeat_paused = False
        self.telemetry = Telemetry()
        self.last_verdict: Verdict | None = None
        self.proposal: Proposal | None = None
        self.shadow_proposal: Proposal | None = None
        self._measured: dict[str, tuple[float, float]] = {}
        self._last_state: ControlState | None = None
        self._lock = asyncio.Lock()
        self._unsubscribe = [
            self.bus.subscribe(SampleTaken, self._on_sample),
            self.bus.subscribe(DeviceDisconnected, self._on_disconnect),
        ]
        self.stopping = False
        # Set by the grid operator's link while it holds authority (Remote): the local
        # operator's mode and setpoint commands are refused; the E-stop always works.
        self.remote_authority: str | None = None

    @property
    def can_control(self) -> bool:
        return self.command is not None

    @property
    def unverified_power(self) -> tuple[str, ...]:
        """The power registers neither the profile nor a commissioning run has verified."""
        return unverified_power(self.device.profile)

    @property
    def lease_expires_at(self) -> float | None:
        """When the Manual lease ends, as a wall time (for the screen and the records); it runs
        on the monotonic clock, so a step of the wall clock neither ends nor lengthens it."""
        if self._lease_deadline is None:
            return None
        return self.clock() + (self._lease_deadline - self.monotonic())

    @lease_expires_at.setter
    def lease_expires_at(self, wall: float | None) -> None:
        self._lease_deadline = None if wall is None else self.monotonic() + (wall - self.clock())

    def _alarm(self, code: str, value: float | bool, detail: str = "") -> None:
        """This device's instance of an alarm: no other device raises or clears it."""
        self.alarms.update(code, value, detail, source=self.device.name)

    def _device_fault(self, roles: dict[str, float | None]) -> str | None:
        word = roles.get("alarm_word")
        if not word or self.alarm_reg is None or not self.alarm_reg.bits:
            return None
        names = [name for bit, name in self.alarm_reg.bits.items() if int(word) >> int(bit) & 1]
        trips = [
            n
            for n in names
            if n in ("over_temperature", "over_voltage", "under_voltage", "over_current")
        ]
        return ", ".join(trips) or None

    def dispatch_inputs(self, now: float) -> DispatchInputs:
        """The dispatcher's view: SoC, PV and site load (grid + PV + battery) with their ages."""
        measured = self._measured

        def value(role: str) -> float | None:
            return measured[role][0] if role in measured else None

        def age(role: str) -> float | None:
            return now - measured[role][1] if role in measured else None

        grid, pv, battery = value("grid_power_kw"), value("pv_power_kw"), value("active_power_kw")
        load = None if grid is None or battery is None else grid + (pv or 0.0) + battery
        load_age = max(
            (a for a in (age("grid_power_kw"), age("active_power_kw")) if a is not None),
            default=None,
        )
        hour = self.prices.local_hour(now)
        return DispatchInputs(
            now=now,
            hour_local=hour,
            soc_pct=value("soc_pct"),
            pv_kw=pv,
            load_kw=load,
            price_usd_mwh=self.prices.price_at(hour),
            rated_power_kw=self.guard.limits.max_discharge_kw,
            ages_s={
                "soc_pct": age("soc_pct"),
                "pv_kw": age("pv_power_kw"),
                "load_kw": load_age,
                "grid_frequency_hz": age("grid_frequency_hz"),
            },
            grid_frequency_hz=value("grid_frequency_hz"),
        )

    def _propose(self, now: float, shadow: bool = False) -> Proposal:
        """Ask the (Auto or shadow) dispatcher, time it, and publish it with the guard's verdict."""
        dispatcher = self.shadow_dispatcher if shadow else self.dispatcher
        assert dispatcher is not None
        with self.tracer.start_as_current_span(
            "dispatch", attributes={"device": self.device.name, "dispatch.shadow": shadow}
        ) as span:
            inputs = self.dispatch_inputs(now)
            started = time.perf_counter()
            proposal = dispatcher.propose(inputs)
            elapsed = time.perf_counter() - started
            span.set_attribute("dispatch.source", proposal.source)
            span.set_attribute("dispatch.setpoint_kw", proposal.setpoint_kw)
        guarded = self.guard.evaluate(
            proposal.setpoint_kw, self.telemetry, self.current_interlocks(now)
        )
        if shadow:
            self.shadow_proposal = proposal
        else:
            self.proposal = proposal
            fallback = proposal.fallback
            self._alarm(
                "dispatch_fallback", fallback is not None, fallback.detail if fallback else ""
            )
        self.bus.publish(
            DispatchProposed(
                self.device.name,
                now,
                proposal,
                elapsed,
                shadow,
                guarded,
                self.mode,
                self.telemetry.active_power_kw,
                self.applied_kw,
            )
        )
        return proposal

    def _on_sample(self, event: SampleTaken) -> None:
        sample = event.sample
        if sample.device != self.device.name:
            return
        with self.tracer.start_as_current_span(
            "safety", attributes={"device": self.device.name}
        ) as span:
            self._evaluate_sample(sample)
            interlocks = self.current_interlocks(self.clock())
            span.set_attribute("safety.interlocks", [i.reason.value for i in interlocks])
        self._wake_if_unsafe()
        if self.mode is ControlMode.AUTO:
            self._propose(sample.ts)
        if self.shadow_dispatcher is not None:
            self._propose(sample.ts, shadow=True)

    def _evaluate_sample(self, sample: Sample) -> None:
        for role in (
            "soc_pct",
            "pv_power_kw",
            "grid_power_kw",
            "active_power_kw",
            "grid_frequency_hz",
        ):
            value = sample.roles.get(role)
            if value is not None:
                self._measured[role] = (value, sample.ts)
        unknown = self.validator.check(sample, self.applied_kw)
        # Its age on the monotonic clock: the age it had when it arrived, then counted from there.
        age_s = min(max(0.0, self.clock() - sample.ts), 3600.0)
        self.telemetry = telemetry_from(
            sample.roles,
            self.monotonic() - age_s,
            True,
            self._device_fault(sample.roles),
            tuple((u.quantity, u.why) for u in unknown),
        )
        untrusted = {u.quantity for u in unknown}
        for alarm_id, role in (
            ("battery_temp_high", "battery_temp_c"),
            ("soc_low", "soc_pct"),
            ("soc_high", "soc_pct"),
        ):
            value = sample.roles.get(role)
            if value is not None and role not in untrusted:
                self._alarm(alarm_id, value)
        self._alarm("comms_lost", False)

    def _wake_if_unsafe(self) -> None:
        """Run the control tick now, not at its next period, when power must go to zero."""
        if self.mode is ControlMode.STANDBY and not self.applied_kw:
            return
        if self.current_interlocks(self.clock()):
            self._wake.set()

    def _on_disconnect(self, event: DeviceDisconnected) -> None:
        if event.device != self.device.name:
            return
        self.telemetry = replace(self.telemetry, comms_up=False)
        self._alarm("comms_lost", True, event.reason)
        self._wake_if_unsafe()

    def _from_batteries(self, now: float) -> Interlock | None:
        """On a plant, the guard reads the battery through its BMS: the SoC, temperature, pack
        and the BMS's limits replace what the inverter itself does not measure."""
        if self.battery is None:
            return None
        inputs = self.battery(now)
        t = self.telemetry
        self.telemetry = replace(
            t,
            soc_pct=inputs.soc_min_pct,
            soc_max_pct=inputs.soc_max_pct,
            battery_temp_c=inputs.temp_c if inputs.temp_c is not None else t.battery_temp_c,
            pack_voltage_v=t.pack_voltage_v
            if t.pack_voltage_v is not None
            else inputs.pack_voltage_v,
            pack_current_a=t.pack_current_a
            if t.pack_current_a is not None
            else inputs.pack_current_a,
            battery_charge_kw=inputs.charge_kw,
            battery_discharge_kw=inputs.discharge_kw,
        )
        return inputs.interlock

    def current_interlocks(self, now: float) -> list[Interlock]:
        battery = self._from_batteries(now)
        found = self.guard.interlocks(
            self.telemetry,
            self.monotonic(),  # staleness is a duration: never the wall clock
            estop=self.estop_latched,
            maintenance=self.maintenance,
            intrusion_score=self.intrusion_score(),
        )
        if battery is not None:
            found.append(battery)  # the BMS's doubt is the inverter's interlock
        return found

    def wake(self) -> None:
        """Run the control tick now (a BMS limit fell, or its link went): zero first."""
        if self.mode is not ControlMode.STANDBY or self.applied_kw:
            self._wake.set()

    def follow_share(self, share_kw: float) -> None:
        """The site controller's share for this inverter in Manual: the guard clamps it at
        the next tick; the operator's site command is on the record, not every share."""
        if self.mode is ControlMode.MANUAL:
            self.manual_kw = share_kw

    def state(self, now: float | None = None) -> ControlState:
        now = self.clock() if now is None else now
        interlocks = tuple(self.current_interlocks(now))
        window = self.guard.window(self.telemetry)
        if interlocks:
            # Under an interlock nothing but zero is allowed, whatever the limits would give.
            first = interlocks[0].reason
            window = Window(0.0, 0.0, first, first)
        return ControlState(
            device=self.device.name,
            mode=self.mode,
            target_kw=self._target(now),
            applied_kw=self.applied_kw or 0.0,
            lease_expires_at=self.lease_expires_at if self.mode is ControlMode.MANUAL else None,
            estop_latched=self.estop_latched,
            maintenance=self.maintenance,
            interlocks=interlocks,
            window=window,
            last_verdict=self.last_verdict,
            proposal=self.proposal,
            heartbeat=self.heartbeat,
            reactive_kvar=self.applied_kvar or 0.0,
            shadow_proposal=self.shadow_proposal,
        )

    def _target(self, now: float) -> float:
        if self.mode is ControlMode.MANUAL:
            return self.manual_kw
        if self.mode is ControlMode.AUTO and self.proposal is not None:
            return self.proposal.setpoint_kw
        return 0.0

    def preview(self, setpoint_kw: float) -> Preview:
        """What a setpoint would become now, which limit clamps it, and the time to the SoC limit."""
        now = self.clock()
        verdict = self.guard.evaluate(setpoint_kw, self.telemetry, self.current_interlocks(now))
        return Preview(
            verdict, self.guard.seconds_to_soc_limit(verdict.value_kw, self.telemetry.soc_pct)
        )

    async def run(self) -> None:
        """Tick until stopped (lease, interlocks, dispatch, ramp, write, heartbeat); at once on danger."""
        while not self.stopping:
            try:
                await self.tick()
            except Exception as exc:
                log.error(
                    "control tick failed",
                    extra={"device": self.device.name, "error": f"{type(exc).__name__}: {exc}"},
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.control_interval_s):
                    await self._wake.wait()
            self._wake.clear()

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """The controller's lock; the books queued inside are released when it is let go,
        so that a device write made inside always comes before them."""
        async with self._lock:
            try:
                yield
            finally:
                self.release_books()

    async def tick(self) -> ControlState:
        async with self.locked():
            now = self.clock()
            if (
                self.mode is ControlMode.MANUAL
                and self._lease_deadline is not None
                and self.monotonic() >= self._lease_deadline
            ):
                self._enter_standby(now, Reason.LEASE_EXPIRED, SYSTEM_USER)
            interlocks = self.current_interlocks(now)
            self._update_interlock_alarms(interlocks)
            if interlocks and self.mode is not ControlMode.STANDBY:
                self._enter_standby(
                    now,
                    interlocks[0].reason,
                    SYSTEM_USER,
                    interlocks=[i.reason.value for i in interlocks],
                )
            if self.mode is ControlMode.AUTO:
                self._propose(now)
            else:
                self._alarm("dispatch_fallback", False)
            if self.can_control:
                await self._apply(now, interlocks)
                await self._apply_reactive(interlocks)
            await self._heartbeat(now)
            return self._publish_state(now)

    def _update_interlock_alarms(self, interlocks: list[Interlock]) -> None:
        if self.telemetry.ts is None:
            return  # nothing measured yet in this run: an alarm restored from the log waits
        reasons = {i.reason: i for i in interlocks}
        trip = reasons.get(Reason.INTERLOCK_TRIP)
        self._alarm("safety_trip", trip is not None, trip.message_en if trip else "")
        self._alarm("data_stale", Reason.INTERLOCK_STALE in reasons)
        self._alarm("intrusion_lockout", Reason.INTERLOCK_INTRUSION in reasons)
        unknown = reasons.get(Reason.INTERLOCK_MEASUREMENT)
        self._alarm(
            "measurement_invalid", unknown is not None, unknown.message_en if unknown else ""
        )
        self._alarm(
            "device_alarm", bool(self.telemetry.device_fault), self.telemetry.device_fault or ""
        )
        battery = reasons.get(Reason.INTERLOCK_BATTERY)
        starting = battery is not None and dict(battery.params).get("why") == FIRST_POLL
        self._alarm(
            "battery_interlock",
            battery is not None and not starting,
            battery.message_en if battery else "",
        )

    async def _apply(self, now: float, interlocks: list[Interlock]) -> None:
        target = self._target(now)
        mono = self.monotonic()
        dt = None if self._applied_mono is None else mono - self._applied_mono
        verdict = self.guard.evaluate(
            target, self.telemetry, interlocks, previous_kw=self.applied_kw, dt_s=dt
        )
        self.last_verdict = verdict
        assert self.command is not None
        if self.heartbeat_paused and verdict.value_kw != 0.0:
            return
        if (
            self.applied_kw is not None
            and toward_zero(verdict.value_kw, self.command.step_kw) == self.applied_kw
            and not self.command.refresh_due(self.command.clock())
        ):
            self.applied_at, self._applied_mono = now, mono
            return
        await self._write_setpoint(now, verdict)

    async def _write_setpoint(self, now: float, verdict: Verdict) -> None:
        """The one door: write the guard's value, read it back, or fall back to Standby loudly."""
        assert self.command is not None
        value_kw = toward_zero(verdict.value_kw, self.command.step_kw)
        self.bus.publish(SetpointRequested(self.device.name, value_kw))
        try:
            back = await self.command.apply(value_kw)
        except DeviceError as exc:
            self._alarm("write_failed", True, str(exc))
            if str(exc) != self._write_failure:
                # On the record once per kind of failure: a device that stays away is
                # retried every tick, and the audit trail must not grow twice a second.
                self.record(
                    SYSTEM_USER, "setpoint_write", "failed", value_kw=value_kw, error=str(exc)
                )
                self._write_failure = str(exc)
            if self.mode is not ControlMode.STANDBY:
                self._enter_standby(now, Reason.WRITE_FAILED, SYSTEM_USER, error=str(exc))
            self.applied_kw = None  # unknown: the next tick writes again
            if verdict.value_kw != 0.0:
                # Whatever the device took of it, zero goes out at once, before the books.
                await self._write_setpoint(now, self.guard.evaluate(0.0, self.telemetry, []))
            return
        self._alarm("write_failed", False)
        self._write_failure = None
        self.applied_kw = back
        self.applied_at, self._applied_mono = now, self.monotonic()
        self.bus.publish(SetpointApplied(self.device.name, now, self.applied_kw, verdict))
        if value_kw == 0.0 and self.mode is ControlMode.STANDBY and self.command.entered:
            await self._leave_remote_control()

    async def _leave_remote_control(self) -> None:
        """After the zero write: hand the battery back to the device (what the profile says)."""
        assert self.command is not None
        try:
            await self.command.leave()
        except DeviceError as exc:
            log.warning(
                "leaving remote control failed",
                extra={"device": self.device.name, "error": str(exc)},
            )
            self.record(SYSTEM_USER, "remote_control_leave", "failed", error=str(exc))
        else:
            self.record(SYSTEM_USER, "remote_control_leave", "ok")

    def reactive_limit_kvar(self) -> float | None:
        """The most reactive power allowed now: what the rating S leaves beside |P|; None
        for a device without a reactive-power setpoint."""
        reg = self.q_reg
        if reg is None:
            return None
        s_kva = max(abs(reg.max or 0.0), abs(reg.min or 0.0))
        p_kw = abs(self.applied_kw or 0.0)
        return math.sqrt(max(0.0, s_kva**2 - p_kw**2))

    async def _apply_reactive(self, interlocks: list[Interlock]) -> None:
        """The reactive setpoint in Manual (zero under any interlock or in another mode),
        inside what the rating leaves beside the active power; read back like P."""
        limit = self.reactive_limit_kvar()
        if self.q_reg is None or limit is None:
            return
        wanted = self.manual_kvar if self.mode is ControlMode.MANUAL and not interlocks else 0.0
        value = round(min(limit, max(-limit, wanted)), 3)
        if self.applied_kvar is not None and abs(value - self.applied_kvar) < 1e-6:
            return
        try:
            back = await self.device.write(self.q_reg.name, value)
            self.applied_kvar = float(back) if isinstance(back, int | float) else None
        except DeviceError as exc:
            self.applied_kvar = None
            log.warning(
                "reactive setpoint write failed",
                extra={"device": self.device.name, "error": str(exc)},
            )

    async def _heartbeat(self, now: float) -> None:
        if self.watchdog_reg is None or self.heartbeat_paused:
            return
        mono = self.monotonic()
        if self.heartbeat_at is not None and mono - self.heartbeat_at < self.heartbeat_interval_s:
            return
        self.heartbeat = (self.heartbeat + 1) % 65536
        try:
            await self.device.write(self.watchdog_reg.name, self.heartbeat)
            self.heartbeat_at = mono
            if self._heartbeat_failures:
                log.info(
                    "heartbeat writes again",
                    extra={"device": self.device.name, "failed": self._heartbeat_failures},
                )
                self._heartbeat_failures = 0
        except DeviceError as exc:
            # Once per outage, then counted: a dead link must not fill the log twice a second.
            if self._heartbeat_failures == 0:
                log.warning(
                    "heartbeat write failed", extra={"device": self.device.name, "error": str(exc)}
                )
            self._heartbeat_failures += 1

    def _enter_standby(self, now: float, reason: Reason, user: str, **detail: Any) -> None:
        old = self.mode
        self.mode = ControlMode.STANDBY
        self.manual_kw = 0.0
        self.manual_kvar = 0.0
        self.lease_expires_at = None
        self.proposal = None
        if old is not ControlMode.STANDBY:
            en = describe(reason)
            log.warning(
                "standby",
                extra={"device": self.device.name, "reason": reason.value, "from": old.value},
            )
            self.record(
                user,
                "mode",
                "forced",
                old=old.value,
                new="standby",
                reason=reason.value,
                message=en,
                **detail,
            )

    def _publish_state(self, now: float) -> ControlState:
        state = self.state(now)
        comparable = replace(state, last_verdict=None)
        if self._last_state is None or replace(self._last_state, last_verdict=None) != comparable:
            self.bus.publish(ControlStateChanged(state))
        self._last_state = state
        return state

    async def shutdown(self) -> None:
        """On a clean stop, leave the battery at zero power first, then write the books."""
        self.stopping = True
        async with self.locked():
            if self.can_control and (
                self.applied_kw or (self.command is not None and self.command.entered)
            ):
                self._enter_standby(self.clock(), Reason.ZERO, SYSTEM_USER, why="gateway stopping")
                await self._write_setpoint(
                    self.clock(), self.guard.evaluate(0.0, self.telemetry, [])
                )

    @property
    def port(self) -> ControlPort:
        """The operator's commands see this controller only through its port."""
        return self

    @property
    def limits(self) -> SafetyLimits:
        return self.guard.limits

    async def settled(self) -> None:
        await self._books.settled(COMMAND_BOOKS_WAIT_S)

    def evaluate(self, setpoint_kw: float, now: float) -> Verdict:
        return self.guard.evaluate(setpoint_kw, self.telemetry, self.current_interlocks(now))

    async def enter_mode(self, mode: ControlMode, now: float) -> ControlMode:
        old = self.mode
        self.mode = mode
        if mode is ControlMode.MANUAL and old is not ControlMode.MANUAL:
            self.manual_kw = self.manual_kvar = 0.0
            self.lease_expires_at = now + self.lease_s
        if mode is ControlMode.STANDBY:
            self.manual_kw, self.lease_expires_at, self.proposal = 0.0, None, None
            self.manual_kvar = 0.0
        else:
            await self._write_run_mode(True)
        return old

    def hold_setpoint(self, setpoint_kw: float, now: float) -> None:
        self.manual_kw = setpoint_kw
        self.lease_expires_at = now + self.lease_s

    def hold_reactive(self, setpoint_kvar: float) -> None:
        self.manual_kvar = setpoint_kvar

    async def latch_estop(self, now: float, user: str, source: str) -> None:
        if not self.estop_latched:
            self.estop_since, self.estop_by = now, user
        self.estop_latched = True
        self._enter_standby(now, Reason.INTERLOCK_ESTOP, user)
        if self.can_control:
            await self._write_setpoint(now, self.guard.evaluate(0.0, self.telemetry, []))
        await self._write_run_mode(False)
        self._alarm("estop", True, source)

    def clear_estop(self) -> None:
        self.estop_latched = False
        self.estop_since = self.estop_by = None
        self._alarm("estop", False)

    async def save_latch(self, latched: bool, user: str) -> None:
        if self.latch_store is None:
            return
        try:
            await asyncio.to_thread(self.latch_store.save, self.device.name, latched, user)
        except OSError as exc:
            log.error(
                "E-stop state not saved",
                extra={"device": self.device.name, "latched": latched, "error": str(exc)},
            )
            if self._books.on_failure is not None:
                self._books.on_failure("estop_state", f"{type(exc).__name__}: {exc}")

    def mark_maintenance(self, on: bool) -> None:
        self.maintenance = on

    def replace_limits(self, limits: SafetyLimits) -> SafetyLimits:
        old = self.guard.limits
        self.guard.limits = self.validator.limits = limits
        return old

    def controlled_registers(self) -> frozenset[str]:
        extra = {r.name for r in (self.run_mode_reg, self.watchdog_reg) if r is not None}
        return frozenset(self.control_regs) | extra

    async def write_device(self, register: str, value: float) -> float | str | None:
        return await self.device.write(register, value)

    def _run_mode_value(self, run: bool) -> int | None:
        """The run-mode register's value for run or standby, found by its enum names."""
        if self.run_mode_reg is None or not self.run_mode_reg.enum:
            return None
        wanted = ("run", "running", "on") if run else ("standby", "stop", "off")
        for raw, name in self.run_mode_reg.enum.items():
            if name in wanted:
                return int(raw)
        return None

    async def _write_run_mode(self, run: bool) -> None:
        value = self._run_mode_value(run)
        if self.run_mode_reg is None or value is None:
            return
        try:
            await self.device.write(self.run_mode_reg.name, value)
        except DeviceError as exc:
            log.warning(
                "run-mode write failed", extra={"device": self.device.name, "error": str(exc)}
            )

    def record(self, user: str, action: str, outcome: str, **detail: Any) -> None:
        """Queue an audit record for after the device writes; a refusal is also an event.
        Every record names its device."""
        detail.setdefault("device", self.device.name)
        self._deferred.append((self.clock(), user, action, outcome, detail))
        if outcome == "refused":
            self.bus.publish(
                CommandRefused(self.device.name, action, str(detail.get("reason", "unknown")))
            )

    def release_books(self) -> None:
        """Hand the queued records and alarm rows to the books' writer."""
        deferred, self._deferred = self._deferred, []
        for ts, user, action, outcome, detail in deferred:
            self._books.record(user, action, outcome, _ts=ts, **detail)
        self._books.flush_alarms()

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
