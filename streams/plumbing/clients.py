"""The clients a process builds for Redis and Kafka: one place for how leadtemp connects."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis, RedisCluster

from streams.plumbing.settings import Connections


def redis_client(settings: Connections, timeout_s: float = 5.0) -> Any:
    """An asyncio Redis client (a cluster client when `redis_cluster` is set); a call that gets
    no answer in `timeout_s` fails (and is retried by the caller as an outage:
    streams/plumbing/backoff.py)."""
    options = {"socket_timeout": timeout_s, "socket_connect_timeout": 5}
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return Redis.from_url(settings.redis_url, **options)
