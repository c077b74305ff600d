"""Draw docs/core-packages.svg from the code's own imports: the core's rooms by layer, and
every arrow between them (an arrow runs from the importer down to what it imports).

Run: ``.venv/bin/python docs/tools/import_map.py`` (tests/unit/test_import_map.py checks the
drawing in docs/ is the one the code gives today).
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape

import grimp

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "core-packages.svg"
#: The layers contract of pyproject.toml, top to bottom (siblings on one row).
LAYERS: list[list[str]] = [
    ["site"],
    ["observe", "cloud", "scada"],
    ["plant"],
    ["ids"],
    ["control"],
    ["polling", "config"],
    ["dispatch", "guard"],
    ["alarms"],
    ["stores"],
    ["runtime"],
]
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 130, 34, 40, 36, 20


def edges() -> set[tuple[str, str]]:
    """Package-level imports inside bessai.core (first name under core)."""
    graph = grimp.build_graph("bessai", include_external_packages=False)
    found: set[tuple[str, str]] = set()
    for module in graph.modules:
        if not module.startswith("bessai.core."):
            continue
        src = module.split(".")[2]
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("bessai.core."):
                dst = imported.split(".")[2]
                if dst != src:
                    found.add((src, dst))
    return found


def svg(found: set[tuple[str, str]]) -> str:
    width = MARGIN * 2 + 3 * BOX_W + 2 * GAP_X
    height = MARGIN * 2 + len(LAYERS) * BOX_H + (len(LAYERS) - 1) * GAP_Y + 24
    where: dict[str, tuple[float, float]] = {}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="7" refY="4" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>',
        f'<text x="{MARGIN}" y="{MARGIN - 4}" fill="#333">bessai.core: its rooms by layer '
        f"(arrows: imports, always downward)</text>",
    ]
    for row, names in enumerate(LAYERS):
        y = MARGIN + 10 + row * (BOX_H + GAP_Y)
        x0 = (width - (len(names) * BOX_W + (len(names) - 1) * GAP_X)) / 2
        for i, name in enumerate(names):
            x = x0 + i * (BOX_W + GAP_X)
            where[name] = (x, y)
    for src, dst in sorted(found):
        if src not in where or dst not in where:
            continue
        (sx, sy), (dx, dy) = where[src], where[dst]
        up = dy < sy
        colour = "#c00" if up else "#999"
        parts.append(
            f'<line x1="{sx + BOX_W / 2:.0f}" y1="{sy + BOX_H:.0f}" x2="{dx + BOX_W / 2:.0f}" '
            f'y2="{dy:.0f}" stroke="{colour}" stroke-width="1" marker-end="url(#a)"/>'
        )
    for name, (x, y) in where.items():
        parts.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="5" '
            f'fill="#eef2f7" stroke="#456"/>'
        )
        parts.append(
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 5:.0f}" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    text = svg(edges())
    if "--check" in sys.argv:
        return 0 if OUT.exists() and OUT.read_text() == text else 1
    OUT.write_text(text)
    print(OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
