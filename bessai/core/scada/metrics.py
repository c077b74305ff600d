"""The grid operator's link on /metrics: connections, commands by outcome, the event buffer.

A collector read at scrape time from the outstation's summary, registered on the
gateway's own registry while the link runs (``site.scada_link.ScadaLink``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class ScadaCollector(Collector):
    def __init__(self, site_id: str, summary: Callable[[], dict[str, Any] | None]) -> None:
        self.site = site_id
        self.summary = summary

    def collect(self) -> Iterator[Metric]:
        s = self.summary()
        if s is None:
            return
        site = [self.site]
        connections = GaugeMetricFamily(
            "bessai_scada_connections",
            "IEC 104 connections of the grid operator's masters: open, and started (STARTDT).",
            labels=["site", "state"],
        )
        connections.add_metric([self.site, "open"], s["open_connections"])
        connections.add_metric([self.site, "started"], s["active_connections"])
        yield connections
        commands = CounterMetricFamily(
            "bessai_scada_commands",
            "Commands from the grid operator, by outcome (accepted: confirmed positively).",
            labels=["site", "outcome"],
        )
        for outcome in ("accepted", "refused"):
            commands.add_metric([self.site, outcome], s["commands"].get(outcome, 0))
        yield commands
        for name, text, key in (
            (
                "bessai_scada_buffered_events",
                "Spontaneous events kept for the next master.",
                "buffered_events",
            ),
            (
                "bessai_scada_remote_authority",
                "1 while the grid operator holds authority.",
                "authority",
            ),
            (
                "bessai_scada_remote_control",
                "1 while the site follows the grid operator.",
                "remote_control",
            ),
        ):
            value = s[key] == "remote" if key == "authority" else s[key]
            gauge = GaugeMetricFamily(name, text, labels=["site"])
            gauge.add_metric(site, float(value))
            yield gauge
        for name, text, key in (
            (
                "bessai_scada_dropped_events",
                "Spontaneous events dropped, the buffer full.",
                "dropped_events",
            ),
            (
                "bessai_scada_connections_refused",
                "Connections refused at accept.",
                "connections_refused",
            ),
        ):
            counter = CounterMetricFamily(name, text, labels=["site"])
            counter.add_metric(site, s[key])
            yield counter
