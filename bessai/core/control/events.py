"""What the Controller publishes and answers: modes, states, command results and events.

Kept apart from the control loop so that the screen, the CLI, the metrics and
the dispatch record can name them without the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bessai.core.dispatch import Proposal
from bessai.core.guard.safety import (
    Interlock,
    Params,
    Reason,
    Verdict,
    Window,
    describe,
    params_of,
)
from bessai.core.stores.auth import Permission, Session

SYSTEM_USER = "system"

# How long an operator's command waits for its audit record before it answers (the
# device is never kept waiting for it).
COMMAND_BOOKS_WAIT_S = 2.0


class ControlMode(StrEnum):
    STANDBY = "standby"
    MANUAL = "manual"
    AUTO = "auto"


@dataclass(frozen=True)
class CommandResult:
    """What became of an operator's command: its reason code and values (and the device it is
    about, where a site command reports one of several)."""

    ok: bool
    reason: Reason
    params: Params = ()
    verdict: Verdict | None = None
    device: str | None = None

    @classmethod
    def of(
        cls, ok: bool, reason: Reason, verdict: Verdict | None = None, **values: object
    ) -> CommandResult:
        return cls(ok, reason, params_of(**values), verdict)

    @property
    def message_en(self) -> str:
        text = describe(self.reason, self.params)
        return f"{self.device}: {text}" if self.device else text


@dataclass(frozen=True)
class ControlState:
    """Everything the screen needs to show about control, published on every change."""

    device: str
    mode: ControlMode
    target_kw: float
    applied_kw: float
    lease_expires_at: float | None
    estop_latched: bool
    maintenance: bool
    interlocks: tuple[Interlock, ...]
    window: Window
    last_verdict: Verdict | None
    proposal: Proposal | None
    heartbeat: int
    shadow_proposal: Proposal | None = None
    reactive_kvar: float = 0.0  # the reactive setpoint in force (where the device maps one)

    def lease_remaining_s(self, now: float) -> float | None:
        return None if self.lease_expires_at is None else max(0.0, self.lease_expires_at - now)


@dataclass(frozen=True)
class ControlStateChanged:
    state: ControlState


@dataclass(frozen=True)
class CommandRefused:
    device: str
    action: str
    reason: str


@dataclass(frozen=True)
class DispatchProposed:
    """A proposal beside what the guard makes of it and what the battery is doing.

    ``shadow`` proposals are only recorded, never written. ``guarded`` is the
    guard's verdict on the proposal without the ramp (the window and the
    interlocks), so that the record says which limit would clamp it.
    """

    device: str
    ts: float
    proposal: Proposal
    duration_s: float
    shadow: bool
    guarded: Verdict
    mode: ControlMode
    actual_kw: float | None
    applied_kw: float | None


@dataclass(frozen=True)
class SetpointRequested:
    """Published just before the write, so that a poll racing the write knows it is ours."""

    device: str
    value_kw: float


@dataclass(frozen=True)
class SetpointApplied:
    device: str
    ts: float
    value_kw: float
    verdict: Verdict


def refuse_role(session: Session | None, need: Permission, action: str) -> CommandResult | None:
    """Why this session may not do this (no one logged in, or too low a role); None if it may."""
    if session is None:
        return CommandResult.of(False, Reason.INTERLOCK_NO_OPERATOR)
    if not session.may(need):
        return CommandResult.of(
            False, Reason.REFUSED_ROLE, role=session.role.name.lower(), action=action
        )
    return None


def user_of(session: Session | None) -> str:
    """Who a command is on record as."""
    return session.user if session else "anonymous"
