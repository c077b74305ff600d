"""The core's reason codes in the screen's language: the English templates the core words
/health with, translated by Qt (resources/translations), filled with the reason's values.

A new language is a new .ts file: no core dataclass and no page changes.
"""

from __future__ import annotations

from typing import Any

from bessai.gui.bridge import ENGLISH, TRIP_CAUSES, Alarm, Params, Reason, describe
from bessai.gui.i18n import t


def reason_text(reason: Reason, params: Params = (), device: str | None = None) -> str:
    """A reason in words, in the language installed on the screen; its device first if given."""
    text = describe(
        reason,
        params,
        templates={r: t(words) for r, words in ENGLISH.items()},
        causes={c: t(words) for c, words in TRIP_CAUSES.items()},
    )
    return f"{device}: {text}" if device else text


def cause_text(params: Params) -> str:
    """A protection trip's cause alone ("battery 72.0 °C >= 45.0 °C"), without its heading."""
    values: dict[str, Any] = dict(params)
    cause = values.get("cause")
    if not isinstance(cause, str):
        return str(values.get("detail", ""))
    template = t(TRIP_CAUSES.get(cause, cause))
    try:
        return template.format(**values)
    except (KeyError, ValueError, IndexError):
        return template


def of(item: Any) -> str:
    """Any core result that carries ``reason``, ``params`` (and maybe ``device``), in words."""
    return reason_text(item.reason, item.params, getattr(item, "device", None))


def alarm_text(alarm: Alarm) -> str:
    """An alarm instance in words: its device (or the site) and its English words translated."""
    return f"{alarm.device or t('site')}: {t(alarm.definition.message)}"
