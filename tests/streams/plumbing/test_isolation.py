"""Narrowing a failed batch down to the messages that cause it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from streams.plumbing.isolation import error_detail, isolating


def run_isolating(items: list[int], bad: set[int]) -> tuple[list[list[int]], list[tuple[int, str]]]:
    processed: list[list[int]] = []
    failed: list[tuple[int, str]] = []

    async def process(batch: Sequence[int]) -> None:
        if bad & set(batch):
            raise ValueError(f"bad among {list(batch)}")
        processed.append(list(batch))

    async def fallback(item: int, error: Exception) -> None:
        failed.append((item, type(error).__name__))

    asyncio.run(isolating(items, process, fallback))
    return processed, failed


def test_a_batch_without_a_bad_message_is_processed_whole() -> None:
    assert run_isolating(list(range(8)), set()) == ([list(range(8))], [])


def test_only_the_bad_message_goes_to_the_fallback_and_the_rest_keep_their_order() -> None:
    processed, failed = run_isolating(list(range(8)), {5})
    assert failed == [(5, "ValueError")]
    assert [i for batch in processed for i in batch] == [0, 1, 2, 3, 4, 6, 7]


def test_several_bad_messages_are_each_isolated() -> None:
    processed, failed = run_isolating(list(range(10)), {0, 9, 4})
    assert [i for i, _ in failed] == [0, 4, 9]
    assert [i for batch in processed for i in batch] == [1, 2, 3, 5, 6, 7, 8]


def test_a_fallback_that_fails_is_tried_again_until_it_works() -> None:
    attempts: list[int] = []

    async def process(batch: Sequence[int]) -> None:
        raise RuntimeError("always")

    async def fallback(item: int, error: Exception) -> None:
        attempts.append(item)
        if len(attempts) < 3:
            raise ConnectionError("the dead-letter topic is away")

    asyncio.run(isolating([7], process, fallback))
    assert attempts == [7, 7, 7]


def test_a_dead_letters_detail_names_the_exception_and_is_bounded() -> None:
    assert error_detail(KeyError("k")) == "KeyError: 'k'"
    assert len(error_detail(ValueError("x" * 10_000))) == 500
