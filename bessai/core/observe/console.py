"""The headless status line: one line per device at a readable rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from bessai.core.polling.scheduler import DeviceStatus


def _fmt(value: float | None, unit: str, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "--"
    sign = "+" if signed else ""
    return f"{value:{sign}.{digits}f} {unit}"


def status_line(status: DeviceStatus, now: float) -> str:
    """A one-line summary: link, key values and the age of the data."""
    sample = status.last_sample
    head = f"{status.name:<12} {'UP  ' if status.up else 'DOWN'}"
    if sample is None:
        return f"{head} no data yet  {status.last_error or ''}".rstrip()
    r = sample.roles
    age = sample.age_s(now)
    stale = age > 3 * status.interval_s
    parts = [
        head,
        f"SoC {_fmt(r.get('soc_pct'), '%')}",
        f"P {_fmt(r.get('active_power_kw'), 'kW', signed=True)}",
        f"SP {_fmt(r.get('setpoint_power_kw'), 'kW', signed=True)}",
        f"T {_fmt(r.get('battery_temp_c'), '°C')}",
        f"V {_fmt(r.get('pack_voltage_v'), 'V')}",
        f"age {age:.1f} s{' STALE' if stale else ''}",
        f"poll {sample.poll_duration_s * 1000:.1f} ms/{sample.requests} req",
        f"gaps {len(status.gaps)}",
    ]
    if not status.up and status.last_error:
        parts.append(f"({status.last_error})")
    return "  ".join(parts)


async def print_status(
    statuses: Callable[[], Iterable[DeviceStatus]],
    out: TextIO,
    *,
    every_s: float = 2.0,
) -> None:
    """Print each device's status line every ``every_s`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(every_s)
        now = time.time()
        for status in statuses():
            out.write(status_line(status, now) + "\n")
        out.flush()
