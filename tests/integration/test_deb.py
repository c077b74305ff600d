"""The Debian package: built, installed with apt on this machine, run as its service user,
upgraded in place, removed (data kept) and purged (nothing kept)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(900)


def _run(*cmd: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        cmd, capture_output=True, text=True, check=check, env=env, timeout=600, **kwargs
    )  # type: ignore[call-overload]


def test_the_package_installs_runs_upgrades_and_removes_cleanly() -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.fail("the package test builds a .deb: install Debian's dpkg-dev")
    if os.geteuid() != 0:
        # Installing a package needs root, which a contributor's account may not have; CI has it.
        if os.environ.get("CI") == "true":
            pytest.fail("the package test installs a .deb: CI runs it as root")
        pytest.skip("the package test installs a .deb with apt: only root can (CI runs it)")
    if _run("dpkg-query", "-W", "-f=${Status}", "bessai-edge", check=False).stdout.startswith(
        "install ok"
    ):
        pytest.fail("bessai-edge is installed on this machine: this test would remove it")
    built = _run("bash", str(ROOT / "packaging" / "deb" / "build.sh"), cwd=ROOT)
    deb = ROOT / built.stdout.strip().splitlines()[-1]
    assert deb.name.startswith("bessai-edge_0.")
    assert deb.suffix == ".deb"
    try:
        _run("apt-get", "install", "-y", "-qq", "--no-install-recommends", str(deb))
        assert _run("/usr/bin/bessai", "--version").stdout.strip().startswith("bessai-edge ")
        # The manifest of shipped files is in the package and matches what was installed.
        checked = _run("/opt/bessai/.venv/bin/python", "-m", "bessai.integrity.manifest")
        assert checked.stdout.strip().endswith("files match"), checked.stdout + checked.stderr
        user = pwd.getpwnam("bessai")
        data = Path("/var/lib/bessai")
        assert data.stat().st_uid == user.pw_uid
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert Path("/etc/bessai/bessai.env").read_text().count("DATA_DIR=/var/lib/bessai") == 1
        # A short headless run as the service user, as the unit would start it.
        ran = _run(
            "runuser",
            "-u",
            "bessai",
            "--",
            "env",
            "DATA_DIR=/var/lib/bessai",
            "HEALTH_PORT=0",
            "/usr/bin/bessai",
            "--headless",
            "--duration",
            "3",
            cwd="/var/lib/bessai",
        )
        assert "Traceback" not in ran.stderr
        assert (data / "audit.db").stat().st_uid == user.pw_uid
        history = (data / "history.db").stat().st_size
        assert history > 0
        # An upgrade (the same package again) keeps data and config.
        _run("dpkg", "-i", str(deb))
        assert (data / "history.db").stat().st_size >= history
        # Remove keeps the site's data and config; purge keeps nothing.
        _run("dpkg", "-r", "bessai-edge")
        assert not Path("/opt/bessai/.venv/bin/bessai").exists()
        assert not Path("/usr/bin/bessai").exists()
        assert (data / "audit.db").exists()
        assert Path("/etc/bessai/bessai.env").exists()
        _run("dpkg", "-P", "bessai-edge")
        assert not data.exists()
        assert not Path("/etc/bessai").exists()
        with pytest.raises(KeyError):
            pwd.getpwnam("bessai")
    finally:
        _run("dpkg", "-P", "bessai-edge", check=False)
        shutil.rmtree(ROOT / "build" / "deb", ignore_errors=True)
