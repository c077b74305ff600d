"""Modbus/TCP Security: a device behind TLS (the simulator on pymodbus' TLS server) polls and is
commanded through the gateway; an unverified server is refused in one line; certificates are read
again at reconnect; discovery (and ``bessai discover``) speak it too."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bessai.core.config.endpoint import device_endpoint
from bessai.core.config.settings import load_site_file
from bessai.core.control.events import ControlMode, SetpointApplied
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role
from bessai.drivers.device import Backoff, DeviceUnavailable, ModbusDevice, TcpEndpoint
from bessai.drivers.discovery import DiscoveryError, discover
from bessai.drivers.profile_loader import load_profile
from bessai.drivers.simulator.server import BessSimulator
from bessai.drivers.tls import TlsFiles
from bessai.drivers.traffic import Outcome
from tests.helpers import run_bessai, until
from tests.tls_certs import Issued, Pki, server_context

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@dataclass
class Site:
    pki: Pki
    gateway: Issued  # the gateway's own certificate, signed by the site CA
    sim: BessSimulator
    port: int


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The simulator served over TLS with a site-CA certificate, requiring a site-CA client."""
    pki = Pki(tmp_path / "pki")
    device = pki.issue("device", server=True)
    sim = BessSimulator(step_hz=0, seed=3)
    port = await sim.start_tcp("127.0.0.1", 0, tls=server_context(device, client_ca=pki.ca))
    try:
        yield Site(pki, pki.issue("gateway", server=False), sim, port)
    finally:
        await sim.stop()


def tls_device(port: int, files: TlsFiles, name: str = "bess") -> ModbusDevice:
    return ModbusDevice(
        name,
        load_profile("sim_bess"),
        TcpEndpoint("127.0.0.1", port, tls=files),
        timeout_s=0.5,
        backoff=Backoff(base_s=0.0, max_s=0.0),  # retry at once: the tests count attempts
        seed=1,
    )


async def test_a_tls_device_in_the_site_file_polls_and_is_commanded_with_read_back(
    site: Site, tmp_path: Path
) -> None:
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        f"""
site_id = "tls-site"
[[devices]]
name = "bess"
profile = "sim_bess"
host = "127.0.0.1"
port = {site.port}
poll_interval_s = 0.1
timeout_s = 0.5
tls = {{ ca = "{site.pki.ca}", cert = "{site.gateway.cert}", key = "{site.gateway.key}" }}
""",
        encoding="utf-8",
    )
    cfg = load_site_file(site_file).devices[0]
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
    gw = Gateway("tls-site", [cfg], data_dir=tmp_path / "data", control_interval_s=0.1, auth=auth)
    applied: list[SetpointApplied] = []
    gw.bus.subscribe(SetpointApplied, applied.append)
    await gw.start()
    try:
        ctl = gw.controller()
        await until(lambda: ctl.telemetry.comms_up, what="comms over TLS")
        device = gw.devices["bess"]
        assert str(device.endpoint) == f"tls://127.0.0.1:{site.port}"
        operator = await auth.login("olga", "314159")
        assert (await ctl.set_mode(operator, ControlMode.MANUAL)).ok
        assert (await ctl.command_setpoint(operator, 20.0)).ok
        await until(lambda: site.sim.model.setpoint_kw == pytest.approx(20.0), what="setpoint")
        await until(lambda: any(a.value_kw == pytest.approx(20.0) for a in applied))
        writes = [r for r in device.traffic if r.is_write and r.outcome is Outcome.OK]
        assert writes, "no write went over the TLS link"
        read_backs = [r for r in device.traffic if r.read_back and r.outcome is Outcome.OK]
        assert read_backs, "no read-back went over the TLS link"
        assert device.stats.timeouts == device.stats.errors == 0
    finally:
        await gw.stop()


async def test_tls_without_a_port_is_port_802(site: Site, tmp_path: Path) -> None:
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        f"""
[[devices]]
name = "bess"
profile = "sim_bess"
host = "10.0.0.7"
tls = {{ ca = "{site.pki.ca}" }}
[[devices]]
name = "plain"
profile = "sim_bess"
host = "10.0.0.8"
""",
        encoding="utf-8",
    )
    secure, plain = load_site_file(site_file).devices
    profile = load_profile("sim_bess")
    endpoint = device_endpoint(secure, profile)
    assert isinstance(endpoint, TcpEndpoint)
    assert (endpoint.port, str(endpoint)) == (802, "tls://10.0.0.7:802")
    assert endpoint.tls == TlsFiles(str(site.pki.ca))
    assert str(device_endpoint(plain, profile)) == f"tcp://10.0.0.8:{profile.connection.port}"


async def test_a_server_certificate_the_site_ca_did_not_sign_is_refused_in_one_line(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rogue = Pki(tmp_path / "rogue", "someone else's CA")
    dev = tls_device(
        site.port, TlsFiles(str(rogue.ca), str(site.gateway.cert), str(site.gateway.key))
    )
    caplog.set_level(logging.INFO, logger="bessai.drivers.device")
    try:
        for _ in range(3):  # retries say it once
            assert not await dev.connect()
        with pytest.raises(DeviceUnavailable, match="server certificate refused"):
            await dev.poll()
    finally:
        await dev.close()
    assert dev.last_error is not None
    assert "\n" not in dev.last_error
    assert dev.last_error.startswith(
        f"bess: tls://127.0.0.1:{site.port}: server certificate refused"
    )
    assert str(rogue.ca) in dev.last_error
    said = [r for r in caplog.records if "certificate refused" in r.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.ERROR
    assert "Traceback" not in caplog.text
    assert dev.stats.connects == 0
    assert site.sim.requests_received == 0  # not one request left for an unverified peer


async def test_the_device_certificate_must_name_the_host_or_the_configured_server_name(
    tmp_path: Path,
) -> None:
    pki = Pki(tmp_path / "pki")
    named = pki.issue("bess-7", server=True, names=("bess-7.plant.example",), ips=())
    gateway = pki.issue("gateway", server=False)
    sim = BessSimulator(step_hz=0)
    port = await sim.start_tcp("127.0.0.1", 0, tls=server_context(named, client_ca=pki.ca))
    files = TlsFiles(str(pki.ca), str(gateway.cert), str(gateway.key))
    wrong = tls_device(port, files)
    right = tls_device(port, TlsFiles(**{**files.__dict__, "server_name": "bess-7.plant.example"}))
    try:
        assert not await wrong.connect()
        assert wrong.last_error is not None
        assert "server certificate refused" in wrong.last_error
        assert "127.0.0.1" in wrong.last_error
        result = await right.poll()
        assert result.complete
        assert result.values["soc_pct"] == pytest.approx(50.0)
    finally:
        await wrong.close()
        await right.close()
        await sim.stop()


async def test_a_renewed_gateway_certificate_is_used_at_the_next_reconnect(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The device refuses the gateway's expired-by-policy certificate (another CA's); the files
    are replaced in place, and the same ModbusDevice, without a restart, polls."""
    rogue = Pki(tmp_path / "rogue", "last year's CA")
    old = rogue.issue("gateway", server=False)
    cert, key = tmp_path / "gateway.pem", tmp_path / "gateway.key"
    shutil.copyfile(old.cert, cert)
    shutil.copyfile(old.key, key)
    dev = tls_device(site.port, TlsFiles(str(site.pki.ca), str(cert), str(key)))
    caplog.set_level(logging.ERROR, logger="bessai.drivers.device")
    try:
        with pytest.raises(DeviceUnavailable):
            await dev.poll()
        assert dev.last_error is not None
        assert "closed the TLS connection before any answer" in dev.last_error
        assert str(cert) in dev.last_error
        shutil.copyfile(site.gateway.cert, cert)
        shutil.copyfile(site.gateway.key, key)
        result = await dev.poll()
    finally:
        await dev.close()
    assert result.complete
    assert result.values["soc_pct"] == pytest.approx(50.0)
    assert dev.last_error is None


async def test_unreadable_or_mismatched_files_at_connect_are_one_line(
    site: Site, tmp_path: Path
) -> None:
    """A file removed or spoiled after the site file was read fails the connect, not the loop."""
    ca = tmp_path / "ca.pem"
    shutil.copyfile(site.pki.ca, ca)
    other = site.pki.issue("other", server=False)
    dev = tls_device(site.port, TlsFiles(str(ca), str(site.gateway.cert), str(other.key)))
    try:
        assert not await dev.connect()
        assert dev.last_error is not None
        assert dev.last_error.startswith(f"bess: tls cert {site.gateway.cert} / key {other.key}")
        dev = tls_device(site.port, TlsFiles(str(tmp_path / "gone.pem")))
        assert not await dev.connect()
        assert (
            dev.last_error
            == f"bess: tls ca {tmp_path / 'gone.pem'}: cannot load: No such file or directory"
        )
    finally:
        await dev.close()


async def test_discovery_over_tls_finds_the_device_and_refuses_an_unverified_one(
    site: Site, tmp_path: Path
) -> None:
    files = TlsFiles(str(site.pki.ca), str(site.gateway.cert), str(site.gateway.key))
    found = await discover("127.0.0.1", site.port, unit=1, tls=files)
    assert found.units == [1]
    assert [s.profile_id for s in found.suggestions][:1] == ["sim_bess"]
    rogue = Pki(tmp_path / "rogue", "someone else's CA")
    with pytest.raises(DiscoveryError, match="certificate is not signed by"):
        await discover(
            "127.0.0.1", site.port, unit=1, tls=TlsFiles(str(rogue.ca), files.cert, files.key)
        )


async def test_bessai_discover_takes_the_tls_files(site: Site, tmp_path: Path) -> None:
    tls = ["--tls-ca", str(site.pki.ca), "--tls-cert", str(site.gateway.cert)]
    code, out, err = await run_bessai(
        "discover",
        "127.0.0.1",
        "--port",
        str(site.port),
        "--unit",
        "1",
        *tls,
        "--tls-key",
        str(site.gateway.key),
        cwd=tmp_path,
    )
    assert (code, err) == (0, ""), err
    assert f"127.0.0.1:{site.port}: " in out
    assert "units answering: 1" in out
    assert "suggested profile sim_bess" in out
    code, out, err = await run_bessai("discover", "127.0.0.1", "--unit", "1", *tls, cwd=tmp_path)
    assert code == 2
    assert err.strip() == "bessai: discover: --tls-cert and --tls-key go together, with --tls-ca"
