"""Unverified is not trusted for unattended control, on a two-battery site with the doubt on
the SECOND: ``b``'s profile (the site's own, in PROFILE_DIR) leaves its power registers
unverified. ``b`` enters Manual only on an engineer's confirmation (named in the audit row);
Auto, the site's Auto and the grid operator's control are refused naming it, while the healthy
``a`` still takes Auto. A passing commissioning run of ``b`` measures its power and records
the registers as verified by its report, in DATA_DIR, keyed by the profile's digest: Auto takes
``b`` from then on, across a restart, and a changed profile file voids the record.

Real simulators on 127.0.0.1, the real gateway, the real commissioning run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bessai.core.control.events import ControlMode
from bessai.core.control.verification import VerificationBook, unverified_power
from bessai.core.guard.safety import Reason
from bessai.core.site.commissioning import CommissioningRun
from bessai.core.site.gateway import Gateway
from bessai.core.site.scada_link import GatewayScadaSite
from bessai.core.stores.auth import AuthService, Role, Session
from bessai.drivers.profile import Role as Quantity
from bessai.drivers.profile_loader import load_profile, open_profile
from bessai.drivers.simulator.server import BessSimulator
from tests.helpers import sim_device, until

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
DOUBTFUL = (Quantity.ACTIVE_POWER_KW, Quantity.SETPOINT_POWER_KW)


def _doubtful_profile(directory: Path) -> tuple[Path, list[str]]:
    """sim_bess with its active-power and setpoint registers unverified, as a site's own file."""
    profile = load_profile("sim_bess")
    data = profile.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    doubted = []
    for reg in data["registers"]:
        if reg.get("role") in {q.value for q in DOUBTFUL}:
            reg["verified"] = False
            doubted.append(reg["name"])
    data["id"] = "sim_bess_doubtful"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "sim_bess_doubtful.json"
    path.write_text(json.dumps(data, indent=1))
    return path, doubted


class Site:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.sims = [BessSimulator(seed=s) for s in (1, 2)]
        self.ports: list[int] = []
        self.profile, self.doubted = _doubtful_profile(tmp_path / "profiles")

    def gateway(self, auth: AuthService) -> Gateway:
        devices = [
            sim_device(self.ports[0], name="a", poll_interval_s=0.2),
            sim_device(self.ports[1], name="b", profile=str(self.profile), poll_interval_s=0.2),
        ]
        return Gateway(
            "cl-doubt-01",
            devices,
            data_dir=self.tmp / "data",
            control_interval_s=0.1,
            auth=auth,
            profile_dir=self.tmp / "profiles",
        )


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Site, Gateway, Session, Session]]:
    place = Site(tmp_path)
    place.ports = [await sim.start_tcp("127.0.0.1", 0) for sim in place.sims]
    auth = AuthService(tmp_path / "data" / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
    await auth.add_user("eve", Role.ENGINEER, "161803", by=admin)
    operator, engineer = await auth.login("olga", "314159"), await auth.login("eve", "161803")
    gw = place.gateway(auth)
    await gw.start()
    try:
        await until(
            lambda: all(c.telemetry.comms_up for c in gw.controllers.values()), 10.0, "samples"
        )
        yield place, gw, operator, engineer
    finally:
        await gw.stop()
        auth.close()
        for sim in place.sims:
            await sim.stop()


async def test_unverified_power_takes_manual_only_on_an_engineers_confirmation(
    site: tuple[Site, Gateway, Session, Session],
) -> None:
    place, gw, olga, eve = site
    commands = gw.commands
    assert gw.controllers["a"].unverified_power == ()
    doubt = gw.controllers["b"].unverified_power
    assert set(place.doubted) <= set(doubt)  # the roles' registers (and their control section)
    assert commands.unverified("site") == {"b": doubt}
    named = ", ".join(doubt)
    # Manual: not on an operator's word, not without the confirmation, then on the engineer's.
    for session, confirm in ((olga, False), (eve, False)):
        refused = await commands.set_mode(
            session, ControlMode.MANUAL, "b", confirm_unverified=confirm
        )
        assert not refused.ok
        assert refused.reason is Reason.CONFIRM_UNVERIFIED
        assert named in refused.message_en
    refused = await commands.set_mode(olga, ControlMode.MANUAL, "b", confirm_unverified=True)
    assert refused.reason is Reason.REFUSED_ROLE
    assert gw.controllers["b"].mode is ControlMode.STANDBY
    ok = await commands.set_mode(eve, ControlMode.MANUAL, "b", confirm_unverified=True)
    assert ok.ok, ok.message_en
    assert gw.controllers["b"].mode is ControlMode.MANUAL
    assert (await commands.command_setpoint(eve, 3.0, "b")).ok
    await gw.books.settled()
    row = next(r for r in reversed(gw.audit.records()) if r.action == "mode" and r.outcome == "ok")
    assert (row.user, row.detail["device"], row.detail["unverified"]) == ("eve", "b", list(doubt))
    assert (await commands.set_mode(eve, ControlMode.STANDBY, "b")).ok
    # Auto: refused for b, and for the site naming b; the healthy a still takes it.
    refused = await commands.set_mode(eve, ControlMode.AUTO, "b", confirm_unverified=True)
    assert refused.reason is Reason.REFUSED_UNVERIFIED
    assert dict(refused.params)["mode"] == "auto"
    site_refused = await commands.set_mode(eve, ControlMode.AUTO, "site")
    assert (site_refused.ok, site_refused.device) == (False, "b")
    assert site_refused.message_en.startswith(f"b: Unverified power registers ({named})")
    assert gw.controllers["a"].mode is ControlMode.STANDBY  # refused whole: a left as it was
    assert (await commands.set_mode(olga, ControlMode.AUTO, "a")).ok
    assert gw.controllers["a"].mode is ControlMode.AUTO
    # The site in Manual: b must be confirmed there too, and is named.
    site_manual = await commands.set_mode(olga, ControlMode.MANUAL, "site")
    assert (site_manual.reason, site_manual.device) == (Reason.CONFIRM_UNVERIFIED, "b")
    # The grid operator: remote control and its setpoints refused for b, naming it.
    scada = GatewayScadaSite(gw)
    outcome = await scada.remote_control(True, "scada:10.0.0.9")
    assert not outcome.ok
    assert outcome.reason.startswith("b: Unverified power registers")
    assert gw.controllers["b"].mode is ControlMode.STANDBY
    assert gw.controllers["a"].mode is ControlMode.AUTO  # refused whole: a untouched
    setpoint = await scada.site_setpoint_kw(5.0, "scada:10.0.0.9")
    assert not setpoint.ok
    assert "remote control refused" in setpoint.reason


async def test_a_passing_run_verifies_the_power_registers_by_its_report(
    site: tuple[Site, Gateway, Session, Session],
) -> None:
    place, gw, olga, eve = site
    doubt = gw.controllers["b"].unverified_power
    run = CommissioningRun(gw, "b", eve, step_kw=3.0, settle_timeout_s=10.0)
    report = await run.run(("identity", "poll", "step"))
    assert report.passed, [(t.name, t.detail) for t in report.tests]
    assert report.profile["unverified_power"] == list(doubt)
    assert report.verified == list(doubt)
    assert gw.controllers["b"].unverified_power == ()
    profile = gw.devices["b"].profile
    assert {profile.by_name(n).verified_by for n in doubt} == {report.id}
    await gw.books.settled()
    rows = [r for r in gw.audit.records() if r.action == "commissioning_verified"]
    assert [(r.user, r.detail["report"], r.detail["registers"]) for r in rows] == [
        ("eve", report.id, list(doubt))
    ]
    record = json.loads((place.tmp / "data" / "verification.json").read_text())
    assert set(record["b"]["registers"]) == set(doubt)
    assert (await gw.commands.set_mode(olga, ControlMode.AUTO, "site")).ok  # b trusted now
    assert gw.controllers["b"].mode is ControlMode.AUTO
    # The record outlives the process: read anew from DATA_DIR, b's profile is trusted...
    book = VerificationBook(place.tmp / "data" / "verification.json")
    assert unverified_power(book.view("b", open_profile(place.profile))) == ()
    # ...until b's profile file changes: the digest differs, the record is void.
    place.profile.write_text(place.profile.read_text().replace("sim_bess_doubtful", "sim_bess_x"))
    assert unverified_power(book.view("b", open_profile(place.profile))) == doubt


def test_a_record_that_cannot_be_read_is_moved_aside_and_trusts_nothing(tmp_path: Path) -> None:
    path, doubted = _doubtful_profile(tmp_path / "profiles")
    record = tmp_path / "verification.json"
    record.write_text('{"b": {"profile_sha256": ')  # cut short by a full disk
    book = VerificationBook(record)
    view = book.view("b", open_profile(path))
    assert set(doubted) <= set(unverified_power(view))
    assert not record.exists()
    assert [p.name.startswith("verification.json.corrupt-") for p in tmp_path.iterdir()].count(
        True
    ) == 1
    # A new run records again, in a good file.
    confirmed = book.confirm("b", view, doubted, "commissioning-b-x", "eve")
    assert {confirmed.by_name(n).verified_by for n in doubted} == {"commissioning-b-x"}
    assert json.loads(record.read_text())["b"]["registers"][doubted[0]]["by"] == "eve"
