"""What the HTTP endpoints, /health and the metrics read of a running site.

A Protocol, so that they depend on this view and not on the gateway that
builds them: the gateway imports them, never the other way round (an
import-linter contract).
"""

from __future__ import annotations

from typing import Any, Protocol

from bessai.core.alarms.manager import AlarmManager
from bessai.core.control.controller import Controller
from bessai.core.dispatch.summary import DispatchSummary
from bessai.core.ids.summary import IntrusionSummary
from bessai.core.plant.snapshot import SiteSnapshot
from bessai.core.polling.scheduler import DevicePoller
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.clock_watch import ClockWatch
from bessai.core.stores.outbox import Outbox
from bessai.core.stores.outbox_summary import OutboxSummary
from bessai.drivers.device import ModbusDevice


class SiteView(Protocol):
    """The parts of a running gateway that its observers read."""

    site_id: str
    started_at: float | None
    bus: EventBus
    alarms: AlarmManager
    controllers: dict[str, Controller]
    devices: dict[str, ModbusDevice]
    pollers: dict[str, DevicePoller]
    outbox: Outbox | None
    store_failures: dict[str, str]
    stores_replaced: dict[str, str]
    cloud_problems: list[str]
    clock_watch: ClockWatch
    security_problems: list[str]  # shipped files changed, a listener open without TLS or auth

    def current_snapshot(self) -> SiteSnapshot: ...

    def link_summaries(self) -> dict[str, Any]: ...

    def intrusion_summary(self) -> IntrusionSummary: ...

    def dispatch_summary(self) -> DispatchSummary: ...

    def outbox_summary(self) -> OutboxSummary | None: ...
