"""The fleet view: every site's latest state, read from the telemetry subscription.

Each gateway publishes its samples (ordered per device) and, every 10 s, a
status message (modes, interlocks, alarms, its outbox's backlog). The fleet
keeps, per site, the newest of each and when it last heard from the site; a
site silent for longer than ``stale_after_s`` is stale. Redelivered messages
(same ``sample_id``) and samples older than the newest one of their device
are counted and ignored, so the view never goes back in time.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

SEEN_IDS = 50_000  # message ids remembered to drop redeliveries


@dataclass
class DeviceView:
    ts: float = 0.0
    soc_pct: float | None = None
    power_kw: float | None = None
    up: bool | None = None
    mode: str | None = None
    interlocks: int = 0


@dataclass
class SiteView:
    site_id: str
    heard_at: float = 0.0  # the newest message's time stamp (the site's clock)
    devices: dict[str, DeviceView] = field(default_factory=dict)
    alarms: int | None = None
    alarm_priority: int | None = None
    outbox_depth: int | None = None
    status_ts: float = 0.0


@dataclass
class FleetRow:
    """One line of the fleet table."""

    site_id: str
    device: str
    soc_pct: float | None
    power_kw: float | None
    mode: str
    alarms: str
    outbox: str
    age_s: float
    stale: bool


class Fleet:
    """Folds telemetry messages into the latest state of each site."""

    def __init__(self, stale_after_s: float = 30.0) -> None:
        self.stale_after_s = stale_after_s
        self.sites: dict[str, SiteView] = {}
        self.duplicates = 0
        self.out_of_order = 0
        self.unreadable = 0
        self._seen: OrderedDict[str, None] = OrderedDict()

    def add(self, data: bytes, attributes: dict[str, str]) -> None:
        message_id = attributes.get("sample_id")
        if message_id is not None:
            if message_id in self._seen:
                self.duplicates += 1
                return
            self._seen[message_id] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
        try:
            body = json.loads(data)
            site = self.sites.setdefault(str(body["site_id"]), SiteView(str(body["site_id"])))
            kind = body["kind"]
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1
            return
        if kind == "sample":
            self._sample(site, body)
        elif kind == "status":
            self._status(site, body)

    def _sample(self, site: SiteView, body: dict[str, Any]) -> None:
        device = site.devices.setdefault(str(body["device"]), DeviceView())
        ts = float(body["ts"])
        if ts <= device.ts:
            self.out_of_order += 1
            return
        roles = body.get("roles", {})
        device.ts, device.soc_pct, device.power_kw = (
            ts,
            roles.get("soc_pct"),
            roles.get("active_power_kw"),
        )
        site.heard_at = max(site.heard_at, ts)

    def _status(self, site: SiteView, body: dict[str, Any]) -> None:
        ts = float(body["ts"])
        if ts <= site.status_ts:
            self.out_of_order += 1
            return
        site.status_ts = ts
        for name, state in body.get("devices", {}).items():
            device = site.devices.setdefault(str(name), DeviceView())
            device.up, device.mode = state.get("up"), state.get("mode")
            device.interlocks = int(state.get("interlocks", 0))
        site.alarms = body["alarms"]["active"]
        site.alarm_priority = body["alarms"]["highest_priority"]
        site.outbox_depth = body["outbox"]["depth"]
        site.heard_at = max(site.heard_at, ts)

    def rows(self, now: float | None = None) -> list[FleetRow]:
        now = time.time() if now is None else now
        rows = []
        for site_id in sorted(self.sites):
            site = self.sites[site_id]
            age = max(0.0, now - site.heard_at)
            alarms = "--" if site.alarms is None else str(site.alarms)
            if site.alarm_priority is not None:
                alarms += f" (P{site.alarm_priority})"
            outbox = "--" if site.outbox_depth is None else str(site.outbox_depth)
            for name in sorted(site.devices) or [""]:
                device = site.devices.get(name, DeviceView())
                mode = device.mode or "--"
                if device.up is False:
                    mode += " DOWN"
                elif device.interlocks:
                    mode += f" ({device.interlocks} interlock)"
                rows.append(
                    FleetRow(
                        site_id,
                        name,
                        device.soc_pct,
                        device.power_kw,
                        mode,
                        alarms,
                        outbox,
                        age,
                        age > self.stale_after_s,
                    )
                )
        return rows


def render(rows: Iterable[FleetRow], fleet: Fleet) -> str:
    """The fleet as a fixed-width table (what `bessai fleet` prints)."""

    def number(value: float | None, fmt: str) -> str:
        return "--" if value is None else format(value, fmt)

    lines = [
        f"{'SITE':<20} {'DEVICE':<14} {'SOC %':>6} {'POWER kW':>9} {'MODE':<22} "
        f"{'ALARMS':<8} {'OUTBOX':>7} {'AGE':>7}"
    ]
    for r in rows:
        age = f"{r.age_s:.0f} s" + (" STALE" if r.stale else "")
        lines.append(
            f"{r.site_id:<20} {r.device:<14} {number(r.soc_pct, '.1f'):>6} "
            f"{number(r.power_kw, '+.1f'):>9} {r.mode:<22} {r.alarms:<8} {r.outbox:>7} {age:>7}"
        )
    lines.append(
        f"{len(fleet.sites)} sites · {fleet.duplicates} redelivered and "
        f"{fleet.out_of_order} out-of-order messages ignored"
    )
    return "\n".join(lines)


class FleetReader:
    """Pulls the telemetry subscription into a Fleet (blocking: run it in a thread)."""

    def __init__(
        self,
        project_id: str,
        subscription: str,
        fleet: Fleet,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        if client_factory is None:
            from google.cloud import pubsub_v1  # only when the fleet is read: ~50 MB

            client_factory = pubsub_v1.SubscriberClient
        self.path = f"projects/{project_id}/subscriptions/{subscription}"
        self.fleet = fleet
        self.client = client_factory()

    def pull_once(self, timeout_s: float = 2.0) -> int:
        """One pull: fold what arrived into the fleet and acknowledge it; the count."""
        response = self.client.pull(
            request={"subscription": self.path, "max_messages": 1000}, timeout=timeout_s
        )
        received = list(response.received_messages)
        for item in received:
            self.fleet.add(item.message.data, dict(item.message.attributes))
        if received:
            self.client.acknowledge(
                request={"subscription": self.path, "ack_ids": [m.ack_id for m in received]}
            )
        return len(received)

    def close(self) -> None:
        self.client.close()
