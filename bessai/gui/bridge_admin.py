"""The bridge's administration: users, the site's devices and limits, commissioning,
discovery, reports, the fleet and store reads off the loop. A part of ``CoreBridge``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bessai.core.cloud.fleet import Fleet, FleetReader
from bessai.core.config.settings import DeviceConfig
from bessai.core.guard.safety import (
    SafetyLimits,
)
from bessai.core.site.admin import ConnectionTest, SiteAdmin, SiteChangeError, check_connection
from bessai.core.site.commissioning import (
    TESTS,
    CommissioningError,
    CommissioningRun,
    write_report_json,
)
from bessai.core.site.gateway import Gateway
from bessai.core.site.scada_link import ScadaLink
from bessai.core.stores.auth import AuthError, Role, Session
from bessai.drivers.discovery import (
    Discovery,
    DiscoveryError,
    discover,
    discovered_profile,
    write_profile,
)
from bessai.drivers.profile_loader import registry_ids
from bessai.drivers.simulator.server import Fault

#: The audit actions the charts mark as events.
EVENT_ACTIONS = ("mode", "estop", "estop_reset", "maintenance")


class AdminBridge:
    """The engineer's and administrator's work; mixed into ``CoreBridge``."""

    gateway: Gateway
    session: Session | None
    session_changed: Any
    run: Callable[..., asyncio.Task[Any]]

    fleet: Fleet | None
    _fleet_reader: FleetReader | None
    site_admin: SiteAdmin | None
    commissioning: CommissioningRun | None
    current_session: Callable[[], Session | None]
    login: Callable[[str, str], Awaitable[Session | str]]

    def _scada_link(self) -> ScadaLink | None:
        return next((k for k in self.gateway.links if isinstance(k, ScadaLink)), None)

    def scada_configured(self) -> bool:
        """Whether the site file has a grid operator's link (``[scada]``)."""
        return self._scada_link() is not None

    def scada_summary(self) -> dict[str, Any] | None:
        """The outstation's state (masters, the last command, authority); None while it is
        not running."""
        link = self._scada_link()
        return None if link is None else link.summary()

    def scada_points(self) -> list[tuple[int, str, str, float, float]]:
        """The point list as (IOA, type, source or command, scale, dead band)."""
        link = self._scada_link()
        if link is None:
            return []
        return [
            (p.ioa, p.type, p.source or p.command or "", p.scale, p.deadband) for p in link.points
        ]

    def set_scada_authority(self, remote: bool, done: Callable[[Any], None] | None = None) -> None:
        """Hand authority to the grid operator (or take it back): the screen's second step.
        The outstation checks the role and audits either way; ``done`` gets (ok, reason)."""
        link = self._scada_link()
        outstation = None if link is None else link.outstation

        async def switch() -> tuple[bool, str]:
            if outstation is None:
                return False, "the grid operator's link is not running"
            outcome = await outstation.set_authority(remote, self.current_session())
            return outcome.ok, outcome.reason

        self.run("scada_authority", switch(), done)

    def read(self, action: str, query: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """A store read (SQLite) in a worker thread, its result to ``done`` on the loop: the
        screen's loop never waits on the disk."""
        self.run(action, asyncio.to_thread(query), done)

    def fetch_users(self, done: Callable[[Any], None]) -> None:
        """The accounts as (name, role), for the login picker and Settings."""
        self.read("users", self.gateway.auth.users, done)

    def fetch_alarm_log(self, limit: int, done: Callable[[Any], None]) -> None:
        self.read("alarm_log", lambda: self.gateway.alarms.history(limit), done)

    def fetch_audit(self, limit: int, done: Callable[[Any], None]) -> None:
        """The last ``limit`` audit records, newest first."""
        self.read("audit", lambda: list(reversed(self.gateway.audit.records()[-limit:])), done)

    def watch_fleet(self, project_id: str, subscription: str, stale_after_s: float = 30.0) -> None:
        """Read the fleet's telemetry subscription (the Fleet page pulls it while shown)."""
        self.fleet = Fleet(stale_after_s=stale_after_s)
        self._fleet_reader = FleetReader(project_id, subscription, self.fleet)

    def pull_fleet(self, done: Callable[[Any], None]) -> None:
        """One pull off the loop; ``done`` gets the message count or the error in words."""
        reader = self._fleet_reader
        if reader is None:
            return

        def pull() -> int | str:
            try:
                return reader.pull_once(timeout_s=2.0)
            except Exception as exc:  # the link or the subscription: shown on the page
                return f"{type(exc).__name__}: {exc}"

        self.read("fleet", pull, done)

    def fetch_events(self, since: float, done: Callable[[Any], None]) -> None:
        """Chart markers since ``since``: (ts, kind, text) from the audit trail and alarm log."""

        def query() -> list[tuple[float, str, str]]:
            marks: list[tuple[float, str, str]] = []
            for r in self.gateway.audit.records_since(since, EVENT_ACTIONS):
                if r.outcome in ("ok", "latched"):
                    text = str(r.detail.get("new", "")) if r.action == "mode" else ""
                    marks.append((r.ts, r.action, text))
            for row in self.gateway.alarms.history(500):
                if float(str(row[0])) >= since and row[2] == "raised":
                    marks.append((float(str(row[0])), "alarm", str(row[1])))
            return sorted(marks)

        self.read("events", query, done)

    def create_first_admin(
        self, name: str, secret: str, done: Callable[[Any], None] | None = None
    ) -> None:
        """The first account of a new site (an admin); refused once any account exists."""

        async def create() -> Session | str:
            try:
                await self.gateway.auth.add_user(name, Role.ADMIN, secret)
            except AuthError as exc:
                return exc.code
            return await self.login(name, secret)

        self.run("first_admin", create(), done)

    def add_user(
        self, name: str, role: str, secret: str, done: Callable[[Any], None] | None = None
    ) -> None:
        async def add() -> tuple[str, str] | str:
            """(name, role) when added, else the refusal's stable code."""
            try:
                await self.gateway.auth.add_user(
                    name, Role[role.upper()], secret, by=self.current_session()
                )
            except AuthError as exc:
                return exc.code
            except KeyError:
                return "bad_role"
            return (name, role)

        self.run("user_add", add(), done)

    def write_register(
        self, device: str, register: str, value: float, done: Callable[[Any], None] | None = None
    ) -> None:
        controller = self.gateway.controllers.get(device)
        if controller is not None:
            self.run(
                "register_write",
                controller.write_register(self.current_session(), register, value),
                done,
            )

    def enable_site_admin(self, site_file: Path) -> None:
        """Devices and limits become editable; changes are saved to ``site_file``."""
        self.site_admin = SiteAdmin(self.gateway, site_file)

    @property
    def site_file(self) -> Path | None:
        return None if self.site_admin is None else self.site_admin.editor.path

    def profile_ids(self) -> list[str]:
        return registry_ids()

    def device_config(self, name: str) -> dict[str, Any] | None:
        """A device's settings as the site file holds them."""
        for cfg in self.gateway.configs:
            if cfg.name == name:
                return cfg.model_dump()
        return None

    @staticmethod
    def device_from(fields: dict[str, Any]) -> DeviceConfig | str:
        """A device's settings from the form, or what is wrong with them in one line."""
        try:
            return DeviceConfig.model_validate({k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "device"
            return f"{where}: {first['msg']}"

    def _site_change(
        self, action: str, change: Awaitable[Any], done: Callable[[Any], None] | None
    ) -> None:
        async def guarded() -> Any:
            try:
                result = await change
            except SiteChangeError as exc:
                return f"refused: {exc}"
            return "ok" if result is None else result

        self.run(action, guarded(), done)

    def _admin(self) -> SiteAdmin:
        if self.site_admin is None:
            raise SiteChangeError("this site is not editable from the app")
        return self.site_admin

    def add_device(self, fields: dict[str, Any], done: Callable[[Any], None] | None = None) -> None:
        cfg = self.device_from(fields)
        if isinstance(cfg, str):
            if done is not None:
                done(f"refused: {cfg}")
            return
        self._site_change("device_add", self._admin_call("add_device", cfg), done)

    def update_device(
        self, name: str, fields: dict[str, Any], done: Callable[[Any], None] | None = None
    ) -> None:
        cfg = self.device_from(fields)
        if isinstance(cfg, str):
            if done is not None:
                done(f"refused: {cfg}")
            return
        self._site_change("device_update", self._admin_call("update_device", name, cfg), done)

    def remove_device(self, name: str, done: Callable[[Any], None] | None = None) -> None:
        self._site_change("device_remove", self._admin_call("remove_device", name), done)

    async def _admin_call(self, method: str, *args: Any) -> Any:
        return await getattr(self._admin(), method)(self.current_session(), *args)

    def set_limits(
        self,
        device: str | None,
        changes: dict[str, float],
        done: Callable[[Any], None] | None = None,
    ) -> None:
        self._site_change("limits", self._admin_call("set_limits", device, changes), done)

    def limits_of(self, device: str | None) -> SafetyLimits:
        if device is None:
            return self.gateway.limits
        controller = self.gateway.controllers.get(device)
        return controller.guard.limits if controller else self.gateway.device_limits[device]

    def maintenance(self, device: str) -> bool:
        controller = self.gateway.controllers.get(device)
        return bool(controller and controller.maintenance)

    def set_maintenance(
        self, device: str, on: bool, done: Callable[[Any], None] | None = None
    ) -> None:
        self._site_change("maintenance", self._admin_call("set_maintenance", device, on), done)

    def test_connection(
        self, fields: dict[str, Any], done: Callable[[Any], None] | None = None
    ) -> None:
        """One poll of the form's device (not added yet): identity, decoded and raw values."""
        cfg = self.device_from(fields)
        if isinstance(cfg, str):
            if done is not None:
                done(ConnectionTest(False, cfg))
            return
        self.run("connection_test", check_connection(cfg), done)

    def discover(
        self, host: str, port: int, unit: int | None, done: Callable[[Any], None] | None = None
    ) -> None:
        """``bessai discover`` from the device form; a SunSpec map is saved as a profile."""

        async def find() -> tuple[Discovery, str | None] | str:
            try:
                found = await discover(host, port, unit=unit)
            except DiscoveryError as exc:
                return str(exc)
            if found.sunspec is None:
                return found, None
            data = discovered_profile(found.sunspec, host, port, time.strftime("%Y-%m-%dT%H:%M:%S"))
            path = self.gateway.data_dir / "profiles" / f"{data['id']}.json"
            try:
                await asyncio.to_thread(write_profile, data, path)
            except OSError as exc:
                return f"{path}: cannot write: {exc.strerror}"
            return found, str(path)

        self.run("discover", find(), done)

    def remove_user(self, name: str, done: Callable[[Any], None] | None = None) -> None:
        self._user_change(
            "user_remove", self.gateway.auth.remove_user(name, by=self.current_session()), done
        )

    def unlock_user(self, name: str, done: Callable[[Any], None] | None = None) -> None:
        self._user_change(
            "user_unlock", self.gateway.auth.unlock(name, by=self.current_session()), done
        )

    def reset_user(self, name: str, secret: str, done: Callable[[Any], None] | None = None) -> None:
        self._user_change(
            "user_reset",
            self.gateway.auth.reset_secret(name, secret, by=self.current_session()),
            done,
        )

    def _user_change(
        self, action: str, change: Awaitable[Any], done: Callable[[Any], None] | None
    ) -> None:
        async def guarded() -> str:
            try:
                await change
            except AuthError as exc:
                return exc.code
            return "ok"

        self.run(action, guarded(), done)

    def start_commissioning(
        self,
        device: str,
        tests: list[str],
        progress: Callable[[str, str], None],
        done: Callable[[Any], None] | None = None,
        *,
        comms_wait_s: float = 120.0,
    ) -> str | None:
        """Start a commissioning run; None when started, else why not (in English)."""
        session = self.current_session()
        if session is None:
            return "log in as an engineer first"
        if self.commissioning is not None:
            return "a commissioning run is in progress"
        try:
            run = CommissioningRun(self.gateway, device, session, comms_wait_s=comms_wait_s)
        except CommissioningError as exc:
            return str(exc)
        run.progress = progress
        self.commissioning = run

        async def go() -> dict[str, Any]:
            try:
                report = await run.run(tuple(t for t in TESTS if t in tests))
            finally:
                self.commissioning = None
            return report.to_json()

        self.run("commissioning", go(), done)
        return None

    def is_simulated(self, device: str) -> bool:
        return device in self.gateway.simulators

    def drop_simulated_link(self, device: str, seconds: float) -> bool:
        """For the comms-loss test on a simulated device: it stops answering for a while."""
        sim = self.gateway.simulators.get(device)
        if sim is None:
            return False
        sim.inject(Fault.NO_ANSWER)
        sim.drop_connections()
        asyncio.get_event_loop().call_later(seconds, sim.inject, Fault.NO_ANSWER, False)
        return True

    def write_report(
        self,
        report: dict[str, Any],
        writer: Callable[[dict[str, Any], Path], None],
        done: Callable[[Any], None] | None = None,
    ) -> Path:
        """The report's JSON (off the loop) in DATA_DIR/reports; ``writer`` draws the PDF beside it."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(report["finished_at"]))
        base = self.gateway.data_dir / "reports" / f"commissioning-{report['device']}-{stamp}"

        async def both() -> str:
            try:
                await asyncio.to_thread(write_report_json, report, base.with_suffix(".json"))
                writer(report, base.with_suffix(".pdf"))
            except OSError as exc:
                return f"cannot write the report: {exc.strerror}: {exc.filename}"
            return str(base.with_suffix(".pdf"))

        self.run("report", both(), done)
        return base
