"""The health report behind ``GET /health``: one JSON document a site operator or a probe can read.

``status`` is ``ok`` when every device answers with fresh data and nothing
holds the battery, ``degraded`` when something needs attention but the
gateway still works (a device down among several, an interlock, an active
critical alarm), and ``failing`` when no device answers at all. Everything
about the devices comes from the site snapshot, so /health says what the
screen says; every alarm is an instance naming its device (or the site).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bessai import __version__
from bessai.core.alarms.manager import Alarm, Priority
from bessai.core.plant.snapshot import SiteSnapshot

if TYPE_CHECKING:
    from bessai.core.observe.site_view import SiteView


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    """One alarm instance as /health and the status message give it."""
    return {
        "code": alarm.id,
        "device": alarm.device,
        "source": alarm.source,
        "ref": alarm.ref,
        "priority": alarm.definition.priority.name.lower(),
        "state": alarm.state.value,
        "since": alarm.raised_at,
        "message_key": alarm.definition.message_key,
        "values": {"value": alarm.value, "detail": alarm.detail},
        "first_out": alarm.first_out,
    }


def _sum_known(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known), 3) if known else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _site_section(snapshot: SiteSnapshot) -> dict[str, Any]:
    """The site as a plant: its setpoints, power at the POI and of the batteries, the window
    and what limits it, each inverter's share."""

    def named(value: Any) -> dict[str, Any]:
        return {"value": value.value, "device": value.device}

    split = snapshot.site_split
    limiting = snapshot.limiting

    return {
        "hottest_temp_c": named(snapshot.hottest_temp_c),
        "lowest_soc_pct": named(snapshot.lowest_soc_pct),
        "highest_soc_pct": named(snapshot.highest_soc_pct),
        "soc_pct": snapshot.soc_pct.value,
        "power_kw": snapshot.power_kw.value,
        "setpoint_kw": snapshot.setpoint_kw,
        "window_kw": {
            "min": snapshot.window_kw[0],
            "max": snapshot.window_kw[1],
            "charge_limited_by": snapshot.window_limited_by[0],
            "discharge_limited_by": snapshot.window_limited_by[1],
        },
        "mode": None if snapshot.mode is None else snapshot.mode.value,
        "poi_power_kw": named(snapshot.grid_power_kw),
        "battery_power_kw": snapshot.power_kw.value,
        "setpoint": None
        if split is None
        else {
            "p_requested_kw": split.requested_kw,
            "p_target_kw": round(split.target_kw, 3),
            "p_delivered_kw": round(split.delivered_kw, 3),
            "poi_range_kw": [_finite(split.allowed_min_kw), _finite(split.allowed_max_kw)],
            "limited_by": split.limited_by,
            "detail": split.detail,
        },
        "shares_kw": {} if split is None else {n: round(s, 3) for n, s in split.shares_kw.items()},
        "q_setpoint_kvar": round(
            sum(d.control.reactive_kvar for d in snapshot.controllable if d.control), 3
        ),
        "reactive_power_kvar": _sum_known(d.value("reactive_power_kvar") for d in snapshot.devices),
        "limited_by": None if limiting is None else {"device": limiting[0], "why": limiting[1]},
        "battery_limits": {
            inverter: {
                "bms": lim.bms,
                "charge_kw": round(lim.charge_kw, 3),
                "discharge_kw": round(lim.discharge_kw, 3),
                "cause": lim.cause,
                "value": lim.value,
                "interlock": None if lim.interlock is None else lim.interlock.message_en,
            }
            for inverter, lim in snapshot.battery_limits.items()
        },
        "conditions": [
            {"code": c.code, "severity": c.severity, "device": c.device, "message": c.message_en}
            for c in snapshot.conditions
        ],
    }


def health_report(gateway: SiteView, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    snapshot = gateway.current_snapshot()
    devices: dict[str, Any] = {}
    problems: list[str] = []
    up = 0
    for d in snapshot.devices:
        link = d.link
        stale = d.age_s is None or d.age_s > 3 * link.interval_s + 1
        if d.up:
            up += 1
        else:
            problems.append(
                f"{d.name}: no communication ({link.last_error or 'not connected yet'})"
            )
        if d.up and stale:
            problems.append(f"{d.name}: data {d.age_s if d.age_s is not None else 'never'} s old")
        devices[d.name] = {
            "connected": d.up,
            "role": d.role,
            "endpoint": link.endpoint,
            "profile": link.profile_id,
            "last_sample_age_s": d.age_s,
            "stale": stale,
            "poll_latency_p50_ms": _ms(link.latency_p50_s),
            "poll_latency_p95_ms": _ms(link.latency_p95_s),
            "polls_ok": link.polls_ok,
            "errors": link.polls_failed + link.exceptions,
            "timeouts": link.timeouts,
            "reconnects": link.reconnects,
            "comms_gaps": link.comms_gaps,
            "last_error": link.last_error,
            "soc_pct": d.soc_pct,
            "power_kw": d.power_kw,
            "temp_c": d.temp_c,
        }
    safety: dict[str, Any] = {}
    for d in snapshot.devices:
        state = d.control
        if state is None:
            continue
        if d.interlocks:
            problems.append(
                f"{d.name}: interlocked ("
                + "; ".join(f"{i.reason.value}: {i.message_en}" for i in d.interlocks)
                + ")"
            )
        safety[d.name] = {
            "mode": state.mode.value,
            "setpoint_kw": state.applied_kw,
            "estop_latched": state.estop_latched,
            "maintenance": state.maintenance,
            "lease_remaining_s": state.lease_remaining_s(now),
            "interlocks": [
                {
                    "reason": i.reason.value,
                    "message_en": i.message_en,
                    "params": dict(i.params),
                    "since": i.since,
                    "cleared_by": i.cleared_by,
                }
                for i in d.interlocks
            ],
        }
    active = snapshot.active_alarms
    critical = [a for a in active if a.definition.priority is Priority.CRITICAL]
    if critical:
        problems.append("critical alarms: " + ", ".join(a.ref for a in critical))
    for store, error in sorted(gateway.store_failures.items()):
        problems.append(f"store {store} failing: {error}")
    for store, problem in sorted(gateway.stores_replaced.items()):
        problems.append(f"store {store} replaced: {problem}")
    problems.extend(gateway.cloud_problems)
    step = gateway.clock_watch.recent()
    if step is not None:
        problems.append(
            f"wall clock stepped {step.step_s:+.0f} s "
            f"{round(time.monotonic() - step.at)} s ago (durations unaffected; records re-stamped)"
        )
    problems.extend(gateway.security_problems)
    dispatch = gateway.dispatch_summary()
    if dispatch.model_error:
        problems.append(f"dispatch model not usable, rules in use: {dispatch.model_error}")
    if snapshot.devices and up == 0:
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
        "site": _site_section(snapshot),
        "alarms": {
            "active": len(active),
            "critical": [alarm_json(a) for a in critical],
            "instances": [alarm_json(a) for a in snapshot.alarms],
        },
        "intrusion": gateway.intrusion_summary().to_dict(),
        "outbox": None if outbox is None else outbox.to_dict(),
        "stores": {
            "failing": dict(gateway.store_failures),
            "replaced": dict(gateway.stores_replaced),
        },
        "dispatch": dispatch.to_dict(),
        "clock": {
            "steps": [
                {"step_s": round(s.step_s, 3), "old": s.old_wall, "new": s.new_wall}
                for s in gateway.clock_watch.steps
            ]
        },
        **gateway.link_summaries(),
    }
