"""The HTTP endpoints: ``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text), on aiohttp.

Bound to 127.0.0.1 unless told otherwise. aiohttp answers unknown paths with
404, other methods with 405, and oversized request lines, headers or bodies
with 400/413; the handlers only read state the core already holds, so they
answer quickly while the gateway is busy. Against slow or too many clients:
a connection that has not completed a request within ``header_timeout_s`` is
closed, connections beyond ``max_connections`` are answered 503 and closed at
once (well below the process's file descriptors), and a malformed request is
one log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bessai.core.observe.health import health_report

if TYPE_CHECKING:
    from bessai.core.observe.metrics import GatewayMetrics
    from bessai.core.observe.site_view import SiteView

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024
MAX_CONNECTIONS = 256
HEADER_TIMEOUT_S = 5.0

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\n"
)


class _Busy(asyncio.Protocol):
    """Past the connection cap: answer 503 and close, holding nothing for long.

    The close waits for the request (or a second) so that the client reads the
    503 instead of a reset.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(_BUSY)
        self._timer = asyncio.get_running_loop().call_later(1.0, transport.close)

    def data_received(self, data: bytes) -> None:
        self._timer.cancel()
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()


class HealthServer:
    def __init__(
        self,
        gateway: SiteView,
        metrics: GatewayMetrics,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        max_connections: int = MAX_CONNECTIONS,
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        self.gateway = gateway
        self.metrics = metrics
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.refused = 0
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/health", self._health, allow_head=True)
        app.router.add_get("/metrics", self._metrics, allow_head=True)
        # keepalive_timeout is armed when a connection opens and again after each
        # response: a client that never completes a request is closed after it.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, keepalive_timeout=header_timeout_s
        )
        self._server: asyncio.Server | None = None

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
        handler = self._runner.server
        assert handler is not None

        def protocol() -> Any:
            if len(handler.connections) >= self.max_connections:
                self.refused += 1
                if self.refused == 1 or self.refused % 1000 == 0:
                    log.warning(
                        "http connections at their cap: refusing more",
                        extra={"cap": self.max_connections, "refused": self.refused},
                    )
                return _Busy()
            return handler()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            protocol, self.host, self.port, family=socket.AF_UNSPEC, reuse_address=True
        )
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("http listening", extra={"url": f"http://{self.host}:{self.port}"})
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._runner.cleanup()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
