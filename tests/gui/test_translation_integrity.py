"""SR 3.2 on the screen: a translation that is not the shipped one is not installed."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from bessai.gui.i18n import Languages, t
from bessai.integrity import manifest


def test_a_changed_translation_is_not_installed_and_the_screen_stays_in_english(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    languages = Languages()
    languages.set("es")
    assert t("Cancel") == "Cancelar"  # the shipped .qm, as shipped, is used
    languages.set("en")
    # The .qm on disk is read and hashed as always; the manifest says it shipped otherwise.
    shipped = dict(manifest.expected_digests())
    shipped["resources/translations/bessai_es.qm"] = "0" * 64
    monkeypatch.setattr(manifest, "expected_digests", lambda: shipped)
    with caplog.at_level(logging.ERROR):
        languages.set("es")
    assert languages.current == "en"
    assert t("Cancel") == "Cancel"
    assert QCoreApplication.translate("bessai", "Cancel") == "Cancel"
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(lines) == 1
    assert lines[0].startswith(
        "translation es not used, the screen stays in English: "
        "resources/translations/bessai_es.qm: refused: sha256 "
    )
