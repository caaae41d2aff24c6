"""The eager delivery of streams/fastdrain.py (pure asyncio; the worker tests run it on a
real broker)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.transport.consumer import Consumer

from streams.fastdrain import (
    FETCH_MAX_WAIT_MS,
    FETCH_MIN_BYTES,
    FastDrainConsumer,
    FastDrainTransport,
    finish,
    start_eagerly,
)

# sha256 of faust-streaming 0.15.3's Consumer._drain_messages, which FastDrainConsumer copies.
UPSTREAM_DRAIN = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"


def test_the_copied_faust_method_is_the_one_installed() -> None:
    source = inspect.getsource(Consumer._drain_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == UPSTREAM_DRAIN, (
        "faust-streaming changed Consumer._drain_messages: re-copy it into "
        "streams/fastdrain.py (keep the CHANGED part) and update UPSTREAM_DRAIN"
    )
    assert FastDrainConsumer._drain_messages is not Consumer._drain_messages


def test_a_delivery_that_does_not_wait_ends_in_the_first_step() -> None:
    async def scenario() -> None:
        delivered: list[int] = []

        async def deliver() -> None:
            delivered.append(1)

        ended, waiting = start_eagerly(deliver())
        assert ended and waiting is None
        assert delivered == [1]

    asyncio.run(scenario())


def test_a_delivery_that_waits_is_finished_with_its_result() -> None:
    async def scenario() -> None:
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def deliver() -> str:
            value = await gate
            await asyncio.sleep(0)  # a bare yield too
            return value + "!"

        coro = deliver()
        ended, waiting = start_eagerly(coro)
        assert not ended and waiting is gate
        task = asyncio.ensure_future(finish(coro, waiting))
        await asyncio.sleep(0)
        assert not task.done()
        gate.set_result("put")
        assert await asyncio.wait_for(task, 5) == "put!"

    asyncio.run(scenario())


def test_an_error_after_waiting_reaches_the_caller() -> None:
    async def scenario() -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def deliver() -> None:
            await gate
            raise ValueError("undecodable")

        coro = deliver()
        _, waiting = start_eagerly(coro)
        gate.set_result(None)
        with pytest.raises(ValueError, match="undecodable"):
            await asyncio.wait_for(finish(coro, waiting), 5)

    asyncio.run(scenario())


def test_an_error_of_the_waited_future_is_raised_inside_the_delivery() -> None:
    async def scenario() -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        caught: list[str] = []

        async def deliver() -> str:
            try:
                await gate
            except KeyError:
                caught.append("inside")
                return "handled"
            return "not raised"

        coro = deliver()
        _, waiting = start_eagerly(coro)
        gate.set_exception(KeyError("x"))
        assert await asyncio.wait_for(finish(coro, waiting), 5) == "handled"
        assert caught == ["inside"]

    asyncio.run(scenario())


def test_cancelling_a_waiting_delivery_closes_it_and_cancels_what_it_waits_on() -> None:
    async def scenario() -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        cleaned: list[bool] = []

        async def deliver() -> None:
            try:
                await gate
            finally:
                cleaned.append(True)

        coro = deliver()
        _, waiting = start_eagerly(coro)
        task = asyncio.ensure_future(finish(coro, waiting))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cleaned == [True]
        assert gate.cancelled()

    asyncio.run(scenario())


def test_the_worker_consumer_waits_briefly_to_batch_fetches(tmp_path: Path) -> None:
    app = faust.App("leadtemp-probe", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    app.transport = FastDrainTransport(app.conf.broker_consumer, app)

    async def scenario() -> Any:
        thread = app.consumer._thread
        return thread._create_worker_consumer(app.transport)

    consumer = asyncio.run(scenario())
    assert (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms) == (
        FETCH_MIN_BYTES, FETCH_MAX_WAIT_MS,
    )  # fmt: skip
    assert FETCH_MIN_BYTES > 1 and FETCH_MAX_WAIT_MS <= 20  # batches, at a bounded delay


def test_the_start_offsets_are_sought_in_the_consumer_thread() -> None:
    # Faust's `seek` changes aiokafka's fetcher from the calling thread, racing the fetcher in
    # the consumer's thread (KeyError of a partition, records lost past it).
    seeks: list[tuple[Any, int, bool]] = []
    in_thread = [False]

    class Thread:
        async def seek_to_committed(self) -> dict[Any, int]:
            return {"tp0": 3, "tp1": 4}

        async def call_thread(self, fun: Any, *args: Any) -> Any:
            in_thread[0] = True
            try:
                return await fun(*args)
            finally:
                in_thread[0] = False

        async def seek_all(self, offsets: dict[Any, int]) -> None:
            seeks.extend((tp, offset, in_thread[0]) for tp, offset in offsets.items())

    async def starts(assigned: set[Any]) -> dict[Any, int]:
        return {"tp1": 9}

    consumer: Any = object.__new__(FastDrainConsumer)
    consumer._thread = Thread()
    consumer._read_offset = {}
    consumer.start_offsets = starts
    consumer.assignment = lambda: {"tp0", "tp1"}
    assert asyncio.run(consumer.seek_to_committed()) == {"tp0": 3, "tp1": 9}
    assert seeks == [("tp1", 9, True)]
    assert consumer._read_offset == {"tp1": 9}
