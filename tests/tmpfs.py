"""Small tmpfs file systems for the disk-fault tests (full, read-only), without root where
the kernel allows it (a pytest plugin, loaded by tests/conftest.py).

A test that mounts one is marked ``@pytest.mark.tmpfs``. As root it runs here and
:func:`tmpfs` mounts directly. As anyone else the whole test, the gateway it starts
included, runs in a child pytest under ``unshare -rm``: its own user and mount namespaces,
root in there (so it may mount a tmpfs, which nobody outside sees) and the caller's own user
outside. The mount goes with the child. SQLite resolves symbolic links, so reaching a mount
from outside through ``/proc/PID/root`` does not work: the test's process must be inside.
``BESSAI_TMPFS_NAMESPACE=1`` takes the namespace even as root (the test of this plugin).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

FORCE = "BESSAI_TMPFS_NAMESPACE"
INSIDE = "BESSAI_TMPFS_INSIDE"
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tmpfs: mounts a small tmpfs (in a user namespace when not root)"
    )


def _in_namespace(item: pytest.Item) -> bool:
    if item.get_closest_marker("tmpfs") is None or os.environ.get(INSIDE):
        return False
    return os.geteuid() != 0 or os.environ.get(FORCE) == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Run a marked test in a child pytest under ``unshare -rm`` and report its outcome."""
    if not _in_namespace(item):
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    base = Path(tempfile.mkdtemp(prefix="tmpfs-ns-"))
    started = time.monotonic()
    command = [*UNSHARE, sys.executable, "-m", "pytest", item.nodeid, "-q", "-rA"]
    command += ["-p", "no:cacheprovider", f"--basetemp={base / 'pytest'}"]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=item.config.rootpath,
            env={**os.environ, INSIDE: "1"},
            timeout=600,
        )
        output = done.stdout + done.stderr
        passed = done.returncode == 0 and "1 passed" in done.stdout
    except subprocess.TimeoutExpired as exc:
        output, passed = f"the child pytest did not end in {exc.timeout} s", False
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if not passed and "unshare" in output and "Operation not permitted" in output:
        output = (
            "this kernel refuses unprivileged user namespaces (sysctl "
            "kernel.unprivileged_userns_clone, /proc/sys/user/max_user_namespaces): the "
            "disk-fault tests mount their tmpfs in one; allow them or run as root\n" + output
        )
    duration = time.monotonic() - started
    for when in ("setup", "call", "teardown"):
        outcome = "passed" if passed or when != "call" else "failed"
        report = pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            outcome,
            None if outcome == "passed" else output[-6000:],
            when,
            sections=[("ran under unshare -rm", output)] if when == "call" and passed else [],
            duration=duration if when == "call" else 0.0,
        )
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@contextlib.contextmanager
def tmpfs(mountpoint: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted with ``options`` (``size=8m``, ``size=1m,ro``) on ``mountpoint``,
    unmounted afterwards; in a test marked ``tmpfs``."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    mount(["-t", "tmpfs", "-o", options, "tmpfs", str(mountpoint)])
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def mount(args: list[str]) -> None:
    """``mount ARGS``; a refusal fails the test with mount's own words."""
    if os.geteuid() != 0:
        pytest.fail("a test that mounts a tmpfs is marked @pytest.mark.tmpfs")
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"mount {' '.join(args)}: {done.stderr.strip()}")
