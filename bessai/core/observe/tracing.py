"""OpenTelemetry tracing: OTLP gRPC export when an endpoint is set, nothing at all otherwise.

Spans are exported from a background thread with a bounded queue, so a slow
or absent collector never slows a poll; the exporter's complaints about an
unreachable collector are logged once per minute, not once per batch.
"""

from __future__ import annotations

import logging
import time

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from bessai import __version__


class OncePerInterval(logging.Filter):
    """Let a logger's records through at most once per interval."""

    def __init__(self, interval_s: float = 60.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last = -float("inf")
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            return True
        self.suppressed += 1
        return False


_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk._shared_internal",
)


def quiet_exporter_logs(interval_s: float = 60.0) -> OncePerInterval:
    """Limit the exporter's warnings about an unreachable collector to one per interval."""
    quiet = OncePerInterval(interval_s)
    for name in _EXPORTER_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, OncePerInterval)]:
            logger.removeFilter(old)
        logger.addFilter(quiet)
    return quiet


def make_provider(exporter: SpanExporter, site_id: str) -> TracerProvider:
    """A tracer provider exporting in batches from a background thread (bounded queue)."""
    quiet_exporter_logs()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "bessai-edge", "service.version": __version__, "bessai.site": site_id}
        )
    )
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=2048, schedule_delay_millis=1000, export_timeout_millis=2000
        )
    )
    return provider


def setup_tracing(endpoint: str | None, site_id: str) -> TracerProvider | None:
    """Install the global tracer provider for an OTLP endpoint; None (no-op tracing) without one."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    insecure = not endpoint.startswith("https://")
    provider = make_provider(
        OTLPSpanExporter(endpoint=endpoint, insecure=insecure, timeout=2), site_id
    )
    trace.set_tracer_provider(provider)
    return provider
