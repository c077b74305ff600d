"""The health report behind ``GET /health``: one JSON document a site operator or a probe can read.

``status`` is ``ok`` when every device answers with fresh data and nothing
holds the battery, ``degraded`` when something needs attention but the
gateway still works (a device down among several, an interlock, an active
critical alarm), and ``failing`` when no device answers at all.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bessai import __version__
from bessai.core.alarms.manager import Priority

if TYPE_CHECKING:
    from bessai.core.observe.site_view import SiteView


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def health_report(gateway: SiteView, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    devices: dict[str, Any] = {}
    problems: list[str] = []
    up = 0
    for name, poller in gateway.pollers.items():
        st = poller.status
        device = gateway.devices[name]
        age = st.last_sample_age_s(now)
        stale = age is None or age > 3 * st.interval_s + 1
        if st.up:
            up += 1
        else:
            problems.append(f"{name}: no communication ({st.last_error or 'not connected yet'})")
        if st.up and stale:
            problems.append(f"{name}: data {age if age is not None else 'never'} s old")
        devices[name] = {
            "connected": st.up,
            "endpoint": st.endpoint,
            "profile": st.profile_id,
            "last_sample_age_s": None if age is None else round(age, 3),
            "stale": stale,
            "poll_latency_p50_ms": _ms(st.latency_quantile_s(0.5)),
            "poll_latency_p95_ms": _ms(st.latency_quantile_s(0.95)),
            "polls_ok": st.polls_ok,
            "errors": st.polls_failed + sum(device.stats.exceptions.values()),
            "timeouts": device.stats.timeouts,
            "reconnects": device.stats.reconnects,
            "comms_gaps": len(st.gaps),
            "last_error": st.last_error,
        }
    safety: dict[str, Any] = {}
    for name, ctl in gateway.controllers.items():
        state = ctl.state(now)
        if state.interlocks:
            problems.append(
                f"{name}: interlocked ("
                + "; ".join(f"{i.reason.value}: {i.message_en}" for i in state.interlocks)
                + ")"
            )
        safety[name] = {
            "mode": state.mode.value,
            "setpoint_kw": state.applied_kw,
            "estop_latched": state.estop_latched,
            "maintenance": state.maintenance,
            "lease_remaining_s": state.lease_remaining_s(now),
            "interlocks": [
                {"reason": i.reason.value, "message_en": i.message_en, "message_es": i.message_es}
                for i in state.interlocks
            ],
        }
    critical = [
        a.id
        for a in gateway.alarms.active()
        if a.active and a.definition.priority is Priority.CRITICAL
    ]
    if critical:
        problems.append(f"critical alarms: {', '.join(critical)}")
    for store, error in sorted(gateway.store_failures.items()):
        problems.append(f"store {store} failing: {error}")
    for store, problem in sorted(gateway.stores_replaced.items()):
        problems.append(f"store {store} replaced: {problem}")
    problems.extend(gateway.cloud_problems)
    dispatch = gateway.dispatch_summary()
    if dispatch.model_error:
        problems.append(f"dispatch model not usable, rules in use: {dispatch.model_error}")
    if gateway.pollers and up == 0:
        status = "failing"
    elif problems:
        status = "degraded"
    else:
        status = "ok"
    started = gateway.started_at or now
    outbox = gateway.outbox_summary()
    return {
        "status": status,
        "problems": problems,
        "version": __version__,
        "site_id": gateway.site_id,
        "uptime_s": round(now - started, 3),
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "devices": devices,
        "safety": safety,
        "alarms": {
            "active": len([a for a in gateway.alarms.active() if a.active]),
            "critical": critical,
        },
        "intrusion": gateway.intrusion_summary().to_dict(),
        "outbox": None if outbox is None else outbox.to_dict(),
        "stores": {
            "failing": dict(gateway.store_failures),
            "replaced": dict(gateway.stores_replaced),
        },
        "dispatch": dispatch.to_dict(),
    }
