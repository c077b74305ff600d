"""docs/core-packages.svg is the picture the code's imports give today, and no arrow runs up."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("import_map", ROOT / "docs/tools/import_map.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_map_in_docs_is_current_and_every_arrow_runs_down() -> None:
    tool = _tool()
    found = tool.edges()
    row = {name: i for i, names in enumerate(tool.LAYERS) for name in names}
    assert set(row) >= {src for src, _ in found} | {dst for _, dst in found}
    up = [(src, dst) for src, dst in found if row[dst] <= row[src]]
    assert not up, f"imports running up or sideways: {up}"
    assert tool.OUT.read_text() == tool.svg(found), (
        "docs/core-packages.svg is stale: run .venv/bin/python docs/tools/import_map.py"
    )
