"""Themes: a dark industrial default and a light one, as Qt style sheets."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Palette:
    name: str
    window: str
    panel: str
    text: str
    muted: str
    accent: str
    good: str
    warn: str
    bad: str
    stale: str


DARK = Palette(
    "dark",
    "#12161c",
    "#1c232c",
    "#e8edf2",
    "#8a96a3",
    "#2bb673",
    "#2bb673",
    "#f5b700",
    "#e5484d",
    "#5c6773",
)
LIGHT = Palette(
    "light",
    "#eef1f4",
    "#ffffff",
    "#1c232c",
    "#5c6773",
    "#13804f",
    "#13804f",
    "#b07d00",
    "#c62828",
    "#9aa5b1",
)
THEMES = {"dark": DARK, "light": LIGHT}


def style_sheet(p: Palette) -> str:
    return f"""
    QWidget {{ background: {p.window}; color: {p.text}; font-size: 15px; }}
    QFrame#card {{ background: {p.panel}; border-radius: 10px; }}
    QLabel#cardTitle {{ color: {p.muted}; font-size: 13px; background: transparent; }}
    QLabel#cardValue {{ font-size: 30px; font-weight: 600; background: transparent; }}
    QLabel#cardValue[stale="true"] {{ color: {p.stale}; }}
    QLabel#cardValue[severity="warning"] {{ color: {p.warn}; }}
    QLabel#cardValue[severity="trip"] {{ color: {p.bad}; }}
    QFrame#card[severity="warning"] {{ border: 2px solid {p.warn}; }}
    QFrame#card[severity="trip"] {{ border: 2px solid {p.bad}; }}
    QLabel#cardDetail {{ color: {p.muted}; font-size: 12px; background: transparent; }}
    QLabel#cardDetail[stale="true"] {{ color: {p.warn}; }}
    QFrame#rail {{ background: {p.panel}; }}
    QToolButton#nav {{ background: transparent; border: none; min-height: 56px; min-width: 84px;
        font-size: 13px; color: {p.muted}; border-radius: 8px; }}
    QToolButton#nav:checked {{ color: {p.text}; background: {p.window}; border-left: 4px solid {p.accent}; }}
    QPushButton {{ background: {p.panel}; border: 1px solid {p.stale}; border-radius: 8px;
        min-height: 48px; padding: 0 16px; }}
    QPushButton:checked {{ background: {p.accent}; color: #ffffff; border-color: {p.accent}; }}
    QPushButton:disabled {{ color: {p.stale}; border-color: {p.panel}; }}
    QPushButton#estop {{ background: {p.bad}; color: #ffffff; font-weight: 700; border: 3px solid #ffffff;
        border-radius: 28px; min-height: 56px; min-width: 120px; }}
    QPushButton#primary {{ background: {p.accent}; color: #ffffff; border: none; font-weight: 600; }}
    QLabel#banner {{ background: {p.bad}; color: #ffffff; padding: 8px; border-radius: 6px; }}
    QLabel#interlock {{ color: {p.warn}; background: transparent; }}
    QLabel#header {{ font-size: 18px; font-weight: 600; background: transparent; }}
    QLabel#muted {{ color: {p.muted}; background: transparent; }}
    QTableWidget, QTableView {{ background: {p.panel}; gridline-color: {p.window}; border: none; }}
    QHeaderView::section {{ background: {p.window}; color: {p.muted}; border: none; padding: 6px; }}
    QLineEdit, QComboBox, QDoubleSpinBox {{ background: {p.panel}; border: 1px solid {p.stale};
        border-radius: 6px; min-height: 44px; padding: 0 8px; }}
    QSlider::groove:horizontal {{ height: 10px; background: {p.panel}; border-radius: 5px; }}
    QSlider::handle:horizontal {{ width: 36px; margin: -14px 0; background: {p.accent}; border-radius: 18px; }}
    """


def apply_theme(app: QApplication, name: str) -> Palette:
    palette = THEMES[name]
    app.setStyleSheet(style_sheet(palette))
    pg.setConfigOptions(background=palette.panel, foreground=palette.text, antialias=False)
    return palette
