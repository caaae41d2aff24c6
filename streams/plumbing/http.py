"""HTTP health endpoints of a process: /metrics, /healthz, /readyz and /livez, on one aiohttp
server in its event loop, on a socket bound before the process starts, so a port already in
use stops start-up with the setting's name."""

from __future__ import annotations

import asyncio
import hmac
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

Checks = Callable[[], Awaitable[dict[str, bool]]]


def bind(port: int, host: str = "0.0.0.0") -> socket.socket:
    """A listening socket (raises OSError when the port is taken)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def refused_without(token: str | None) -> Callable[[web.Request], web.Response | None]:
    """A check of requests that must bear `token` (`Authorization: Bearer …`, compared in
    constant time): the 401 to answer, or None to go on; with no token, nothing is refused."""
    expected = f"Bearer {token}".encode() if token else None

    def refusal(request: web.Request) -> web.Response | None:
        given = request.headers.get("Authorization", "").encode()
        if expected is None or hmac.compare_digest(given, expected):
            return None
        return web.Response(body=b'{"error": "unauthorized"}', status=401,
                            content_type="application/json",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip

    return refusal


def health_app(
    checks: Checks, liveness: Checks | None = None, client_max_size: int = 1024**2
) -> web.Application:
    """/metrics, /healthz (the process answers), /readyz (every check passes) and /livez (every
    liveness check passes: failing, Kubernetes restarts the process); request bodies up to
    `client_max_size` bytes (aiohttp refuses larger ones with 413)."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    def verdict(name: str, run: Checks) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_: web.Request) -> web.Response:
            results = await run()
            ok = all(results.values())
            return json_response({name: ok, **results}, 200 if ok else 503)

        return handler

    app = web.Application(client_max_size=client_max_size)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", verdict("ready", checks))
    if liveness is not None:
        app.router.add_get("/livez", verdict("live", liveness))
    return app


async def redis_answers(redis: Any) -> bool:
    """A PING within a second."""
    try:
        return bool(await asyncio.wait_for(redis.ping(), timeout=1))
    except (TimeoutError, OSError, RedisError):
        return False


async def serve(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner
