"""The worker's HTTP endpoints: /metrics, /healthz, /readyz, /leads/{id}, /accounts/{id}.

One aiohttp server in the worker's event loop, on a socket bound before the worker starts, so
a port already in use stops start-up with the setting's name."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from scoring.engine import ACCOUNT, LEAD
from scoring.explain import account_report, lead_report
from scoring.model import Model
from streams.store import RedisState

Checks = Callable[[], Awaitable[dict[str, bool]]]


def bind(port: int, host: str = "0.0.0.0") -> socket.socket:
    """A listening socket (raises OSError when the port is taken)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def report_of(state: RedisState, model: Model, kind: str, key: str) -> dict[str, Any] | None:
    """The explained state of a lead or account now, or None when Redis has none."""
    found = await state.get(kind, key)
    if found is None:
        return None
    now = int(time.time() * 1000)
    if kind == LEAD:
        return lead_report(key, found, now, model)
    return account_report(key, found, now, model)


def health_app(checks: Checks, liveness: Checks | None = None) -> web.Application:
    """/metrics, /healthz (the process answers), /readyz (every check passes) and /livez (every
    liveness check passes: failing, Kubernetes restarts the process)."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return _json({"status": "ok"})

    def verdict(name: str, run: Checks) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_: web.Request) -> web.Response:
            results = await run()
            ok = all(results.values())
            return _json({name: ok, **results}, 200 if ok else 503)

        return handler

    app = web.Application()
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


def web_app(
    state: RedisState, model: Model, checks: Checks, liveness: Checks | None = None
) -> web.Application:
    """The worker's endpoints: health_app's, and the explained state of leads and accounts."""

    def explain(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            key = request.match_info["id"]
            try:
                report = await asyncio.wait_for(report_of(state, model, kind, key), timeout=5)
            except (TimeoutError, OSError, RedisError) as e:
                return _json({"error": "redis_unavailable", "detail": type(e).__name__}, 503)
            if report is None:
                return _json({"error": "not_found", f"{kind}_id": key}, 404)
            return _json(report)

        return handler

    app = health_app(checks, liveness)
    app.router.add_get("/leads/{id}", explain(LEAD))
    app.router.add_get("/accounts/{id}", explain(ACCOUNT))
    return app


async def serve(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner
