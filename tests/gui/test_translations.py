"""Every string the app shows through t() has its Spanish translation."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"""\bt\((["'])((?:(?!\1).)*)\1\)""")
NAMED = [
    "Overview",
    "Charts",
    "Control",
    "Alarms",
    "Devices",
    "Settings",
    "Standby",
    "Manual",
    "Auto",
    "Active alarms",
    "Alarm history",
    "Audit trail",
    "State of charge",
    "Active power",
    "Setpoint",
    "Battery temperature",
    "Pack voltage",
    "Pack current",
    "Grid",
    "PV",
    "Mode",
    "Intrusion score",
    "Devices",
    "Language",
    "Theme",
    "viewer",
    "operator",
    "engineer",
    "admin",
]


def tables() -> set[str]:
    """The strings the pages pass to t() from their tables (not as literals)."""
    from bessai.gui.bridge import ENGLISH, TRIP_CAUSES
    from bessai.gui.pages.alarms import ACTIONS, EVENTS, OUTCOMES, PRIORITIES, STATES
    from bessai.gui.pages.control import INTERLOCKS

    names = {text for _, name, clears in INTERLOCKS for text in (name, clears)}
    names |= set(ENGLISH.values()) | set(TRIP_CAUSES.values())  # the core's reasons, translated
    return (
        names
        | set(STATES.values())
        | set(PRIORITIES.values())
        | set(EVENTS.values())
        | set(ACTIONS.values())
        | set(OUTCOMES.values())
    )


def test_every_gui_string_is_translated_to_spanish() -> None:
    used = set(NAMED) | tables()
    for source in (ROOT / "bessai" / "gui").rglob("*.py"):
        used |= {m.group(2) for m in LITERAL.finditer(source.read_text(encoding="utf-8"))}
    tree = ElementTree.parse(ROOT / "bessai" / "resources" / "translations" / "bessai_es.ts")
    translated = {
        m.findtext("source"): m.findtext("translation") for m in tree.getroot().iter("message")
    }
    missing = sorted(s for s in used if not translated.get(s))
    assert not missing, f"add to packaging/i18n/make_ts.py: {missing}"


def test_a_core_reason_reads_in_spanish_on_the_screen(qapp: object) -> None:
    """Codes and values from the core, words from the translation: a trip on a Spanish screen."""
    from bessai.gui.bridge import Reason
    from bessai.gui.i18n import Languages
    from bessai.gui.reasons import cause_text, reason_text

    hot = (("cause", "hot"), ("limit_c", 45.0), ("temp_c", 72.0))
    languages = Languages()
    languages.set("es")
    try:
        assert reason_text(Reason.INTERLOCK_TRIP, hot, "b") == (
            "b: Disparo de protección: batería 72.0 °C >= 45.0 °C"
        )
        assert cause_text(hot) == "batería 72.0 °C >= 45.0 °C"
    finally:
        languages.set("en")
    assert reason_text(Reason.INTERLOCK_TRIP, hot) == "Protection trip: battery 72.0 °C >= 45.0 °C"
