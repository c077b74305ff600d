"""The operator's commands to one battery: modes, setpoints, E-stop, maintenance, limits, registers.

Every command but the E-stop has the same skeleton, written once in
``OperatorCommands._command``: under the controller's lock the role check,
the command's own checks and change, and the record of either; then a
control tick (the change takes effect at once) and a bounded wait for the
record. The E-stop is the exception on purpose: anyone may press it, and the
zero write goes out before anything is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from bessai.core.alarms.manager import AlarmManager
from bessai.core.control.books import Books
from bessai.core.control.events import (
    COMMAND_BOOKS_WAIT_S,
    CommandResult,
    ControlMode,
    ControlState,
    refuse_role,
    user_of,
)
from bessai.core.control.latch import EstopLatchStore
from bessai.core.dispatch import Proposal
from bessai.core.guard.safety import (
    Interlock,
    Reason,
    SafetyGuard,
    SafetyLimits,
    Telemetry,
    Verdict,
)
from bessai.core.guard.validity import MeasurementValidator
from bessai.core.stores.auth import Permission, Session
from bessai.drivers.device import DeviceError, ModbusDevice
from bessai.drivers.profile import Register

log = logging.getLogger(__name__)

# What a command's own part decides: a refusal, or the result to answer (None: done).
Decision = tuple[CommandResult | None, CommandResult | None]


class OperatorCommands(ABC):
    """The command API of the Controller (a mixin: the Controller holds the state)."""

    device: ModbusDevice
    alarms: AlarmManager
    guard: SafetyGuard
    validator: MeasurementValidator
    telemetry: Telemetry
    latch_store: EstopLatchStore | None
    clock: Callable[[], float]
    lease_s: float
    mode: ControlMode
    manual_kw: float
    lease_expires_at: float | None
    proposal: Proposal | None
    estop_latched: bool
    estop_since: float | None
    estop_by: str | None
    maintenance: bool
    control_regs: list[str]
    run_mode_reg: Register | None
    watchdog_reg: Register | None
    q_reg: Register | None
    manual_kvar: float
    reactive_limit_kvar: Callable[[], float]
    _books: Books
    _locked: Callable[[], contextlib.AbstractAsyncContextManager[None]]
    tick: Callable[[], Awaitable[ControlState]]
    current_interlocks: Callable[[float], list[Interlock]]
    _record: Callable[..., None]
    _release_books: Callable[[], None]
    _enter_standby: Callable[..., None]
    _write_setpoint: Callable[[float, Verdict], Awaitable[None]]
    _alarm: Callable[..., None]
    # Set by the grid operator's link while it holds authority (Remote): the local operator's
    # mode and setpoint commands are refused; the E-stop always works. None: Local.
    remote_authority: str | None = None

    @property
    @abstractmethod
    def can_control(self) -> bool:
        """Whether the device's profile can be commanded (the Controller knows)."""

    def _refuse_remote(self, user: str) -> CommandResult | None:
        """A local command while the grid operator holds authority: refused."""
        if self.remote_authority is None or user.startswith("scada:"):
            return None
        return CommandResult.of(
            False, Reason.REFUSED_MODE, mode=f"remote ({self.remote_authority})"
        )

    async def _command(
        self,
        session: Session | None,
        need: Permission,
        action: str,
        what: str,
        decide: Callable[[float, str], Awaitable[Decision]],
        refused_detail: Callable[[], dict[str, Any]],
        *,
        hold_lock: bool = True,
        then: Callable[[str], Awaitable[None]] | None = None,
    ) -> CommandResult:
        """The skeleton: role check, the command's part, the record of a refusal, a tick.

        ``decide(now, user)`` makes the change and records it, or returns a
        refusal; ``refused_detail()`` is what a refusal's record carries besides
        the reason. ``hold_lock=False`` is for a command whose device write must
        not hold up the control tick (a commissioning write).
        """
        user = user_of(session)
        done: CommandResult | None = None
        lock = self._locked() if hold_lock else contextlib.nullcontext()
        async with lock:
            refused = refuse_role(session, need, what)
            if refused is None:
                refused, done = await decide(self.clock(), user)
            if refused is not None:
                self._record(
                    user,
                    action,
                    "refused",
                    **refused_detail(),
                    reason=refused.reason.value,
                    message=refused.message_en,
                )
        if not hold_lock:
            self._release_books()
        if refused is None:
            if then is not None:
                await then(user)
            if hold_lock:
                await self.tick()
        await self._books.settled(COMMAND_BOOKS_WAIT_S)
        return refused or done or CommandResult.of(True, Reason.DONE)

    async def set_mode(self, session: Session | None, mode: ControlMode) -> CommandResult:
        """Change the control mode; leaving Standby needs an operator and no interlock."""

        async def decide(now: float, user: str) -> Decision:
            if (remote := self._refuse_remote(user)) is not None:
                return remote, None
            if mode is not ControlMode.STANDBY:
                if not self.can_control:
                    return CommandResult.of(False, Reason.REFUSED_MODE, mode=mode.value), None
                if interlocks := self.current_interlocks(now):
                    first = interlocks[0]
                    return CommandResult(False, first.reason, first.params), None
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
            self._record(user, "mode", "ok", old=old.value, new=mode.value)
            return None, None

        return await self._command(
            session,
            Permission.CONTROL,
            "mode",
            "change the mode",
            decide,
            lambda: {"old": self.mode.value, "new": mode.value},
        )

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

    async def command_setpoint(self, session: Session | None, setpoint_kw: float) -> CommandResult:
        """An operator's manual setpoint: clamped by the guard, held for the lease."""

        async def decide(now: float, user: str) -> Decision:
            if (remote := self._refuse_remote(user)) is not None:
                return remote, None
            if self.mode is not ControlMode.MANUAL:
                return CommandResult.of(False, Reason.REFUSED_MODE, mode=self.mode.value), None
            verdict = self.guard.evaluate(setpoint_kw, self.telemetry, self.current_interlocks(now))
            result = CommandResult(verdict.allowed, verdict.reason, verdict.params, verdict)
            if not verdict.allowed:
                return result, None
            self.manual_kw = verdict.value_kw
            self.lease_expires_at = now + self.lease_s
            self._record(
                user,
                "setpoint",
                "clamped" if verdict.clamped else "ok",
                requested_kw=setpoint_kw,
                applied_kw=verdict.value_kw,
                reason=verdict.reason.value,
                message=verdict.message_en,
            )
            return None, result

        return await self._command(
            session,
            Permission.CONTROL,
            "setpoint",
            "command a setpoint",
            decide,
            lambda: {"requested_kw": setpoint_kw},
        )

    async def command_reactive(
        self, session: Session | None, setpoint_kvar: float
    ) -> CommandResult:
        """An operator's reactive-power setpoint in Manual: inside the rating beside P at every
        tick, zero under any interlock; audited like an active one."""

        async def decide(now: float, user: str) -> Decision:
            if self.q_reg is None:
                return CommandResult.of(
                    False, Reason.REFUSED_MODE, mode="no reactive-power setpoint on this device"
                ), None
            if self.mode is not ControlMode.MANUAL:
                return CommandResult.of(False, Reason.REFUSED_MODE, mode=self.mode.value), None
            if not math.isfinite(setpoint_kvar):
                return CommandResult.of(False, Reason.REFUSED_NOT_FINITE), None
            limit = self.reactive_limit_kvar()
            self.manual_kvar = setpoint_kvar
            clamped = abs(setpoint_kvar) > limit
            self._record(
                user,
                "reactive_setpoint",
                "clamped" if clamped else "ok",
                requested_kvar=setpoint_kvar,
                limit_kvar=round(limit, 3),
            )
            return None, None

        return await self._command(
            session,
            Permission.CONTROL,
            "reactive_setpoint",
            "command a reactive setpoint",
            decide,
            lambda: {"requested_kvar": setpoint_kvar},
        )

    async def estop(self, session: Session | None, source: str = "screen") -> CommandResult:
        """Latch the emergency stop: Standby and zero power at once. Anyone may press it.

        The zero write goes first; the latch file, the alarm and the audit follow.
        """
        user = session.user if session else source
        async with self._locked():
            now = self.clock()
            if not self.estop_latched:
                self.estop_since, self.estop_by = now, user
            self.estop_latched = True
            self._enter_standby(now, Reason.INTERLOCK_ESTOP, user)
            if self.can_control:
                verdict = self.guard.evaluate(0.0, self.telemetry, [])
                await self._write_setpoint(now, verdict)
            await self._write_run_mode(False)
            self._alarm("estop", True, source)
            self._record(user, "estop", "latched", source=source)
        await self._save_latch(True, user)
        await self.tick()
        await self._books.settled(COMMAND_BOOKS_WAIT_S)
        return CommandResult.of(True, Reason.INTERLOCK_ESTOP)

    async def _save_latch(self, latched: bool, user: str) -> None:
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

    async def reset_estop(self, session: Session | None) -> CommandResult:
        async def decide(now: float, user: str) -> Decision:
            self.estop_latched = False
            self.estop_since = self.estop_by = None
            self._alarm("estop", False)
            self._record(user, "estop_reset", "ok")
            return None, None

        async def save(user: str) -> None:
            await self._save_latch(False, user)

        return await self._command(
            session,
            Permission.ENGINEER,
            "estop_reset",
            "reset the emergency stop",
            decide,
            dict,
            then=save,
        )

    async def set_maintenance(self, session: Session | None, on: bool) -> CommandResult:
        async def decide(now: float, user: str) -> Decision:
            self.maintenance = on
            self._record(user, "maintenance", "ok", on=on)
            return None, None

        return await self._command(
            session,
            Permission.ENGINEER,
            "maintenance",
            "change the maintenance lockout",
            decide,
            lambda: {"on": on},
        )

    async def set_limits(self, session: Session | None, **changes: Any) -> CommandResult:
        """Change safety limits (engineer); the new set is validated as a whole."""

        async def decide(now: float, user: str) -> Decision:
            try:
                new = SafetyLimits(**{**self.guard.limits.model_dump(), **changes})
            except ValidationError as exc:
                first = exc.errors()[0]
                detail = f"{'.'.join(str(p) for p in first['loc']) or 'limits'}: {first['msg']}"
                return CommandResult.of(False, Reason.REFUSED_LIMITS, detail=detail), None
            old = self.guard.limits
            self.guard.limits = new
            self.validator.limits = new
            self._record(
                user, "limits", "ok", old={k: getattr(old, k) for k in changes}, new=changes
            )
            return None, None

        return await self._command(
            session,
            Permission.ENGINEER,
            "limits",
            "change limits",
            decide,
            lambda: {"changes": changes},
        )

    async def write_register(
        self, session: Session | None, name: str, value: float
    ) -> CommandResult:
        """A commissioning write by an engineer; control registers go through the modes instead.

        The write does not hold the controller's lock: a device slow to answer it must
        not hold up the control tick.
        """

        async def decide(now: float, user: str) -> Decision:
            controlled = set(self.control_regs) | {
                r.name for r in (self.run_mode_reg, self.watchdog_reg) if r is not None
            }
            if name in controlled:
                return CommandResult.of(
                    False, Reason.REFUSED_MODE, mode=f"'{name}' (use the control page)"
                ), None
            try:
                back = await self.device.write(name, value)
            except DeviceError as exc:
                return CommandResult.of(False, Reason.WRITE_FAILED, detail=str(exc)), None
            self._record(user, "register_write", "ok", register=name, value=value, read_back=back)
            return None, None

        return await self._command(
            session,
            Permission.ENGINEER,
            "register_write",
            "write registers",
            decide,
            lambda: {"register": name, "value": value},
            hold_lock=False,
        )
