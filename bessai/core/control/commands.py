"""The operator's commands to one battery: modes, setpoints, E-stop, maintenance, limits, registers.

Every command but the E-stop has the same skeleton, written once in
``OperatorCommands._command``: under the controller's lock the role check,
the command's own checks and change, and the record of either; then a
control tick (the change takes effect at once) and a bounded wait for the
record. The E-stop is the exception on purpose: anyone may press it, and the
zero write goes out before anything is recorded.

The commands are policy (who may, what is checked, what is recorded); the
state they change belongs to the Controller, which they reach only through
``ControlPort``: they read its mode, limits and interlocks and ask it for a
state change, and touch none of its fields.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import ValidationError

from bessai.core.control.events import (
    CommandResult,
    ControlMode,
    ControlState,
    refuse_role,
    user_of,
)
from bessai.core.control.verification import unverified_refusal
from bessai.core.guard.safety import Interlock, Reason, SafetyLimits, Verdict
from bessai.core.stores.auth import Permission, Session
from bessai.drivers.device import DeviceError

# What a command's own part decides: a refusal, or the result to answer (None: done).
Decision = tuple[CommandResult | None, CommandResult | None]


class ControlPort(Protocol):
    """All that the operator's commands see and do of one battery's controller."""

    @property
    def mode(self) -> ControlMode: ...
    @property
    def can_control(self) -> bool: ...
    @property
    def remote_authority(self) -> str | None:
        """Who holds authority while the grid operator's link has it; None: Local."""

    @property
    def limits(self) -> SafetyLimits: ...
    @property
    def clock(self) -> Callable[[], float]: ...

    def locked(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The controller's lock; the records queued inside are released with it."""

    async def tick(self) -> ControlState: ...
    async def settled(self) -> None:
        """Wait, bounded, for the records of the command to be written."""

    def release_books(self) -> None: ...
    def current_interlocks(self, now: float) -> list[Interlock]: ...
    @property
    def unverified_power(self) -> tuple[str, ...]:
        """Power registers no one has verified: Manual needs an engineer's confirmation."""

    def record(self, user: str, action: str, outcome: str, **detail: Any) -> None: ...
    def evaluate(self, setpoint_kw: float, now: float) -> Verdict:
        """The guard's verdict on a setpoint with the telemetry and interlocks of now."""

    async def enter_mode(self, mode: ControlMode, now: float) -> ControlMode:
        """Change the mode (lease, zeroed setpoints, run-mode write); returns the old one."""

    def hold_setpoint(self, setpoint_kw: float, now: float) -> None:
        """Hold a Manual setpoint the guard accepted, for a new lease."""

    def reactive_limit_kvar(self) -> float | None:
        """The most reactive power allowed now; None: no reactive setpoint on this device."""

    def hold_reactive(self, setpoint_kvar: float) -> None: ...
    async def latch_estop(self, now: float, user: str, source: str) -> None:
        """Latch the E-stop: Standby and the zero write at once, run mode off, the alarm."""

    def clear_estop(self) -> None: ...
    async def save_latch(self, latched: bool, user: str) -> None: ...
    def mark_maintenance(self, on: bool) -> None: ...
    def replace_limits(self, limits: SafetyLimits) -> SafetyLimits:
        """Put a validated set of limits in force; returns the old set."""

    def controlled_registers(self) -> frozenset[str]:
        """Registers only the controller writes (setpoint, control section, run mode, watchdog)."""

    async def write_device(self, register: str, value: float) -> float | str | None:
        """An engineer's write to one register, read back; raises DeviceError."""


class OperatorCommands(ABC):
    """The command API of the Controller (a mixin that reaches it only through its port)."""

    @property
    @abstractmethod
    def port(self) -> ControlPort:
        """The controller, seen through the narrow port."""

    def _refuse_remote(self, user: str) -> CommandResult | None:
        """A local command while the grid operator holds authority: refused."""
        holder = self.port.remote_authority
        if holder is None or user.startswith("scada:"):
            return None
        return CommandResult.of(False, Reason.REFUSED_MODE, mode=f"remote ({holder})")

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
        port = self.port
        user = user_of(session)
        done: CommandResult | None = None
        lock = port.locked() if hold_lock else contextlib.nullcontext()
        async with lock:
            refused = refuse_role(session, need, what)
            if refused is None:
                refused, done = await decide(port.clock(), user)
            if refused is not None:
                port.record(
                    user,
                    action,
                    "refused",
                    **refused_detail(),
                    reason=refused.reason.value,
                    message=refused.message_en,
                )
        if not hold_lock:
            port.release_books()
        if refused is None:
            if then is not None:
                await then(user)
            if hold_lock:
                await port.tick()
        await port.settled()
        return refused or done or CommandResult.of(True, Reason.DONE)

    async def set_mode(
        self, session: Session | None, mode: ControlMode, *, confirm_unverified: bool = False
    ) -> CommandResult:
        """Change the control mode; leaving Standby needs an operator and no interlock, and
        with unverified power registers Manual only (an engineer's ``confirm_unverified``)."""
        port = self.port

        async def decide(now: float, user: str) -> Decision:
            if (remote := self._refuse_remote(user)) is not None:
                return remote, None
            doubt = port.unverified_power
            if mode is not ControlMode.STANDBY:
                if not port.can_control:
                    return CommandResult.of(False, Reason.REFUSED_MODE, mode=mode.value), None
                if interlocks := port.current_interlocks(now):
                    first = interlocks[0]
                    return CommandResult(False, first.reason, first.params), None
                refused = unverified_refusal(doubt, mode, session, confirmed=confirm_unverified)
                if refused is not None:
                    return refused, None
            old = await port.enter_mode(mode, now)
            confirmed = {"unverified": list(doubt)} if doubt and mode is ControlMode.MANUAL else {}
            port.record(user, "mode", "ok", old=old.value, new=mode.value, **confirmed)
            return None, None

        return await self._command(
            session,
            Permission.CONTROL,
            "mode",
            "change the mode",
            decide,
            lambda: {"old": port.mode.value, "new": mode.value},
        )

    async def command_setpoint(self, session: Session | None, setpoint_kw: float) -> CommandResult:
        """An operator's manual setpoint: clamped by the guard, held for the lease."""
        port = self.port

        async def decide(now: float, user: str) -> Decision:
            if (remote := self._refuse_remote(user)) is not None:
                return remote, None
            if port.mode is not ControlMode.MANUAL:
                return CommandResult.of(False, Reason.REFUSED_MODE, mode=port.mode.value), None
            verdict = port.evaluate(setpoint_kw, now)
            result = CommandResult(verdict.allowed, verdict.reason, verdict.params, verdict)
            if not verdict.allowed:
                return result, None
            port.hold_setpoint(verdict.value_kw, now)
            port.record(
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
        port = self.port

        async def decide(now: float, user: str) -> Decision:
            limit = port.reactive_limit_kvar()
            if limit is None:
                return CommandResult.of(
                    False, Reason.REFUSED_MODE, mode="no reactive-power setpoint on this device"
                ), None
            if port.mode is not ControlMode.MANUAL:
                return CommandResult.of(False, Reason.REFUSED_MODE, mode=port.mode.value), None
            if not math.isfinite(setpoint_kvar):
                return CommandResult.of(False, Reason.REFUSED_NOT_FINITE), None
            port.hold_reactive(setpoint_kvar)
            port.record(
                user,
                "reactive_setpoint",
                "clamped" if abs(setpoint_kvar) > limit else "ok",
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
        port = self.port
        user = session.user if session else source
        async with port.locked():
            await port.latch_estop(port.clock(), user, source)
            port.record(user, "estop", "latched", source=source)
        await port.save_latch(True, user)
        await port.tick()
        await port.settled()
        return CommandResult.of(True, Reason.INTERLOCK_ESTOP)

    async def reset_estop(self, session: Session | None) -> CommandResult:
        port = self.port

        async def decide(now: float, user: str) -> Decision:
            port.clear_estop()
            port.record(user, "estop_reset", "ok")
            return None, None

        async def save(user: str) -> None:
            await port.save_latch(False, user)

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
        port = self.port

        async def decide(now: float, user: str) -> Decision:
            port.mark_maintenance(on)
            port.record(user, "maintenance", "ok", on=on)
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
        port = self.port

        async def decide(now: float, user: str) -> Decision:
            try:
                new = SafetyLimits(**{**port.limits.model_dump(), **changes})
            except ValidationError as exc:
                first = exc.errors()[0]
                detail = f"{'.'.join(str(p) for p in first['loc']) or 'limits'}: {first['msg']}"
                return CommandResult.of(False, Reason.REFUSED_LIMITS, detail=detail), None
            old = port.replace_limits(new)
            port.record(
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
        port = self.port

        async def decide(now: float, user: str) -> Decision:
            if name in port.controlled_registers():
                return CommandResult.of(
                    False, Reason.REFUSED_MODE, mode=f"'{name}' (use the control page)"
                ), None
            try:
                back = await port.write_device(name, value)
            except DeviceError as exc:
                return CommandResult.of(False, Reason.WRITE_FAILED, detail=str(exc)), None
            port.record(user, "register_write", "ok", register=name, value=value, read_back=back)
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
