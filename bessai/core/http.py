"""The HTTP endpoints: ``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text), on aiohttp.

Bound to 127.0.0.1 unless told otherwise. aiohttp answers unknown paths with
404, other methods with 405, and oversized request lines, headers or bodies
with 400/413; the handlers only read state the core already holds, so they
answer quickly while the gateway is busy.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bessai.core.health import health_report

if TYPE_CHECKING:
    from bessai.core.gateway import Gateway
    from bessai.core.metrics import GatewayMetrics

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024


class HealthServer:
    def __init__(
        self, gateway: Gateway, metrics: GatewayMetrics, host: str = "127.0.0.1", port: int = 8000
    ) -> None:
        self.gateway = gateway
        self.metrics = metrics
        self.host = host
        self.port = port
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/health", self._health, allow_head=True)
        app.router.add_get("/metrics", self._metrics, allow_head=True)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._site: web.TCPSite | None = None

    async def _health(self, _: web.Request) -> web.Response:
        report = health_report(self.gateway)
        status = 503 if report["status"] == "failing" else 200
        return web.Response(
            text=json.dumps(report, ensure_ascii=False),
            status=status,
            content_type="application/json",
        )

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def start(self) -> int:
        """Listen; returns the bound port (port 0 picks a free one)."""
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        server = self._site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("http listening", extra={"url": f"http://{self.host}:{self.port}"})
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()
