"""DATA_DIR before the gateway starts: a directory, private, writable, and ours alone.

One gateway per DATA_DIR: a second one would write the same stores and
command the same batteries. The lock is an advisory ``flock`` on
``DATA_DIR/bessai.lock`` held for the life of the process (the kernel drops
it when the process dies, so a crash never leaves a stale lock).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import resource
import stat
from pathlib import Path

log = logging.getLogger(__name__)


class StartError(RuntimeError):
    """The gateway cannot start: one line naming what and why."""


class InstanceLock:
    """Holds DATA_DIR's lock until released (or the process ends)."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


def prepare_data_dir(data_dir: Path) -> InstanceLock:
    """Create DATA_DIR (0700) if needed, check it is a writable directory, and lock it."""
    shown = " ".join(repr(str(data_dir))[1:-1].split())
    if data_dir.exists() and not data_dir.is_dir():
        raise StartError(f"DATA_DIR {shown} is not a directory")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StartError(f"DATA_DIR {shown} cannot be created: {exc.strerror}") from None
    probe = data_dir / f".write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if exc.errno != errno.ENOSPC:  # a full disk is a running problem, not a start refusal
            raise StartError(f"DATA_DIR {shown} is not writable: {exc.strerror}") from None
    lock_path = data_dir / "bessai.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StartError(f"DATA_DIR {shown}: cannot open its lock file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise StartError(
            f"another bessai (pid {holder}) is running on DATA_DIR {shown}: stop it first"
        ) from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    warn_if_loose(data_dir)
    return InstanceLock(fd, lock_path)


def warn_if_loose(data_dir: Path) -> list[str]:
    """Warn (and return) where DATA_DIR or a store is readable by others: it holds PIN hashes."""
    loose: list[str] = []
    candidates = [data_dir, *sorted(data_dir.glob("*.db")), *sorted(data_dir.glob("*.json"))]
    for path in candidates:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            loose.append(f"{path} is {mode:04o}")
    if loose:
        log.warning(
            "DATA_DIR readable by others (users.db holds PIN hashes): chmod 700 the folder, 600 the files",
            extra={"loose": loose},
        )
    return loose


def raise_open_file_limit(wanted: int = 65536) -> int:
    """Raise the soft limit of open files toward the hard one (HTTP clients, devices, stores)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft
