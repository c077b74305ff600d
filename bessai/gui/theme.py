"""Themes: a dark industrial default and a light one, as Qt style sheets.

ISA-101 colours: calm grey for the normal, colour only for the abnormal, and
the same colour meaning the same everywhere. Blue is selection and action,
amber a warning (or a low or medium alarm), red a trip (or a high or critical
alarm). Every text colour keeps a contrast of at least 4.5:1 on the
backgrounds it is drawn on (WCAG AA); a test checks the pairs below.
"""

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
    accent: str  # selection and action, with on_accent text
    on_accent: str
    warn: str  # warning text and borders
    warn_fill: str  # a warning badge or banner, with on_warn text
    on_warn: str
    bad: str  # trip text and borders
    bad_fill: str  # a trip badge or banner, with on_bad text
    on_bad: str
    stale: str  # a value too old to trust
    disabled: str  # a control that does nothing now
    trace: str  # a chart's measured value
    trace_setpoint: str  # a chart's commanded value
    band: str  # a chart's allowed window

    def text_pairs(self) -> dict[str, tuple[str, str]]:
        """Every (text, background) pair the style sheet draws, for the contrast check."""
        pairs: dict[str, tuple[str, str]] = {}
        for ground in ("window", "panel"):
            for ink in ("text", "muted", "warn", "bad", "stale", "disabled"):
                pairs[f"{ink} on {ground}"] = (getattr(self, ink), getattr(self, ground))
        pairs["on_accent on accent"] = (self.on_accent, self.accent)
        pairs["on_warn on warn_fill"] = (self.on_warn, self.warn_fill)
        pairs["on_bad on bad_fill"] = (self.on_bad, self.bad_fill)
        return pairs


DARK = Palette(
    name="dark",
    window="#12161c",
    panel="#1c232c",
    text="#e8edf2",
    muted="#a0abb7",
    accent="#2563a8",
    on_accent="#ffffff",
    warn="#f5b700",
    warn_fill="#f5b700",
    on_warn="#12161c",
    bad="#ff6b6b",
    bad_fill="#b3261e",
    on_bad="#ffffff",
    stale="#8a96a3",
    disabled="#808b97",
    trace="#d6dde4",
    trace_setpoint="#5aa9f0",
    band="#2563a8",
)
LIGHT = Palette(
    name="light",
    window="#eef1f4",
    panel="#ffffff",
    text="#1c232c",
    muted="#4f5a66",
    accent="#1f5f99",
    on_accent="#ffffff",
    warn="#8a6200",
    warn_fill="#f5b700",
    on_warn="#12161c",
    bad="#c62828",
    bad_fill="#c62828",
    on_bad="#ffffff",
    stale="#5c6773",
    disabled="#5f6a75",
    trace="#27313b",
    trace_setpoint="#1f5f99",
    band="#1f5f99",
)
THEMES = {"dark": DARK, "light": LIGHT}


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def style_sheet(p: Palette) -> str:
    return f"""
    QWidget {{ background: {p.window}; color: {p.text}; font-size: 15px; }}
    QFrame#card, QFrame#panel {{ background: {p.panel}; border-radius: 10px; }}
    QLabel#cardTitle {{ color: {p.muted}; font-size: 13px; background: transparent; }}
    QLabel#cardValue {{ font-size: 28px; font-weight: 600; background: transparent; }}
    QLabel#cardValue[compact="true"] {{ font-size: 22px; }}
    QLabel#cardValue[stale="true"] {{ color: {p.stale}; font-style: italic; }}
    QLabel#cardValue[severity="warning"] {{ color: {p.warn}; }}
    QLabel#cardValue[severity="trip"] {{ color: {p.bad}; }}
    QFrame#card[severity="warning"] {{ border: 2px solid {p.warn}; }}
    QFrame#card[severity="trip"] {{ border: 3px solid {p.bad}; }}
    QLabel#cardDetail {{ color: {p.muted}; font-size: 13px; background: transparent; }}
    QLabel#cardDetail[stale="true"] {{ color: {p.warn}; }}
    QFrame#rail {{ background: {p.panel}; }}
    QToolButton#nav {{ background: transparent; border: none; min-height: 56px; min-width: 84px;
        font-size: 13px; color: {p.muted}; border-radius: 8px; }}
    QToolButton#nav:checked {{ color: {p.text}; background: {p.window};
        border-left: 4px solid {p.accent}; }}
    QToolButton#nav[severity="warning"] {{ color: {p.on_warn}; background: {p.warn_fill}; }}
    QToolButton#nav[severity="trip"] {{ color: {p.on_bad}; background: {p.bad_fill}; }}
    QPushButton {{ background: {p.panel}; border: 1px solid {p.muted}; border-radius: 8px;
        min-height: 48px; padding: 0 16px; }}
    QPushButton:checked {{ background: {p.accent}; color: {p.on_accent}; border-color: {p.accent}; }}
    QPushButton:disabled {{ color: {p.disabled}; border: 1px dashed {p.disabled};
        background: {p.window}; }}
    QPushButton#estop {{ background: {p.bad_fill}; color: {p.on_bad}; font-weight: 700;
        border: 3px solid #ffffff; border-radius: 28px; min-height: 56px; min-width: 120px; }}
    QPushButton#primary {{ background: {p.accent}; color: {p.on_accent}; border: none;
        font-weight: 600; }}
    QPushButton#primary:disabled {{ background: {p.window}; color: {p.disabled};
        border: 1px dashed {p.disabled}; }}
    QPushButton#tile {{ min-height: 72px; min-width: 150px; text-align: left; padding: 8px 16px; }}
    QPushButton#nudge {{ min-width: 56px; padding: 0 4px; font-size: 17px; font-weight: 600; }}
    QPushButton#preset {{ font-size: 13px; padding: 0 4px; }}
    QPushButton#big {{ font-size: 30px; font-weight: 700; }}
    QLabel#interlock {{ color: {p.warn}; background: transparent; }}
    QLabel#interlock[severity="trip"] {{ color: {p.bad}; }}
    QLabel#refused {{ color: {p.bad}; background: transparent; }}
    QLabel#header {{ font-size: 18px; font-weight: 600; background: transparent; }}
    QLabel#muted {{ color: {p.muted}; background: transparent; }}
    QLabel#big {{ font-size: 34px; font-weight: 700; background: transparent; }}
    QFrame#strip {{ background: {p.panel}; border-radius: 8px; }}
    QFrame#strip[severity="warning"] {{ background: {p.warn_fill}; }}
    QFrame#strip[severity="trip"] {{ background: {p.bad_fill}; }}
    QFrame#strip QLabel {{ background: transparent; font-weight: 600; }}
    QFrame#strip[severity="warning"] QLabel {{ color: {p.on_warn}; }}
    QFrame#strip[severity="trip"] QLabel {{ color: {p.on_bad}; }}
    QLabel#chip {{ border: 1px solid {p.muted}; border-radius: 6px; padding: 2px 8px; }}
    QLabel#badge {{ border-radius: 6px; padding: 2px 8px; background: {p.window}; color: {p.text}; }}
    QLabel#badge[severity="warning"] {{ background: {p.warn_fill}; color: {p.on_warn}; }}
    QLabel#badge[severity="trip"] {{ background: {p.bad_fill}; color: {p.on_bad}; }}
    QFrame#strip[severity="trip"] QLabel#badge[severity="trip"] {{ border: 2px solid {p.on_bad}; }}
    QFrame#checkRow {{ background: {p.panel}; border-radius: 6px; }}
    QFrame#checkRow[severity="warning"] {{ border: 2px solid {p.warn}; }}
    QFrame#checkRow[severity="trip"] {{ border: 2px solid {p.bad}; }}
    QFrame#checkRow QLabel {{ background: transparent; color: {p.muted}; }}
    QFrame#checkRow[severity="warning"] QLabel {{ color: {p.warn}; }}
    QFrame#checkRow[severity="trip"] QLabel {{ color: {p.bad}; }}
    QLabel#deviceCell[severity="warning"] {{ color: {p.warn}; font-weight: bold; }}
    QLabel#deviceCell[severity="trip"] {{ color: {p.bad}; font-weight: bold; }}
    QLabel#groupHeader {{ font-weight: bold; }}
    QLabel#groupHeader[severity="trip"] {{ color: {p.bad}; }}
    QTableWidget, QTableView {{ background: {p.panel}; gridline-color: {p.window}; border: none; }}
    QHeaderView::section {{ background: {p.window}; color: {p.muted}; border: none; padding: 6px; }}
    QLineEdit, QComboBox, QAbstractSpinBox {{ background: {p.panel}; border: 1px solid {p.muted};
        border-radius: 6px; min-height: 44px; padding: 0 8px; }}
    QLineEdit:disabled, QComboBox:disabled, QAbstractSpinBox:disabled {{ color: {p.disabled};
        border: 1px dashed {p.disabled}; }}
    QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ subcontrol-origin: border;
        width: 0; height: 0; border: none; }}
    QComboBox::drop-down {{ width: 44px; border: none; }}
    QComboBox QAbstractItemView {{ background: {p.panel}; selection-background-color: {p.accent};
        selection-color: {p.on_accent}; }}
    QComboBox QAbstractItemView::item {{ min-height: 48px; padding: 0 12px; }}
    QTextBrowser, QListWidget {{ background: {p.panel}; color: {p.text}; border: none; }}
    QListWidget::item {{ min-height: 32px; }}
    QTabWidget::pane {{ border: none; }}
    QTabBar::tab {{ background: {p.window}; color: {p.muted}; min-height: 44px; min-width: 96px;
        padding: 0 14px; border-bottom: 3px solid transparent; }}
    QTabBar::tab:selected {{ color: {p.text}; border-bottom: 3px solid {p.accent}; }}
    QTabBar QToolButton {{ min-width: 44px; min-height: 44px; }}
    QCheckBox, QRadioButton {{ min-height: 48px; spacing: 12px; background: transparent; }}
    QCheckBox::indicator, QRadioButton::indicator {{ width: 32px; height: 32px; }}
    QCheckBox::indicator {{ border: 2px solid {p.muted}; border-radius: 6px;
        background: {p.panel}; }}
    QCheckBox::indicator:checked {{ background: {p.accent}; border-color: {p.accent}; }}
    QCheckBox::indicator:disabled {{ border: 2px dashed {p.disabled}; }}
    QPushButton#segment {{ border-radius: 6px; padding: 0 10px; }}
    QPushButton#key, QPushButton#padKey {{ min-height: 52px; padding: 0 4px; font-size: 20px; }}
    QPushButton#keyWord {{ min-height: 52px; padding: 0 4px; font-size: 14px; }}
    QDialog {{ border: 2px solid {p.muted}; border-radius: 4px; }}
    QLabel#padEntry {{ font-size: 22px; border-bottom: 2px solid {p.accent};
        background: transparent; min-height: 40px; }}
    QLabel#padEntry[empty="true"] {{ color: {p.muted}; font-size: 15px; }}
    QScrollBar:vertical {{ width: 44px; background: {p.window}; margin: 0; }}
    QScrollBar:horizontal {{ height: 44px; background: {p.window}; margin: 0; }}
    QScrollBar::handle:vertical {{ background: {p.muted}; min-height: 44px; border-radius: 8px;
        margin: 4px 10px; }}
    QScrollBar::handle:horizontal {{ background: {p.muted}; min-width: 44px; border-radius: 8px;
        margin: 10px 4px; }}
    QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none; }}
    QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
    """


def apply_theme(app: QApplication, name: str) -> Palette:
    palette = THEMES[name]
    app.setProperty("bessaiTheme", name)
    app.setStyleSheet(style_sheet(palette))
    pg.setConfigOptions(background=palette.panel, foreground=palette.text, antialias=False)
    return palette


def current_palette() -> Palette:
    """The palette of the theme applied last (dark until one is applied)."""
    app = QApplication.instance()
    name = app.property("bessaiTheme") if app is not None else None
    return THEMES.get(str(name), DARK)
