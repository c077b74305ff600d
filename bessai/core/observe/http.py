"""The HTTP endpoints: ``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text), on aiohttp.

Bound to 127.0.0.1 unless told otherwise. aiohttp answers unknown paths with
404, other methods with 405, and oversized request lines, headers or bodies
with 400/413; the handlers only read state the core already holds, so they
answer quickly while the gateway is busy. Against slow or too many clients:
a connection that has not completed a request within ``header_timeout_s`` is
closed, connections beyond ``max_connections`` are answered 503 and closed at
once (well below the process's file descriptors), and a malformed request is
one log line.

With a web configuration (``HEALTH_WEB_CONFIG``, see ``web_config``) the
port speaks TLS only and, when it lists users, every path asks for basic
auth (401 otherwise); off loopback without TLS or credentials it still
serves, but says so in the log and in ``problems`` (on /health).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bessai.core.observe.health import health_report
from bessai.core.observe.web_config import BasicAuth, WebConfig, exposure_problems

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
        web_config: WebConfig | None = None,
    ) -> None:
        self.gateway = gateway
        self.metrics = metrics
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.refused = 0
        self.web_config = web_config
        self.header_timeout_s = header_timeout_s
        self.problems: list[str] = []  # what this listener lacks off loopback, for /health
        middlewares = []
        if web_config is not None and web_config.users:
            middlewares.append(self._basic_auth(BasicAuth(web_config.users)))
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=middlewares)
        app.router.add_get("/health", self._health, allow_head=True)
        app.router.add_get("/metrics", self._metrics, allow_head=True)
        # keepalive_timeout is armed when a connection opens and again after each
        # response: a client that never completes a request is closed after it.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, keepalive_timeout=header_timeout_s
        )
        self._server: asyncio.Server | None = None

    @staticmethod
    def _basic_auth(auth: BasicAuth) -> Middleware:
        @web.middleware
        async def check(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            if not await auth.allows(request.headers.get("Authorization")):
                return web.Response(
                    status=401,
                    text="401: credentials required\n",
                    headers={"WWW-Authenticate": 'Basic realm="bessai", charset="UTF-8"'},
                )
            return await handler(request)

        return check

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
        tls = self.web_config.tls if self.web_config is not None else None
        self._server = await loop.create_server(
            protocol,
            self.host,
            self.port,
            family=socket.AF_UNSPEC,
            reuse_address=True,
            ssl=tls,
            ssl_handshake_timeout=self.header_timeout_s if tls is not None else None,
        )
        sockets = self._server.sockets
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        scheme = "https" if tls is not None else "http"
        log.info("http listening", extra={"url": f"{scheme}://{self.host}:{self.port}"})
        self.problems = exposure_problems(self.host, self.port, self.web_config)
        for problem in self.problems:
            log.warning(problem)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._runner.cleanup()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
