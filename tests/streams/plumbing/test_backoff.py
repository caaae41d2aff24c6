"""Retrying what fails because Redis or Kafka are unavailable, and nothing else."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import aiokafka.errors
import pytest
import redis.exceptions

from streams.plumbing.backoff import Service, is_transient, with_backoff


@pytest.mark.parametrize(
    "error",
    [redis.exceptions.ConnectionError("refused"), redis.exceptions.TimeoutError(),
     redis.exceptions.BusyLoadingError("LOADING"), redis.exceptions.ReadOnlyError("READONLY"),
     aiokafka.errors.KafkaConnectionError(), aiokafka.errors.NotLeaderForPartitionError(),
     aiokafka.errors.KafkaTimeoutError(), ConnectionRefusedError(), TimeoutError()],
    ids=type,
)  # fmt: skip
def test_outages_are_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [TypeError("NoneType"), ValueError("bad state"), KeyError("k"),
     redis.exceptions.ResponseError("WRONGTYPE"), aiokafka.errors.MessageSizeTooLargeError()],
    ids=type,
)  # fmt: skip
def test_what_a_message_or_the_code_causes_is_not_transient(error: BaseException) -> None:
    assert not is_transient(error)


def failing(times: int, error: BaseException) -> Callable[[], object]:
    calls = [0]

    async def call() -> int:
        calls[0] += 1
        if calls[0] <= times:
            raise error
        return calls[0]

    return call


def test_a_transient_failure_is_retried_and_counted_until_the_call_works() -> None:
    counted: list[Service] = []
    result = asyncio.run(with_backoff("x", failing(3, redis.exceptions.ConnectionError()),
                                      "kafka", counted.append, max_delay=0.01))  # fmt: skip
    assert result == 4 and counted == ["redis"] * 3


def test_an_operating_system_error_is_counted_against_the_calls_service() -> None:
    counted: list[Service] = []
    asyncio.run(with_backoff("x", failing(1, ConnectionResetError()), "kafka", counted.append,
                             max_delay=0.01))  # fmt: skip
    assert counted == ["kafka"]


def test_any_other_failure_is_raised_at_once() -> None:
    counted: list[Service] = []
    call = failing(1, TypeError("a bug"))
    with pytest.raises(TypeError):
        asyncio.run(with_backoff("x", call, "redis", counted.append))
    assert counted == []


def test_a_call_that_works_at_once_leaves_no_garbage_for_the_collector() -> None:
    async def calls() -> int:
        async def ok() -> int:
            return 1

        return sum([await with_backoff("x", ok) for _ in range(1000)])

    gc.collect()
    gc.disable()
    try:
        assert asyncio.run(calls()) == 1000
        assert gc.collect() < 1000  # (tenacity's objects, 25 a call: ≈25,000)
    finally:
        gc.enable()
