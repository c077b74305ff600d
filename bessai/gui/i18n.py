"""Spanish and English: Qt translations (``resources/translations/bessai_es.qm``).

The source strings are English; ``t()`` looks them up in the context
``bessai``. Switching language installs or removes the translator, and Qt
sends every widget a LanguageChange event, on which pages relabel themselves.
"""

from __future__ import annotations

import logging
from importlib import resources

from PySide6.QtCore import QCoreApplication, QTranslator

from bessai.integrity.manifest import IntegrityError, check_shipped

log = logging.getLogger(__name__)

CONTEXT = "bessai"
LANGUAGES = {"en": "English", "es": "Español"}


def t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


class Languages:
    """Installs the translator for the chosen language."""

    def __init__(self) -> None:
        self.current = "en"
        self._translator: QTranslator | None = None

    def set(self, code: str) -> None:
        app = QCoreApplication.instance()
        assert app is not None
        if self._translator is not None:
            app.removeTranslator(self._translator)
            self._translator = None
        if code != "en":
            translator = QTranslator(app)
            name = f"translations/bessai_{code}.qm"
            path = resources.files("bessai.resources").joinpath(name)
            try:
                check_shipped(f"resources/{name}", path.read_bytes())
            except IntegrityError as exc:
                # A translation that is not the shipped one is not shown; the gateway's
                # start check raises the alarm that names it.
                log.error("translation %s not used, the screen stays in English: %s", code, exc)
                self.current = "en"
                return
            if not translator.load(str(path)):
                raise FileNotFoundError(f"no translation for {code!r} at {path}")
            app.installTranslator(translator)
            self._translator = translator
        self.current = code

    @property
    def spanish(self) -> bool:
        return self.current == "es"


def is_spanish(widget: object) -> bool:
    """Whether the window holding ``widget`` speaks Spanish now."""
    window = getattr(widget, "window", None)
    languages = getattr(window(), "languages", None) if callable(window) else None
    return bool(languages is not None and languages.spanish)
