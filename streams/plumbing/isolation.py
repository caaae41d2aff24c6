"""Finding the messages a failure belongs to, so that one bad message costs only itself.

A batch is processed whole; when that raises something other than a transient error (those
are retried where they happen: streams/plumbing/backoff.py), the batch is split in halves, each
processed on its own, down to the single messages that fail. Those are handed to a fallback
(a dead letter), the others are processed, and the order of what succeeds is kept. A batch
with one bad message costs about 2·log2(n) extra attempts, a batch without any costs none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

log = logging.getLogger(__name__)
T = TypeVar("T")


async def isolating(
    items: Sequence[T],
    process: Callable[[Sequence[T]], Awaitable[None]],
    failed: Callable[[T, Exception], Awaitable[None]],
    passes: tuple[type[Exception], ...] = (),
) -> None:
    """`process(items)`; where it raises, the same for each half, and `failed(item, error)`
    for every single item that still raises. Exceptions of `passes` say nothing about the
    items: they reach the caller."""
    try:
        await process(items)
    except asyncio.CancelledError:
        raise
    except passes:
        raise
    except Exception as e:
        if len(items) == 1:
            log.warning("processing one message failed (%s: %s); dead-lettering it",
                        type(e).__name__, e, exc_info=True)  # fmt: skip
            await _until_it_works(lambda error=e: failed(items[0], error))
            return
        mid = len(items) // 2
        await isolating(items[:mid], process, failed, passes)
        await isolating(items[mid:], process, failed, passes)


async def _until_it_works(call: Callable[..., Awaitable[None]]) -> None:
    """The fallback, retried with backoff for as long as it fails: when even a dead letter
    cannot be written, the partition waits (and is reported stuck) rather than lose it."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_random_exponential(multiplier=0.5, max=30),
        before_sleep=lambda state: log.error(
            "dead-lettering a message failed (%s); retrying", _error_of(state),
            exc_info=_error_of(state)),
        reraise=True,
    )  # fmt: skip
    async def attempt() -> None:  # a coroutine function: tenacity awaits only those
        await call()

    await retrying(attempt)


def error_detail(error: BaseException) -> str:
    """What a dead letter says of an exception: its type and message, bounded."""
    return f"{type(error).__name__}: {error}"[:500]


def _error_of(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None
