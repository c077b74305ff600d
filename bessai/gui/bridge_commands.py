"""The bridge's commands: the operator's session, the target (the site or a device), modes,
setpoints, the E-stop and alarms. A part of ``CoreBridge``; it reaches the core through the
gateway's command API (``Gateway.commands``), never a controller's insides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bessai.core.control.events import ControlMode, ControlState
from bessai.core.dispatch.summary import DispatchSummary
from bessai.core.guard.safety import Preview, fill
from bessai.core.plant.commands import SITE_TARGET
from bessai.core.plant.snapshot import (
    DeviceSnapshot,
    InterlockEntry,
    SiteSnapshot,
)
from bessai.core.site.commissioning_report import CRITERIA, FINDINGS, QUANTITIES
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthError, Permission, Session

# The commissioning report's words in English, for the report's PDF (gui/report.py).
__all__ = ["CRITERIA", "FINDINGS", "QUANTITIES", "CommandsBridge", "fill"]


class CommandsBridge:
    """What the screen commands; mixed into ``CoreBridge`` (which holds the session and loop)."""

    gateway: Gateway
    session: Session | None
    session_changed: Any
    run: Callable[..., asyncio.Task[Any]]

    _target: str | None
    snapshot: Callable[[], SiteSnapshot]

    def touch(self) -> None:
        """The operator touched the screen or the keyboard: the session is not idle."""
        if self.session is not None:
            self.gateway.auth.session(self.session.token, touch=True)

    def current_session(self) -> Session | None:
        """The logged-in session, or None once it expired for idleness (looking is not activity)."""
        if (
            self.session is not None
            and self.gateway.auth.session(self.session.token, touch=False) is None
        ):
            self.session = None
            self.session_changed.emit()
        return self.session

    def may(self, permission: Permission) -> bool:
        session = self.current_session()
        return session is not None and session.may(permission)

    async def login(self, user: str, secret: str) -> Session | str:
        """A session, or the refusal's stable code ("bad_credentials", "locked", ...)."""
        try:
            self.session = await self.gateway.auth.login(user, secret)
        except AuthError as exc:
            return exc.code
        self.session_changed.emit()
        return self.session

    def logout(self) -> None:
        if self.session is not None:
            self.run("logout", self.gateway.auth.logout(self.session.token))
        self.session = None
        self.session_changed.emit()

    def targets(self) -> list[str]:
        """What Control can command: the site (with several devices), then each device."""
        return self.gateway.commands.targets()

    @property
    def target(self) -> str | None:
        """The site or the device Control commands now (None: nothing can be commanded)."""
        targets = self.targets()
        if self._target in targets:
            return self._target
        return targets[0] if targets else None

    def set_target(self, target: str) -> None:
        self._target = target

    def controller_name(self) -> str | None:
        """The device Control commands, None for the site or when there is none."""
        target = self.target
        return None if target in (None, SITE_TARGET) else target

    def state(self) -> ControlState | None:
        """The control state of the target: a device's, or the site's as the core composes it."""
        target = self.target
        return None if target is None else self.snapshot().control_of(target)

    def interlocks_of_target(self) -> list[InterlockEntry]:
        """The target's interlocks, each naming its device, with since-when and who clears it."""
        snapshot = self.snapshot()
        target = self.target
        if target is None:
            return []
        if target == SITE_TARGET:
            return list(snapshot.interlocks)
        device = snapshot.device(target)
        return [] if device is None else list(device.interlocks)

    def target_devices(self) -> list[DeviceSnapshot]:
        snapshot = self.snapshot()
        target = self.target
        if target == SITE_TARGET:
            return list(snapshot.controllable)
        device = None if target is None else snapshot.device(target)
        return [] if device is None else [device]

    def dispatch_summary(self) -> DispatchSummary:
        return self.gateway.dispatch_summary()

    def preview(self, setpoint_kw: float) -> Preview | None:
        target = self.target
        return None if target is None else self.gateway.commands.preview_total(setpoint_kw, target)

    def unverified_of_target(self) -> dict[str, tuple[str, ...]]:
        """The target's devices whose power registers no one has verified, and those registers:
        Manual only after an engineer confirms them; Auto and remote control refused."""
        target = self.target
        return {} if target is None else self.gateway.commands.unverified(target)

    def unverified_devices(self) -> dict[str, tuple[str, ...]]:
        """Every commandable device with unverified power registers (the target buttons' mark)."""
        return self.gateway.commands.unverified(SITE_TARGET)

    def unverified_registers(self, device: str) -> set[str]:
        """Every register of the device that neither its profile nor a run has verified."""
        found = self.gateway.devices.get(device)
        return (
            set() if found is None else {r.name for r in found.profile.registers if not r.verified}
        )

    def set_mode(
        self,
        mode: ControlMode,
        done: Callable[[Any], None] | None = None,
        *,
        confirm_unverified: bool = False,
    ) -> None:
        """A mode for the target; ``confirm_unverified``: the engineer on the screen confirmed
        the target's unverified power registers (named in the audit row)."""
        target = self.target
        if target is not None:
            command = self.gateway.commands.set_mode(
                self.current_session(), mode, target, confirm_unverified=confirm_unverified
            )
            self.run("mode", command, done)

    def command_setpoint(self, kw: float, done: Callable[[Any], None] | None = None) -> None:
        target = self.target
        if target is not None:
            self.run(
                "setpoint",
                self.gateway.commands.command_setpoint(self.current_session(), kw, target),
                done,
            )

    def estop(self) -> None:
        self.run("estop", self.gateway.commands.estop(self.current_session(), "screen"))

    def reset_estop(self, done: Callable[[Any], None] | None = None) -> None:
        target = self.target
        if target is not None:
            self.run(
                "estop_reset",
                self.gateway.commands.reset_estop(self.current_session(), target),
                done,
            )

    def acknowledge(self, ref: str, comment: str | None) -> None:
        """Acknowledge one alarm instance (``source/code``)."""
        self.run("ack", self.gateway.acknowledge_alarm(self.current_session(), ref, comment))

    def acknowledge_all(self, comment: str | None) -> None:
        """Acknowledge every unacknowledged instance, with one comment."""
        self.run("ack", self.gateway.acknowledge_all_alarms(self.current_session(), comment))

    def shelve(self, ref: str, duration_s: float) -> None:
        self.run("shelve", self.gateway.shelve_alarm(self.current_session(), ref, duration_s))
