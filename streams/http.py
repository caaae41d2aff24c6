"""The worker's HTTP endpoints: the health ones (streams/plumbing/http.py), and /leads/{id} and
/accounts/{id}."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from scoring import ACCOUNT, LEAD, Model
from streams.lookup import report_of
from streams.plumbing.http import Checks, health_app, json_response, refused_without
from streams.store import RedisState


def web_app(
    state: RedisState, model: Model, checks: Checks,
    liveness: Checks | None = None, token: str | None = None,
) -> web.Application:  # fmt: skip
    """The worker's endpoints: health_app's, and the explained state of leads and accounts
    (only to requests bearing `token`, when one is set)."""
    refusal = refused_without(token)

    def explain(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            if (refused := refusal(request)) is not None:
                return refused
            key = request.match_info["id"]
            try:
                found = report_of(state, model, kind, key)
                report = await asyncio.wait_for(found, timeout=5)
            except (TimeoutError, OSError, RedisError) as e:
                unavailable = {"error": "redis_unavailable", "detail": type(e).__name__}
                return json_response(unavailable, 503)
            if report is None:
                return json_response({"error": "not_found", f"{kind}_id": key}, 404)
            return json_response(report)

        return handler

    app = health_app(checks, liveness)
    app.router.add_get("/leads/{id}", explain(LEAD))
    app.router.add_get("/accounts/{id}", explain(ACCOUNT))
    return app
