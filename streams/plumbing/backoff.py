"""Retrying calls to Redis or Kafka while they fail for a reason of the environment: a process
pauses through an outage, and never skips work.

Only errors that are transient by type are retried (connection refused, timeouts, a broker
without a leader, Redis loading its data, a failover, a revoked credential being fixed):
retrying anything else would retry a bad message forever. Every other exception reaches the
caller, which isolates the message that causes it (streams/plumbing/isolation.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import aiokafka.errors
import kafka.errors
import redis.exceptions
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

log = logging.getLogger(__name__)
Service = Literal["redis", "kafka"]

# Redis: unreachable, slow, loading its dataset, in a failover, out of memory, or refusing
# the credentials (ACLs being fixed: the environment, not the message).
REDIS_TRANSIENT: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # AuthenticationError and BusyLoadingError among them
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MasterDownError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.NoPermissionError,
    redis.exceptions.AuthorizationError,
    redis.exceptions.SlotNotCoveredError,
)
# Kafka: what the clients mark retriable, and what says the cluster or the credentials are
# not there yet (a request that timed out, authorization).
KAFKA_TRANSIENT: tuple[type[BaseException], ...] = (
    aiokafka.errors.KafkaConnectionError,
    aiokafka.errors.KafkaTimeoutError,
    aiokafka.errors.NodeNotReadyError,
    aiokafka.errors.TopicAuthorizationFailedError,
    aiokafka.errors.GroupAuthorizationFailedError,
    aiokafka.errors.ClusterAuthorizationFailedError,
    kafka.errors.KafkaTimeoutError,
    kafka.errors.BrokerNotAvailableError,
)
# The operating system's view of the same: refused, reset, timed out.
SYSTEM_TRANSIENT: tuple[type[BaseException], ...] = (OSError, TimeoutError)


def is_transient(error: BaseException) -> bool:
    """Whether `error` says the environment is unavailable (retry), not that the work is bad."""
    if isinstance(error, REDIS_TRANSIENT + KAFKA_TRANSIENT + SYSTEM_TRANSIENT):
        return True
    retriable = (aiokafka.errors.KafkaError, kafka.errors.KafkaError)
    return isinstance(error, retriable) and bool(getattr(error, "retriable", False))


def service_of(error: BaseException, default: Service) -> Service:
    """Which service a failure came from, for metrics (the call's own when the error is the
    operating system's)."""
    if isinstance(error, redis.exceptions.RedisError):
        return "redis"
    if isinstance(error, aiokafka.errors.KafkaError | kafka.errors.KafkaError):
        return "kafka"
    return default


def _ignore(service: Service) -> None:
    pass


async def with_backoff(
    what: str,
    call: Callable[[], Awaitable[Any]],
    service: Service = "kafka",
    count: Callable[[Service], None] = _ignore,
    max_delay: float = 10.0,
) -> Any:
    """`await call()`, retried forever while it fails transiently, with exponential backoff and
    full jitter (0.1 s up to `max_delay`); `count` is told the service of each failure. Any
    other exception is raised at once."""
    # The first attempt goes without tenacity: its retrying object is a web of reference
    # cycles (≈20 objects) that only the garbage collector frees, and the worker calls this
    # several times a batch: ≈50,000 such objects a second at 1,000 events/s, collected in
    # pauses of 90-130 ms every 1.5 s. Tenacity takes over once a call has failed.
    try:
        return await call()
    except Exception as e:
        if not is_transient(e):
            raise
        count(service_of(e, service))
        log.warning("%s failed (%s: %s); retrying", what, type(e).__name__, e)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        assert error is not None
        count(service_of(error, service))
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(error).__name__,
                    error, delay)  # fmt: skip

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=wait_random_exponential(multiplier=0.1, max=max_delay),
        before_sleep=before_sleep,
        reraise=True,
    )
    async def attempt() -> Any:  # a coroutine function: tenacity awaits only those
        return await call()

    return await retrying(attempt)


class _Counter(Protocol):
    def inc(self, amount: float = 1) -> None: ...


Retry = Callable[..., Awaitable[Any]]  # (what, call, service="redis") -> the call's result


def counted_backoff(redis_errors: _Counter, kafka_errors: _Counter) -> Retry:
    """`with_backoff` for one process: each failure counted in its Redis or Kafka counter."""
    counters = {"redis": redis_errors, "kafka": kafka_errors}

    async def retry(what: str, call: Callable[[], Awaitable[Any]],
                    service: Service = "redis") -> Any:  # fmt: skip
        return await with_backoff(what, call, service, lambda s: counters[s].inc())

    return retry
