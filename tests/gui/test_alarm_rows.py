"""An alarm row in the screen's language: the words from the core's English through Qt, who
acknowledged it and when, and whether it came back from before a restart unconfirmed."""

from __future__ import annotations

from bessai.core.alarms.catalogue import DEVICE_ALARMS
from bessai.core.alarms.manager import Alarm, AlarmState
from bessai.gui.i18n import Languages
from bessai.gui.pages.alarms import state_text, value_text
from bessai.gui.reasons import alarm_text

HOT = next(d for d in DEVICE_ALARMS if d.id == "battery_temp_high")
TRIP = next(d for d in DEVICE_ALARMS if d.id == "safety_trip")


def test_a_restored_acknowledged_alarm_reads_in_spanish(qapp: object) -> None:
    alarm = Alarm(
        HOT,
        "b",
        AlarmState.ACTIVE_ACK,
        value=47.25,
        raised_at=1_000.0,
        acked_by="olga",
        acked_at=1_060.0,
        restored=True,
    )
    languages = Languages()
    languages.set("es")
    try:
        assert alarm_text(alarm) == "b: Temperatura de batería alta"
        said = state_text(alarm)
        assert said.startswith("Activa, reconocida · por olga a las ")
        assert said.endswith("restaurada tras un reinicio, aún sin confirmar")
        assert value_text(alarm, {}) == "47.2 °C"
    finally:
        languages.set("en")
    assert alarm_text(alarm) == "b: Battery temperature high"
    assert "restored after a restart, not yet confirmed" in state_text(alarm)


def test_every_alarm_of_the_catalogue_has_its_spanish_words(qapp: object) -> None:
    """A definition carries English only: the translation gives the Spanish, so a third
    language is one more .ts file."""
    from bessai.core.alarms.catalogue import PLANT_ALARMS, SITE_ALARMS
    from bessai.core.scada.outstation import LINK_LOST

    languages = Languages()
    languages.set("es")
    try:
        for definition in [*DEVICE_ALARMS, *PLANT_ALARMS, *SITE_ALARMS, LINK_LOST]:
            words = alarm_text(Alarm(definition, "a")).removeprefix("a: ")
            assert words != definition.message, definition.id
    finally:
        languages.set("en")
    assert state_text(Alarm(TRIP, "a", AlarmState.ACTIVE_UNACK)) == "Active, not acknowledged"
