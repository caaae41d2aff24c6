"""`leadtemp lead` / `leadtemp account`: why a lead or an account is where it is, from the
state the workers keep in Redis (the same report as their /leads and /accounts)."""

from __future__ import annotations

import asyncio
from typing import Any

from scoring import Model, Rules
from streams.layout import layout_of
from streams.lookup import report_of
from streams.plumbing.clients import redis_client
from streams.plumbing.settings import Connections
from streams.store import RedisState


def report(settings: Connections, rules: Rules, kind: str, key: str) -> dict[str, Any] | None:
    """The explained state of one lead or account; None when Redis holds none. Redis errors
    (RedisError, OSError) reach the caller."""

    async def fetch() -> dict[str, Any] | None:
        redis = redis_client(settings)
        try:
            layout = await layout_of(redis, settings.redis_prefix)
            if layout is None:  # no worker ever started here
                return None
            state = RedisState(redis, settings.redis_prefix, layout.partitions)
            return await report_of(state, Model(rules), kind, key)
        finally:
            await redis.aclose()

    return asyncio.run(fetch())
