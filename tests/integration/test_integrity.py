"""SR 3.2: the shipped model, profiles and translations are checked against the manifest.

The refusals are tested on a copy of the package in a temporary folder, with
a real file changed or added there, run as ``python -m bessai`` from that copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import aiohttp
import pytest

import bessai
from bessai.core.config.settings import Settings, profile_dir
from bessai.core.site.gateway import Gateway
from bessai.drivers.profile_loader import ProfileError, open_profile
from bessai.integrity import manifest
from tests.helpers import free_port, sim_device

PACKAGE = Path(bessai.__file__).resolve().parent


def test_the_manifest_names_every_shipped_file_with_its_current_digest() -> None:
    stale = manifest.changed_files()
    assert not stale, (
        "bessai/integrity/manifest.json is stale: "
        + "; ".join(stale)
        + f". Regenerate it with: {manifest.WRITE_COMMAND}"
    )
    shipped = manifest.expected_digests()
    assert "resources/models/dispatch.onnx" in shipped
    assert "resources/models/dispatch.json" in shipped
    assert "resources/translations/bessai_es.qm" in shipped
    assert "registry/sim_bess.json" in shipped
    data = (PACKAGE / "registry" / "sim_bess.json").read_bytes()
    manifest.check_shipped("registry/sim_bess.json", data)
    with pytest.raises(manifest.IntegrityError, match=r"^registry/sim_bess\.json: refused: sha256"):
        manifest.check_shipped("registry/sim_bess.json", data + b" ")
    with pytest.raises(manifest.IntegrityError, match="not a file the package shipped"):
        manifest.check_shipped("registry/planted.json", data)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bessai package copied (without caches); each test copies it again to change it."""
    root = tmp_path_factory.mktemp("pkg")
    shutil.copytree(PACKAGE, root / "bessai", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _copy(package_copy: Path, tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    shutil.copytree(package_copy, root)
    return root


async def _bessai(root: Path, cwd: Path, *args: str, **env_set: str) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "PYTHONPATH": str(root),
        "DATA_DIR": str(cwd / "data"),
        **env_set,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bessai",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finish(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    _, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_a_changed_shipped_profile_stops_the_start_with_one_line(
    package_copy: Path, tmp_path: Path
) -> None:
    root = _copy(package_copy, tmp_path)
    profile = root / "bessai" / "registry" / "sim_bess.json"
    data = json.loads(profile.read_text())
    data["model"] = data["model"] + " (edited)"
    profile.write_text(json.dumps(data))
    code, err = await _finish(await _bessai(root, tmp_path, "--headless", "--duration", "1"))
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(
        "bessai: configuration error: registry/sim_bess.json: $: refused: sha256 "
    )
    assert "is not the shipped" in lines[0]
    assert "Traceback" not in err


async def test_a_profile_slipped_into_the_registry_is_refused(
    package_copy: Path, tmp_path: Path
) -> None:
    root = _copy(package_copy, tmp_path)
    registry = root / "bessai" / "registry"
    shutil.copy(registry / "sim_bess.json", registry / "planted.json")
    proc = await _bessai(
        root,
        tmp_path,
        "--headless",
        "--duration",
        "1",
        INVERTER_IP="127.0.0.1",
        DRIVER_PROFILE_PATH="planted",
    )
    code, err = await _finish(proc)
    assert code == 2, err
    assert err.strip() == (
        "bessai: configuration error: registry/planted.json: $: refused: not a file the "
        "package shipped (not in its manifest); remove it, or after a deliberate addition in "
        f"a source checkout: {manifest.WRITE_COMMAND}"
    )


async def test_a_changed_model_or_translation_raises_the_alarm_and_shows_on_health(
    package_copy: Path, tmp_path: Path
) -> None:
    root = _copy(package_copy, tmp_path)
    models = root / "bessai" / "resources" / "models"
    metadata = json.loads((models / "dispatch.json").read_text())
    metadata["output"]["max"] = metadata["output"]["max"] * 2  # a wider range, same sha256 field
    (models / "dispatch.json").write_text(json.dumps(metadata))
    with (root / "bessai" / "resources" / "translations" / "bessai_es.ts").open("a") as ts:
        ts.write("<!-- edited -->\n")
    port = free_port()
    proc = await _bessai(root, tmp_path, "--headless", "--duration", "60", HEALTH_PORT=str(port))
    try:
        report: dict[str, object] = {}
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health") as response:
                        report = await response.json()
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        problems = report.get("problems")
        assert isinstance(problems, list), report
        assert any(
            p.startswith("shipped file resources/models/dispatch.json: changed (sha256 ")
            for p in problems
        ), problems
        assert "shipped file resources/translations/bessai_es.ts: changed" in " ".join(problems)
        assert any(
            "dispatch model resources/models/dispatch.json: refused" in p for p in problems
        ), problems
        alarms = report.get("alarms")
        assert isinstance(alarms, dict)
        assert "shipped_file_changed" in json.dumps(alarms) or any(
            "shipped_file_changed" in str(a) for a in alarms.values()
        ), alarms
    finally:
        proc.terminate()
        await _finish(proc)


def _own_profile(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "site_bess.json"
    data = json.loads((PACKAGE / "registry" / "sim_bess.json").read_text())
    data["id"] = "site_bess"
    path.write_text(json.dumps(data))
    return path


def test_a_sites_own_profile_is_trusted_only_from_its_profile_directory(tmp_path: Path) -> None:
    trusted = tmp_path / "profiles"
    inside = _own_profile(trusted)
    outside = _own_profile(tmp_path / "elsewhere")
    loaded = open_profile(inside, trusted_dir=trusted)
    assert not loaded.shipped
    assert loaded.sha256 == manifest.sha256_hex(inside.read_bytes())
    with pytest.raises(ProfileError) as caught:
        open_profile(outside, trusted_dir=trusted)
    assert str(caught.value) == (
        f"{outside}: $: refused: a site's own profiles are trusted only from its profile "
        f"directory {trusted} (PROFILE_DIR); put the file there"
    )
    (trusted / "link.json").symlink_to(outside)  # a link out of the folder is still outside
    with pytest.raises(ProfileError, match="trusted only from its profile directory"):
        open_profile(trusted / "link.json", trusted_dir=trusted)
    with pytest.raises(ProfileError, match="trusted only from"):
        open_profile(trusted / ".." / "elsewhere" / "site_bess.json", trusted_dir=trusted)


def test_the_profile_directory_defaults_to_the_site_files_folder(tmp_path: Path) -> None:
    site = tmp_path / "etc" / "site.toml"
    assert profile_dir(Settings(SITE_FILE=site)) == site.parent
    assert profile_dir(Settings(SITE_FILE=site, PROFILE_DIR=tmp_path / "p")) == tmp_path / "p"
    assert profile_dir(Settings()) == Path.cwd()


async def test_a_sites_own_profile_is_audited_with_its_digest(
    simulator: tuple[object, int], tmp_path: Path
) -> None:
    _, port = simulator
    trusted = tmp_path / "profiles"
    own = _own_profile(trusted)
    gw = Gateway(
        "own", [sim_device(port, profile=str(own))], data_dir=tmp_path / "data", profile_dir=trusted
    )
    await gw.start()
    try:
        await gw.books.settled(5.0)
        records = [r for r in gw.audit.records() if r.action == "profile_loaded"]
        assert len(records) == 1
        assert records[0].detail == {
            "device": "bess",
            "path": str(own),
            "sha256": manifest.sha256_hex(own.read_bytes()),
        }
    finally:
        await gw.stop()
    elsewhere = _own_profile(tmp_path / "elsewhere")
    with pytest.raises(ProfileError, match="trusted only from"):
        Gateway(
            "own",
            [sim_device(port, profile=str(elsewhere))],
            data_dir=tmp_path / "data2",
            profile_dir=trusted,
        )
