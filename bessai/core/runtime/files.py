"""Atomic replacement of a small file (the audit anchor, the E-stop latch, the site file).

The new content goes to a temporary file with a unique name beside the target (same file
system, so ``os.replace`` is atomic), is fsynced, then replaces the target: a reader sees
the old file or the new one, never half of one. A fixed temporary name would let two
writers (two ``bessai users ...`` at once) replace each other's half-written file or find
it gone; a unique one keeps each write whole, and the last one wins.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_file(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` atomically with permission ``mode``; raises OSError."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
