"""Commands with a target: the site (every controllable device) or one device by name.

A site setpoint is split equally among the controllable devices for now (the
plant's split by SoC refines it); a site command is refused whole, naming the
device, when any device would refuse it, so that an operator never believes
the site is in Manual while one battery stayed in Standby. The E-stop stops
every device whatever the target. Each device's controller records its own
row (naming the device); the site's command gets one row of its own with the
split.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from bessai.core.control.books import Books
from bessai.core.control.controller import Controller
from bessai.core.control.events import CommandResult, ControlMode, refuse_role, user_of
from bessai.core.control.verification import REMOTE_PREFIX, remote_refusal, unverified_refusal
from bessai.core.guard.safety import Preview, Reason, Verdict, params_of
from bessai.core.plant.site_control import SiteController, split
from bessai.core.stores.auth import Permission, Session

#: The target that means every controllable device.
SITE_TARGET = "site"


def _named(results: Mapping[str, CommandResult]) -> CommandResult:
    """One result for the site: ok when every device's was; else the first refusal, naming its
    device."""
    ok = all(r.ok for r in results.values())
    name, first = next(
        ((n, r) for n, r in results.items() if not r.ok), next(iter(results.items()))
    )
    return replace(first, ok=ok, device=None if ok else name)


class SiteCommands:
    """The operator's commands, aimed at the site or at one named device."""

    def __init__(
        self,
        controllers: Mapping[str, Controller],
        books: Books,
        site: SiteController | None = None,
    ) -> None:
        self.controllers = controllers
        self.books = books
        self.site = site  # with several inverters: the site's setpoint is split every cycle

    def targets(self) -> list[str]:
        """The site first (when more than one device can be commanded), then each device."""
        names = [n for n, c in self.controllers.items() if c.can_control]
        return ([SITE_TARGET] if len(names) > 1 else []) + names

    def _aimed(self, target: str) -> dict[str, Controller] | CommandResult:
        if target == SITE_TARGET:
            chosen = {n: c for n, c in self.controllers.items() if c.can_control}
        else:
            found = self.controllers.get(target)
            chosen = {} if found is None else {target: found}
        if not chosen:
            return CommandResult.of(False, Reason.REFUSED_MODE, mode=f"no device {target!r}")
        return chosen

    def _refusal(
        self, chosen: Mapping[str, Controller], check: Callable[[Controller], CommandResult | None]
    ) -> CommandResult | None:
        for name, controller in chosen.items():
            refused = check(controller)
            if refused is not None:
                return replace(refused, ok=False, device=name)
        return None

    async def _each(
        self,
        chosen: Mapping[str, Controller],
        command: Callable[[str, Controller], Awaitable[CommandResult]],
    ) -> CommandResult:
        results = {name: await command(name, c) for name, c in chosen.items()}
        return results[next(iter(results))] if len(results) == 1 else _named(results)

    def unverified(self, target: str = SITE_TARGET) -> dict[str, tuple[str, ...]]:
        """The aimed devices with unverified power registers, and those registers."""
        chosen = self._aimed(target)
        if isinstance(chosen, CommandResult):
            return {}
        return {n: c.unverified_power for n, c in chosen.items() if c.unverified_power}

    async def set_mode(
        self,
        session: Session | None,
        mode: ControlMode,
        target: str = SITE_TARGET,
        *,
        confirm_unverified: bool = False,
    ) -> CommandResult:
        """A mode for the site or one device. The site's is refused whole, naming the device,
        when any device would refuse it: an interlock, or unverified power registers (Auto and
        remote control refused; Manual only with the engineer's confirmation, which names
        every such device)."""
        chosen = self._aimed(target)
        if isinstance(chosen, CommandResult):
            return chosen
        if mode is not ControlMode.STANDBY and len(chosen) > 1:

            def check(c: Controller) -> CommandResult | None:
                interlocks = c.current_interlocks(c.clock())
                if interlocks:
                    first = interlocks[0]
                    return CommandResult(False, first.reason, first.params)
                return unverified_refusal(
                    c.unverified_power, mode, session, confirmed=confirm_unverified
                )

            refused = refuse_role(session, Permission.CONTROL, "change the mode") or self._refusal(
                chosen, check
            )
            if refused is not None:
                self._site_row(session, "mode", "refused", new=mode.value, reason=refused.reason)
                return refused
        if self.site is not None:
            if target == SITE_TARGET and mode is not ControlMode.MANUAL:
                self.site.release()
            elif target != SITE_TARGET:
                self.site.release(target)
        result = await self._each(
            chosen, lambda _, c: c.set_mode(session, mode, confirm_unverified=confirm_unverified)
        )
        if len(chosen) > 1:
            self._site_row(session, "mode", "ok" if result.ok else "partial", new=mode.value)
        return result

    def split_kw(self, setpoint_kw: float, chosen: Mapping[str, Controller]) -> dict[str, float]:
        """Each device's share of a site setpoint: the site controller's split (by the energy
        each can deliver, within each window) where there is one, else equal parts."""
        if len(chosen) == 1:
            return dict.fromkeys(chosen, setpoint_kw)  # one device: its own guard decides
        if self.site is not None and math.isfinite(setpoint_kw):
            now = next(iter(chosen.values())).clock()
            return split(setpoint_kw, self.site.candidates(chosen, setpoint_kw >= 0, now))
        share = setpoint_kw / len(chosen) if math.isfinite(setpoint_kw) else setpoint_kw
        return dict.fromkeys(chosen, share)

    async def _site_setpoint(
        self, session: Session | None, setpoint_kw: float, chosen: Mapping[str, Controller]
    ) -> CommandResult:
        """The site follows one setpoint from now on: split every cycle by the site controller.
        Each inverter's first share is an operator's setpoint on its record (its lease)."""
        assert self.site is not None
        self.site.command(setpoint_kw, list(chosen))
        decision = self.site.step()
        shares = {} if decision is None else dict(decision.shares_kw)
        for name, share in shares.items():
            await chosen[name].command_setpoint(session, share)
        delivered = sum(shares.values())
        by = "" if decision is None else decision.limited_by or ""
        self._site_row(
            session,
            "setpoint",
            "ok" if abs(delivered - setpoint_kw) <= 1.0 else "clamped",
            requested_kw=setpoint_kw,
            split_kw={n: round(s, 3) for n, s in shares.items()},
            limited_by=by or None,
        )
        reason = Reason.OK if abs(delivered - setpoint_kw) <= 1.0 else Reason.CLAMP_SITE
        verdict = Verdict(setpoint_kw, delivered, reason, params_of(limit=delivered, by=by))
        return CommandResult(True, reason, verdict.params, verdict)

    def _remote_doubt(
        self, session: Session | None, chosen: Mapping[str, Controller]
    ) -> CommandResult | None:
        """The grid operator may not command a device whose power no run has verified."""
        if session is None or not session.user.startswith(REMOTE_PREFIX):
            return None
        return remote_refusal({n: c.unverified_power for n, c in chosen.items()})

    async def command_setpoint(
        self, session: Session | None, setpoint_kw: float, target: str = SITE_TARGET
    ) -> CommandResult:
        chosen = self._aimed(target)
        if isinstance(chosen, CommandResult):
            return chosen
        if (doubt := self._remote_doubt(session, chosen)) is not None:
            self._site_row(
                session, "setpoint", "refused", requested_kw=setpoint_kw, reason=doubt.reason
            )
            return doubt
        if len(chosen) == 1:
            if self.site is not None:
                self.site.release(next(iter(chosen)))  # commanded on its own from now on
            return await next(iter(chosen.values())).command_setpoint(session, setpoint_kw)

        def check(c: Controller) -> CommandResult | None:
            if c.mode is not ControlMode.MANUAL:
                return CommandResult.of(False, Reason.REFUSED_MODE, mode=c.mode.value)
            return None

        refused = refuse_role(session, Permission.CONTROL, "command a setpoint") or self._refusal(
            chosen, check
        )
        split = self.split_kw(setpoint_kw, chosen)
        if refused is None and not math.isfinite(setpoint_kw):
            refused = CommandResult.of(False, Reason.REFUSED_NOT_FINITE)
        if refused is not None:
            self._site_row(
                session, "setpoint", "refused", requested_kw=setpoint_kw, reason=refused.reason
            )
            return refused
        if self.site is not None:
            return await self._site_setpoint(session, setpoint_kw, chosen)
        result = await self._each(chosen, lambda n, c: c.command_setpoint(session, split[n]))
        self._site_row(
            session,
            "setpoint",
            "ok" if result.ok else "partial",
            requested_kw=setpoint_kw,
            split_kw=split,
        )
        return result

    async def command_reactive(
        self, session: Session | None, setpoint_kvar: float, target: str = SITE_TARGET
    ) -> CommandResult:
        """A reactive-power setpoint for the site (split in proportion to what each inverter's
        rating leaves beside its active power) or one device; each device guards its share."""
        chosen = self._aimed(target)
        if isinstance(chosen, CommandResult):
            return chosen
        able = {n: c for n, c in chosen.items() if c.q_reg is not None}
        if (doubt := self._remote_doubt(session, able)) is not None:
            return doubt
        if not able:
            return CommandResult.of(
                False, Reason.REFUSED_MODE, mode="no reactive-power setpoint on these devices"
            )
        if len(able) == 1:
            return await next(iter(able.values())).command_reactive(session, setpoint_kvar)
        room = {n: c.reactive_limit_kvar() or 0.0 for n, c in able.items()}
        total = sum(room.values())
        share = {
            n: setpoint_kvar * (r / total if total > 0 else 1 / len(able)) for n, r in room.items()
        }
        result = await self._each(able, lambda n, c: c.command_reactive(session, share[n]))
        self._site_row(
            session,
            "reactive_setpoint",
            "ok" if result.ok else "partial",
            requested_kvar=setpoint_kvar,
            split_kvar={n: round(s, 3) for n, s in share.items()},
        )
        return result

    def preview(self, setpoint_kw: float, target: str = SITE_TARGET) -> dict[str, Preview]:
        """What each aimed device would make of its share now."""
        chosen = self._aimed(target)
        if isinstance(chosen, CommandResult):
            return {}
        split = self.split_kw(setpoint_kw, chosen)
        return {name: c.preview(split[name]) for name, c in chosen.items()}

    def preview_total(self, setpoint_kw: float, target: str = SITE_TARGET) -> Preview | None:
        """The aimed devices' previews as one: the summed value, the first limit met (named),
        the shortest time to a SoC limit."""
        previews = self.preview(setpoint_kw, target)
        if not previews:
            return None
        if len(previews) == 1:
            return next(iter(previews.values()))
        clamped = next(
            ((n, p) for n, p in previews.items() if p.verdict.clamped or not p.verdict.allowed),
            None,
        )
        name, lead = clamped or next(iter(previews.items()))
        times = [p.seconds_to_soc_limit for p in previews.values() if p.seconds_to_soc_limit]
        verdict = replace(
            lead.verdict,
            requested_kw=setpoint_kw,
            value_kw=sum(p.verdict.value_kw for p in previews.values()),
            device=name,
        )
        return Preview(verdict, min(times) if times else None)

    async def reset_estop(
        self, session: Session | None, target: str = SITE_TARGET
    ) -> CommandResult:
        chosen = self._aimed(target)
        if isinstance(chosen, CommandResult):
            return chosen
        latched = {n: c for n, c in chosen.items() if c.estop_latched} or chosen
        return await self._each(latched, lambda _, c: c.reset_estop(session))

    async def estop(self, session: Session | None, source: str = "screen") -> CommandResult:
        """Every device, whatever is aimed at: an E-stop stops the site."""
        results = {name: await c.estop(session, source) for name, c in self.controllers.items()}
        return _named(results) if results else CommandResult.of(True, Reason.INTERLOCK_ESTOP)

    def _site_row(self, session: Session | None, action: str, outcome: str, **detail: Any) -> None:
        self.books.record(user_of(session), f"site_{action}", outcome, target=SITE_TARGET, **detail)
