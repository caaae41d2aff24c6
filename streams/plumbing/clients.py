"""The clients a process builds for Redis and Kafka: one place for how leadtemp connects."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.plumbing.settings import Connections


def redis_client(settings: Connections, timeout_s: float = 5.0) -> Redis:
    """An asyncio Redis client; a call that gets no answer in `timeout_s` fails (and is retried
    by the caller as an outage: streams/plumbing/backoff.py)."""
    return Redis.from_url(settings.redis_url, socket_timeout=timeout_s, socket_connect_timeout=5)
