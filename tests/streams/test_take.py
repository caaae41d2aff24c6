"""streams/take.py: the score hop's batches of a Faust stream (Faust's in-memory test
context of an agent; the worker tests run it on a real broker)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Callable
from typing import Any, cast

import faust
from faust.streams import Stream

from streams.take import take_events

# sha256 of faust-streaming 0.15.3's Stream.take_events, which streams/take.py copies.
UPSTREAM_TAKE_EVENTS = "607d48aead118ba8ea868718a0df87de1c5fcecd10ec542c659b448796728e08"


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def taking(max_: int, within: float) -> tuple[faust.App, Any, list[list[int]], list[int]]:
    """An agent that records each list it takes, and how often its stream was waited on."""
    app = faust.App(f"take-{max_}", store="memory://", web_enabled=False)
    taken: list[list[int]] = []
    waits = [0]

    @app.agent()
    async def agent(stream: Any) -> None:
        wait = stream.wait_for_stopped

        async def counted(*args: Any, **kwargs: Any) -> Any:
            waits[0] += 1
            return await wait(*args, **kwargs)

        stream.wait_for_stopped = counted
        async for events in take_events(stream, max_, within):
            taken.append([cast(int, e.value) for e in events])

    return app, agent, taken, waits


def test_the_copied_faust_method_is_the_one_installed() -> None:
    source = inspect.getsource(Stream.take_events)
    assert hashlib.sha256(source.encode()).hexdigest() == UPSTREAM_TAKE_EVENTS, (
        "faust-streaming changed Stream.take_events: re-copy it into streams/take.py (keep "
        "the CHANGED parts) and update UPSTREAM_TAKE_EVENTS"
    )


def test_events_arriving_together_come_in_lists_of_at_most_max() -> None:
    async def scenario() -> list[list[int]]:
        _, agent, taken, _ = taking(3, 0.05)
        async with agent.test_context() as context:
            for i in range(7):
                await context.put(i)
            await until(lambda: sum(map(len, taken)) == 7)
        return taken

    assert asyncio.run(scenario()) == [[0, 1, 2], [3, 4, 5], [6]]


def test_an_event_after_a_quiet_spell_is_taken_alone() -> None:
    async def scenario() -> list[list[int]]:
        _, agent, taken, _ = taking(3, 0.01)
        async with agent.test_context() as context:
            await context.put(1)
            await until(lambda: len(taken) == 1)
            await context.put(2)
            await until(lambda: len(taken) == 2)
        return taken

    assert asyncio.run(scenario()) == [[1], [2]]


def test_an_idle_stream_is_not_polled() -> None:
    # Faust's take_events waits again every `within` (here 1 ms: ≈200 times in 0.2 s).
    async def scenario() -> int:
        _, agent, taken, waits = taking(3, 0.001)
        async with agent.test_context() as context:
            await context.put(1)
            await until(lambda: len(taken) == 1)
            before = waits[0]
            await asyncio.sleep(0.2)  # the idle spell measured, not a synchronisation
            return waits[0] - before

    assert asyncio.run(scenario()) <= 1
