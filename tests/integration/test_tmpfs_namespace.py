"""The disk-fault tests' plugin (tests/tmpfs.py): a test marked ``tmpfs`` runs in a child
pytest in its own user and mount namespaces, where it may mount a tmpfs without root, and
its outcome, passed or failed, is the one reported. Forced as root too, so CI checks what
a contributor's machine does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INNER = """
import errno
import os

import pytest

from tests.tmpfs import tmpfs


@pytest.mark.tmpfs
def test_inside(tmp_path):
    inner, outer, count = open("/proc/self/uid_map").read().split()
    assert (inner, outer, count) == ("0", os.environ["OUTER_UID"], "1")
    with tmpfs(tmp_path / "disk", "size=64k") as disk:
        fd = os.open(disk / "ballast", os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError) as full:
            while True:
                os.write(fd, b"\\0" * 4096)
        os.close(fd)
        assert full.value.errno == errno.ENOSPC
    assert not (tmp_path / "disk" / "ballast").exists()


@pytest.mark.tmpfs
def test_failing_inside():
    assert False, "the inner test failed"
"""


def test_a_marked_test_runs_in_a_user_namespace_and_reports_its_outcome(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "test_inner.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PYTEST_ADDOPTS": "-p tests.tmpfs",
            "BESSAI_TMPFS_NAMESPACE": "1",
            "OUTER_UID": str(os.geteuid()),
        },
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed, 1 passed" in done.stdout, out
    assert "PASSED test_inner.py::test_inside" in done.stdout, out
    assert "FAILED test_inner.py::test_failing_inside" in done.stdout, out
    assert "the inner test failed" in done.stdout, out
