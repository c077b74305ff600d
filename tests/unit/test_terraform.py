"""packaging/terraform parses and is laid out as `terraform fmt` writes it.

HashiCorp's binary is not a Debian or PyPI package, so a contributor may not have it: every
.tf file is parsed with python-hcl2 (a dev dependency: this check runs everywhere, CI
included), and its layout is checked against the two rules of `terraform fmt` these files
use (two spaces per nesting level; the ``=`` of consecutive one-line attributes in one
column, one space after the longest name). `terraform fmt -check` runs as well where the
binary is on PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
from lark.exceptions import LarkError

FOLDER = Path(__file__).resolve().parents[2] / "packaging" / "terraform"
FILES = ["main.tf", "outputs.tf", "variables.tf", "versions.tf"]
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
ATTRIBUTE = re.compile(r"^(\s*)([\w-]+)(\s*)=(\s*)(\S.*)$")
OPENERS, CLOSERS = "{[(", "}])"


def layout_problems(text: str, name: str) -> list[str]:
    """Where ``text`` differs from `terraform fmt`'s indentation and alignment of ``=``."""
    problems: list[str] = []
    depth = 0
    group: list[tuple[int, int, int, int]] = []  # line number, column of "=", indent, name's end

    def close_group() -> None:
        want = max((end for *_, end in group), default=0) + 1
        problems.extend(
            f"{name}:{n}: '=' at column {col}, want {want}" for n, col, _, _ in group if col != want
        )
        group.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        code = STRING.sub('""', line).split("#")[0].rstrip()
        if line != line.rstrip() or "\t" in line:
            problems.append(f"{name}:{number}: trailing whitespace or a tab")
        opened = sum(code.count(c) for c in OPENERS) - sum(code.count(c) for c in CLOSERS)
        if code.strip():
            want_indent = 2 * (depth - (code.strip()[0] in CLOSERS))
            indent = len(line) - len(line.lstrip(" "))
            if indent != want_indent:
                problems.append(f"{name}:{number}: indented {indent}, want {want_indent}")
        attribute = ATTRIBUTE.match(code)
        if attribute and opened == 0:
            indent, end = len(attribute.group(1)), attribute.end(2)
            if group and (group[-1][0] != number - 1 or group[-1][2] != indent):
                close_group()
            group.append((number, code.index("=", end), indent, end))
            if attribute.group(4) != " ":
                problems.append(f"{name}:{number}: want one space after '='")
        else:
            close_group()
            if attribute and (attribute.group(3), attribute.group(4)) != (" ", " "):
                problems.append(f"{name}:{number}: want one space either side of '='")
        depth += (opened > 0) - (opened < 0)  # a line opens or closes one level at most
    close_group()
    return problems


def test_every_terraform_file_parses() -> None:
    assert sorted(p.name for p in FOLDER.glob("*.tf")) == FILES
    for path in sorted(FOLDER.glob("*.tf")):
        parsed = hcl2.loads(path.read_text(encoding="utf-8"))
        assert parsed, path.name
    parsed = hcl2.loads((FOLDER / "main.tf").read_text(encoding="utf-8"))
    topics = {  # python-hcl2 keeps the labels' quotes
        name.strip('"')
        for block in parsed["resource"]
        for kind, named in block.items()
        if kind.strip('"') == "google_pubsub_topic"
        for name in named
    }
    assert {"telemetry", "events", "dead_letter"} <= topics
    # And it can fail: a value left out is a syntax error.
    with pytest.raises(LarkError):
        hcl2.loads('resource "google_pubsub_topic" "t" {\n  name =\n}\n')


def test_the_terraform_is_laid_out_as_terraform_fmt_writes_it() -> None:
    for path in sorted(FOLDER.glob("*.tf")):
        assert layout_problems(path.read_text(encoding="utf-8"), path.name) == []
    main = (FOLDER / "main.tf").read_text(encoding="utf-8")
    misaligned = main.replace(
        "  name                       = var.telemetry_topic", "  name = var.telemetry_topic", 1
    )
    misindented = main.replace(
        '    app            = "bessai-edge"', '  app            = "bessai-edge"', 1
    )
    assert misaligned != main
    assert misindented != main
    lines = main.splitlines()
    at = lines.index("  name                       = var.telemetry_topic") + 1
    assert layout_problems(misaligned, "main.tf") == [f"main.tf:{at}: '=' at column 7, want 29"]
    at = lines.index('    app            = "bessai-edge"') + 1
    assert layout_problems(misindented, "main.tf")[:1] == [f"main.tf:{at}: indented 2, want 4"]
    terraform = shutil.which("terraform")
    if terraform is None:
        return  # the binary is optional: the parse and the layout rules above still ran
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(FOLDER)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for bad in (misaligned, misindented):
        check = subprocess.run(
            [terraform, "fmt", "-check", "-"], input=bad, capture_output=True, text=True, timeout=60
        )
        assert check.returncode != 0
