"""Site changes against a hostile disk: a read-only or full file system, or a site file
broken by hand, refuse the change whole (nothing in force, nothing written), naming the file
and the cause; a good change keeps the file's comments and leaves a backup."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bessai.core.config.settings import DeviceConfig, load_site_file
from bessai.core.control.events import ControlMode
from bessai.core.site.admin import SiteAdmin, SiteChangeError
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role, Session
from tests.tmpfs import mount, tmpfs

SITE = (
    "# Antofagasta, container 2: keep this note\n"
    'site_id = "cl-admin-01"\n\n'
    '[[devices]]\nname = "bess"\nprofile = "sim_bess"\nsimulated = true\n'
    "poll_interval_s = 0.2  # fast for the test\n"
)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "size=256k") as mount:
        yield mount


def _admin(gateway: Gateway, directory: Path) -> tuple[SiteAdmin, Path]:
    """A site file holding SITE in ``directory``, and the admin that edits it."""
    path = directory / "site.toml"
    path.write_text(SITE)
    return SiteAdmin(gateway, path), path


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Gateway, Session]]:
    auth = AuthService(
        tmp_path / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("enzo", Role.ENGINEER, "314159", by=admin)
    gateway = Gateway(
        "cl-admin-01",
        [DeviceConfig(name="bess", profile="sim_bess", simulated=True, poll_interval_s=0.2)],
        data_dir=tmp_path / "data",
        auth=auth,
    )
    await gateway.start()
    session = await auth.login("enzo", "314159")
    try:
        yield gateway, session
    finally:
        await gateway.stop()


@pytest.mark.tmpfs
async def test_a_read_only_site_file_refuses_the_change_and_nothing_changes(
    site: tuple[Gateway, Session], disk: Path
) -> None:
    gateway, session = site
    admin, path = _admin(gateway, disk)
    mount(["-o", "remount,bind,ro", str(disk)])  # the mount read-only (a user namespace may)
    with pytest.raises(SiteChangeError, match=r"site\.toml: cannot write: Read-only file system"):
        await admin.set_limits(session, "bess", {"max_discharge_kw": 30.0})
    assert gateway.controllers["bess"].guard.limits.max_discharge_kw == 100.0
    assert path.read_text() == SITE


@pytest.mark.tmpfs
async def test_a_full_disk_refuses_a_new_device(site: tuple[Gateway, Session], disk: Path) -> None:
    gateway, session = site
    admin, path = _admin(gateway, disk)
    fd = os.open(disk / "ballast", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    second = DeviceConfig(name="bess2", profile="sim_bess", simulated=True)
    with pytest.raises(SiteChangeError, match="No space left on device"):
        await admin.add_device(session, second)
    assert "bess2" not in gateway.devices
    assert path.read_text() == SITE


async def test_a_broken_site_file_is_named_and_left_alone(
    site: tuple[Gateway, Session], tmp_path: Path
) -> None:
    gateway, session = site
    path = tmp_path / "site.toml"
    path.write_text(SITE + "[limits\n")
    admin = SiteAdmin(gateway, path)
    with pytest.raises(SiteChangeError, match="not valid TOML"):
        await admin.set_limits(session, None, {"max_charge_kw": 50.0})
    assert path.read_text().endswith("[limits\n")


async def test_a_change_keeps_comments_and_a_backup_and_refuses_what_start_would_refuse(
    site: tuple[Gateway, Session], tmp_path: Path
) -> None:
    gateway, session = site
    admin, path = _admin(gateway, tmp_path)
    assert await admin.set_limits(session, None, {"max_charge_kw": 50.0}) == ["bess"]
    text = path.read_text()
    assert text.startswith("# Antofagasta, container 2: keep this note")
    assert "poll_interval_s = 0.2  # fast for the test" in text
    assert "max_charge_kw = 50.0" in text
    assert gateway.controllers["bess"].guard.limits.max_charge_kw == 50.0
    backups = list(tmp_path.glob("site.toml.*.bak"))  # noqa: ASYNC240
    assert [b.read_text() for b in backups] == [SITE]
    # A voltage window outside what the simulator's pack is rated for: refused at start,
    # so refused here, and nothing changes.
    with pytest.raises(SiteChangeError, match="outside what the battery is rated for"):
        await admin.set_limits(
            session, "bess", {"pack_voltage_min_v": 40.0, "pack_voltage_max_v": 60.0}
        )
    assert gateway.controllers["bess"].guard.limits.pack_voltage_min_v > 600
    # An unknown profile is refused before anything starts.
    with pytest.raises(SiteChangeError, match="no such file, nor a registry profile id"):
        await admin.add_device(
            session, DeviceConfig(name="x", profile="no_such_thing", host="127.0.0.1")
        )
    assert "x" not in gateway.devices
    # Nobody logged in may change nothing.
    with pytest.raises(SiteChangeError, match="engineer must be logged in"):
        await admin.remove_device(None, "bess")


async def test_an_added_device_is_polled_measured_and_gone_when_removed(
    site: tuple[Gateway, Session], tmp_path: Path
) -> None:
    gateway, session = site
    admin, path = _admin(gateway, tmp_path)
    await admin.add_device(
        session, DeviceConfig(name="bess2", profile="sim_bess", simulated=True, poll_interval_s=0.2)
    )
    status = gateway.pollers["bess2"].status
    for _ in range(50):
        if status.polls_ok:
            break
        await asyncio.sleep(0.1)
    assert status.polls_ok > 0
    metrics = gateway.metrics.render().decode()
    assert 'bessai_device_connected{device="bess2",site="cl-admin-01"} 1.0' in metrics
    controller = gateway.controllers["bess2"]
    await controller.set_mode(session, ControlMode.MANUAL)
    await controller.command_setpoint(session, 10.0)
    sim = gateway.simulators["bess2"]
    for _ in range(50):
        if sim.model.setpoint_kw == 10.0:
            break
        await asyncio.sleep(0.1)
    assert sim.model.setpoint_kw == 10.0
    await admin.remove_device(session, "bess2")
    # Zero power was written before the device was let go.
    assert sim.model.setpoint_kw == 0.0
    assert ("setpoint_power_kw", 0.0) in sim.writes
    assert "bess2" not in gateway.devices
    gauges = [
        line
        for line in gateway.metrics.render().decode().splitlines()
        if line.startswith(("bessai_device_connected{", "bessai_control_mode{"))
    ]
    assert gauges
    assert not [line for line in gauges if 'device="bess2"' in line]
    assert [d.name for d in load_site_file(path).devices] == ["bess"]


async def test_a_connection_test_says_what_failed_in_both_languages(tmp_path: Path) -> None:
    from bessai.core.site.admin import check_connection

    closed = socket_port()
    refused = await check_connection(
        DeviceConfig(name="x", profile="sim_bess", host="127.0.0.1", port=closed, timeout_s=0.3)
    )
    assert not refused.ok
    endpoint = f"tcp://127.0.0.1:{closed}"
    assert refused.detail == f"no connection to {endpoint}"
    assert refused.detail_es == f"sin conexión con {endpoint}"

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # takes every request, answers none
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        mute = await check_connection(
            DeviceConfig(name="x", profile="sim_bess", host="127.0.0.1", port=port, timeout_s=0.2),
            timeout_s=1.0,
        )
    finally:
        server.close()
    assert not mute.ok
    assert mute.read == 0
    # A device that takes the connection and answers nothing is said so, not raised.
    assert mute.detail.startswith(f"no answer from tcp://127.0.0.1:{port}")
    assert mute.detail_es.startswith(f"sin respuesta de tcp://127.0.0.1:{port}")

    unknown = await check_connection(
        DeviceConfig(name="x", profile="no_such_vendor", host="127.0.0.1", port=port)
    )
    assert not unknown.ok
    assert unknown.detail_es.startswith("perfil: ")
    assert "no_such_vendor" in unknown.detail


def socket_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
