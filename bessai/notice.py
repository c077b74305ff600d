"""The system-use notification shown before every login (IEC 62443-3-3 SR 1.12).

The screen's login dialogs and the command line's login prompts show it
before they ask for a PIN. A site sets its own text with
``SYSTEM_USE_NOTICE`` (the composition root hands the setting over with
``configure``); without one, the shipped text in the screen's language.
Neither Qt nor the core: both faces read it from here.
"""

from __future__ import annotations

DEFAULT = {
    "es": (
        "Sistema de uso exclusivo para personal autorizado. Controla una planta de "
        "almacenamiento de energía en baterías: cada ingreso y cada comando quedan registrados "
        "en la auditoría con su usuario. El uso no autorizado, o más allá de lo autorizado, "
        "está prohibido y puede ser sancionado."
    ),
    "en": (
        "Authorised personnel only. This system controls a battery energy storage plant: every "
        "login and every command is recorded in the audit trail under its user. Use without "
        "authorisation, or beyond it, is prohibited and may be prosecuted."
    ),
}

_configured: str | None = None


def configure(text: str | None) -> None:
    """The site's own notice (``SYSTEM_USE_NOTICE``), or None for the shipped one."""
    global _configured
    _configured = text.strip() if text and text.strip() else None


def notice(language: str) -> str:
    """The notice for a screen in ``language`` (``es`` or ``en``)."""
    return _configured or DEFAULT.get(language, DEFAULT["en"])


def notice_for_terminal() -> str:
    """The notice as a terminal prints it: the site's text, else both shipped languages."""
    return _configured or f"{DEFAULT['es']}\n{DEFAULT['en']}"
