"""The manifest of shipped files: the dispatch model, the device profiles and the translations.

``manifest.json`` beside this module lists each file (relative to the
``bessai`` package) with its SHA-256, and ships in the wheel and the .deb.
The loaders check what they read against it (``check_shipped``): a shipped
file changed after the package was built, or a file in a shipped folder that
the manifest does not list, is refused with one line. The gateway checks the
whole list at start (``changed_files``) and raises an alarm naming them.

A developer who changes a shipped file on purpose regenerates the list:
``python -m bessai.integrity.manifest --write``; ``--check`` (the default)
exits 1 naming every stale entry.

This detects files changed or slipped in beside the package; it does not
stop someone who can also rewrite the package's code (and this list).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_FILE = Path(__file__).resolve().with_name("manifest.json")
SHIPPED = (
    "registry/*.json",
    "resources/models/*.onnx",
    "resources/models/*.json",
    "resources/translations/*.qm",
    "resources/translations/*.ts",
)
WRITE_COMMAND = "python -m bessai.integrity.manifest --write"


class IntegrityError(Exception):
    """A shipped file that is not what the package shipped: one line naming it."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def current_digests(root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """The digest of every file the manifest covers, as they are on disk now."""
    found: dict[str, str] = {}
    for pattern in SHIPPED:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                found[path.relative_to(root).as_posix()] = sha256_hex(path.read_bytes())
    return dict(sorted(found.items()))


@functools.cache
def expected_digests(manifest: Path = MANIFEST_FILE) -> dict[str, str]:
    """The shipped digests; empty when the manifest cannot be read (every check then fails)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items()}


def check_shipped(relative: str, data: bytes) -> None:
    """Refuse the bytes of a shipped file unless they are those in the manifest."""
    expected = expected_digests()
    if not expected:
        raise IntegrityError(
            f"{relative}: refused: the manifest of shipped files ({MANIFEST_FILE.name}) is "
            "missing or unreadable; reinstall the package"
        )
    want = expected.get(relative)
    if want is None:
        raise IntegrityError(
            f"{relative}: refused: not a file the package shipped (not in its manifest); "
            f"remove it, or after a deliberate addition in a source checkout: {WRITE_COMMAND}"
        )
    got = sha256_hex(data)
    if got != want:
        raise IntegrityError(
            f"{relative}: refused: sha256 {got[:12]}… is not the shipped {want[:12]}… (changed "
            f"after the package was built); reinstall it, or after a deliberate change in a "
            f"source checkout: {WRITE_COMMAND}"
        )


def changed_files(root: Path = PACKAGE_ROOT, expected: dict[str, str] | None = None) -> list[str]:
    """One line per shipped file changed, missing or added since the manifest was made."""
    want = expected_digests() if expected is None else expected
    if not want:
        return [f"the manifest of shipped files ({MANIFEST_FILE.name}) is missing or unreadable"]
    have = current_digests(root)
    lines = [
        f"{name}: changed (sha256 {have[name][:12]}…, shipped {digest[:12]}…)"
        for name, digest in want.items()
        if name in have and have[name] != digest
    ]
    lines += [f"{name}: missing" for name in want if name not in have]
    lines += [f"{name}: not in the manifest" for name in have if name not in want]
    return sorted(lines)


def write_manifest(root: Path = PACKAGE_ROOT, manifest: Path = MANIFEST_FILE) -> int:
    files = current_digests(root)
    body = {"algorithm": "sha256", "root": "bessai", "files": files}
    manifest.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    expected_digests.cache_clear()
    return len(files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bessai.integrity.manifest",
        description="Check (default) or rewrite the SHA-256 manifest of the shipped files.",
    )
    parser.add_argument("--write", action="store_true", help="rewrite manifest.json from disk")
    args = parser.parse_args(argv)
    if args.write:
        count = write_manifest()
        print(f"{MANIFEST_FILE}: {count} files")
        return 0
    stale = changed_files()
    for line in stale:
        print(f"stale: {line}", file=sys.stderr)
    if stale:
        print(f"regenerate with: {WRITE_COMMAND}", file=sys.stderr)
        return 1
    print(f"{MANIFEST_FILE}: {len(expected_digests())} files match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
