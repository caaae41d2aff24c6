"""Batches of a Faust stream's events that cost nothing while nothing arrives.

faust-streaming 0.15's `Stream.take_events(max_, within)` wakes every `within` seconds, also
when its buffer is empty: at the score hop's 5 ms that is 200 wake-ups a second, each a few
tasks, ≈20% of a core for an idle worker (py-spy: `take_events` and `wait_for_stopped` the
top frames). `take_events` below is Faust's with one change, marked CHANGED: while the
buffer is empty it waits for the first event without a timeout, and the `within` window
starts when that event arrives, so an event waits at most `within` for company.

It copies a method that uses the stream's private parts (`_processors`, `_enable_passive`),
so `tests/streams/test_take.py` pins the upstream source it was copied from.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from faust.types import EventT, StreamT


async def take_events(
    stream: StreamT[Any], max_: int, within: float
) -> AsyncGenerator[Sequence[EventT[Any]], None]:
    """Lists of up to `max_` events of `stream`, each yielded at most `within` seconds after
    its first event arrived; acknowledged once the caller asks for the next list."""
    s: Any = stream  # the private parts Faust's own method uses
    events: list[EventT[Any]] = []
    arrived = asyncio.Event()  # CHANGED: set by the buffer's first event
    buffer_full = asyncio.Event()
    buffer_consumed = asyncio.Event()
    stream_enable_acks: bool = s.enable_acks
    buffer_consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        try:
            nonlocal buffer_consuming
            if buffer_consuming is not None:
                try:
                    await buffer_consuming
                finally:
                    buffer_consuming = None
            event = s.current_event
            if event is None:
                raise RuntimeError("Take buffer found current_event is None")
            events.append(event)
            arrived.set()
            if len(events) >= max_:
                buffer_full.set()
                buffer_consumed.clear()
                await s.wait(buffer_consumed)
        except asyncio.CancelledError:  # pragma: no cover
            raise
        except Exception as exc:
            s.log.exception("Error adding to take buffer: %r", exc)
            await s.crash(exc)
        return value

    s.enable_acks = False
    s.add_processor(add_to_buffer)
    s._enable_passive(aiter(s.channel))
    try:
        while not s.should_stop:
            await s.wait_for_stopped(arrived)  # CHANGED: was a wake-up every `within`
            await s.wait_for_stopped(buffer_full, timeout=within)
            if events:
                buffer_consuming = asyncio.get_running_loop().create_future()
                try:
                    yield list(events)
                finally:
                    taken = list(events)
                    events.clear()
                    arrived.clear()
                    for event in taken:
                        await s.ack(event)
                    if not buffer_consuming.done():
                        buffer_consuming.set_result(None)
                    buffer_full.clear()
                    buffer_consumed.set()
    finally:
        s.enable_acks = stream_enable_acks
        s._processors.remove(add_to_buffer)
