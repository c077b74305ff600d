"""Which of a device's power registers are trusted, and the site's record of what commissioning
measured.

A register is trusted for unattended control when its profile says ``verified`` or when a
passing commissioning run on this site measured it (the sign and scale of the power). The
shipped profiles are integrity-checked and read-only, so the run's confirmation lives in the
site's data: ``DATA_DIR/verification.json``, one entry per device keyed by the SHA-256 of the
profile file it was measured with (another profile voids it), merged into the site's view of
the profile as ``verified`` plus ``verified_by`` (the report's id).

With an unverified power register a device may be put in Manual only by an engineer who
confirms it; Auto (frequency response included) and the grid operator's control are refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bessai.core.control.events import CommandResult, ControlMode
from bessai.core.guard.safety import Reason
from bessai.core.runtime.files import replace_file
from bessai.core.stores.auth import Permission, Session
from bessai.drivers.profile import Profile, Role
from bessai.drivers.profile_loader import LoadedProfile

log = logging.getLogger(__name__)

#: The roles the controller reads and writes power through.
POWER_ROLES = (Role.ACTIVE_POWER_KW, Role.SETPOINT_POWER_KW)
REMOTE_PREFIX = "scada:"


def power_registers(profile: Profile) -> list[str]:
    """The registers the power is commanded and measured through: the active-power and setpoint
    roles (or the sum of phases), the control section's power, direction and rating, and the
    scale-factor registers of each."""
    names: list[str | None] = [r.name for r in profile.registers if r.role in POWER_ROLES]
    names += [n for s in profile.sums if s.role in POWER_ROLES for n in s.registers]
    control = profile.effective_control
    if control is not None:
        names += [control.setpoint, control.charge_power, control.discharge_power]
        names += [control.rated_power, control.direction.name if control.direction else None]
    known = {r.name: r for r in profile.registers}
    found = [n for n in dict.fromkeys(names) if n is not None and n in known]
    factors = [known[n].scale_factor for n in found if known[n].scale_factor in known]
    return list(dict.fromkeys([*found, *(f for f in factors if f is not None)]))


def unverified_power(profile: Profile) -> tuple[str, ...]:
    """The power registers that neither the profile nor a commissioning run has verified."""
    known = {r.name: r for r in profile.registers}
    return tuple(n for n in power_registers(profile) if not known[n].verified)


def unverified_refusal(
    unverified: tuple[str, ...],
    mode: ControlMode,
    session: Session | None,
    *,
    confirmed: bool,
) -> CommandResult | None:
    """Why a device with these unverified power registers may not enter ``mode`` for this
    session; None when it may (Standby always; Manual with an engineer's confirmation)."""
    if not unverified or mode is ControlMode.STANDBY:
        return None
    registers = ", ".join(unverified)
    user = session.user if session is not None else ""
    if user.startswith(REMOTE_PREFIX):
        return CommandResult.of(
            False, Reason.REFUSED_UNVERIFIED, registers=registers, mode="remote"
        )
    if mode is ControlMode.AUTO:
        return CommandResult.of(False, Reason.REFUSED_UNVERIFIED, registers=registers, mode="auto")
    if not confirmed:
        return CommandResult.of(False, Reason.CONFIRM_UNVERIFIED, registers=registers)
    if session is None or not session.may(Permission.ENGINEER):
        role = "none" if session is None else session.role.name.lower()
        return CommandResult.of(
            False, Reason.REFUSED_ROLE, role=role, action="confirm unverified power registers"
        )
    return None


def remote_refusal(unverified: Mapping[str, tuple[str, ...]]) -> CommandResult | None:
    """The grid operator's setpoint for devices with unverified power registers: refused,
    naming the first such device."""
    for device, registers in unverified.items():
        if registers:
            refused = CommandResult.of(
                False, Reason.REFUSED_UNVERIFIED, registers=", ".join(registers), mode="remote"
            )
            return CommandResult(False, refused.reason, refused.params, device=device)
    return None


def verified_view(profile: Profile, confirmed: Mapping[str, str]) -> Profile:
    """The profile with the registers a report confirmed marked verified by that report."""
    if not confirmed:
        return profile
    registers = [
        r.model_copy(update={"verified": True, "verified_by": confirmed[r.name]})
        if r.name in confirmed and not r.verified
        else r
        for r in profile.registers
    ]
    return profile.model_copy(update={"registers": registers})


class VerificationBook:
    """``DATA_DIR/verification.json``: per device, the profile digest and, per register, the
    report that measured it. A file that cannot be read is moved aside and trusts nothing
    (unverified stays unverified; a new run records again)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._digests: dict[str, str] = {}
        self._data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            data, why = None, str(exc)
        else:
            why = "not an object of devices"
        if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
            return data
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        log.error(
            "verification record unreadable: moved aside, nothing counts as verified",
            extra={"file": str(self.path), "moved_to": str(aside), "error": why},
        )
        with contextlib.suppress(OSError):
            self.path.replace(aside)
        return {}

    def confirmed(self, device: str, digest: str) -> dict[str, str]:
        """Register → report id, for this device measured with the profile of this digest."""
        entry = self._data.get(device, {})
        if entry.get("profile_sha256") != digest:
            return {}
        registers = entry.get("registers", {})
        return {
            str(name): str(what.get("report", ""))
            for name, what in registers.items()
            if isinstance(what, dict)
        }

    def view(self, device: str, loaded: LoadedProfile) -> Profile:
        """The site's view of a device's profile: what this site's runs verified merged in."""
        self._digests[device] = loaded.sha256
        return verified_view(loaded.profile, self.confirmed(device, loaded.sha256))

    def confirm(
        self, device: str, profile: Profile, registers: Iterable[str], report: str, by: str
    ) -> Profile:
        """Record that ``report`` measured these registers of the device; returns the new view.
        Blocking file I/O (call it off the loop); raises OSError or KeyError (a device the
        book never viewed)."""
        digest = self._digests[device]
        with self._lock:
            entry = self._data.get(device, {})
            if entry.get("profile_sha256") != digest:
                entry = {"profile": profile.id, "profile_sha256": digest, "registers": {}}
            at = time.time()
            for name in registers:
                entry["registers"][name] = {"report": report, "at": at, "by": by}
            data = {**self._data, device: entry}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")
            self._data = data
        return verified_view(profile, self.confirmed(device, digest))
