"""The core's event bus: the only way out of the core.

Observers subscribe to an event type and get back their own unsubscribe
function (as Home Assistant's coordinator does). Delivery is synchronous and
in subscription order, so a handler must be quick: anything slow queues the
event and does its work elsewhere. A failing handler is logged and does not
stop delivery to the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    """Typed publish/subscribe within one event loop."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self.failures = 0

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` for every event of ``event_type``; returns the unsubscribe function."""
        self._handlers[event_type].append(handler)

        def unsubscribe() -> None:
            handlers = self._handlers.get(event_type, [])
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def publish(self, event: object) -> None:
        for handler in tuple(self._handlers.get(type(event), ())):
            try:
                handler(event)
            except Exception:
                self.failures += 1
                log.exception("event handler failed", extra={"event": type(event).__name__})
