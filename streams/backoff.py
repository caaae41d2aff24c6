"""Retrying calls to Redis or Kafka until they work: a process pauses, it never skips work."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
Trouble = Literal["redis", "kafka"]


def _ignore(kind: Trouble) -> None:
    pass


async def with_backoff(
    what: str,
    call: Callable[[], Awaitable[Any]],
    max_delay: float = 10.0,
    count: Callable[[Trouble], None] = _ignore,
) -> Any:
    """Retry a call on Redis or Kafka trouble, forever, with jittered exponential backoff;
    `count` is told which kind of trouble each failure was (for metrics)."""
    delay = 0.1
    while True:
        try:
            return await call()
        except (RedisConnectionError, RedisTimeoutError, OSError) as e:
            count("redis")
            log.warning("%s failed (%s); retrying in %.1fs", what, type(e).__name__, delay)
        except RedisError as e:
            count("redis")
            log.warning("%s failed (%s); retrying in %.1fs", what, e, delay)
        except Exception as e:
            count("kafka")
            log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(e).__name__, e, delay)
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(max_delay, delay * 2)
