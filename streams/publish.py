"""What a committed batch publishes (output records, items for other partitions), handed to
the producer in order; the wait for the broker and the outbox's removal go on in the
background. Safe because the outbox already holds the messages: if this worker dies before
the broker has them, the partition's next owner republishes the outbox when it takes over."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from scoring import ALERTS_HOT_ACCOUNT, ALERTS_HOT_LEAD, LEADS_TEMPERATURE, Record
from streams import metrics
from streams.batch import Outgoing
from streams.metrics import with_backoff
from streams.settings import Settings
from streams.store import RedisState

log = logging.getLogger("leadtemp.worker")

# (topic, key, value, timestamp seconds or None, partition or None) -> awaitable delivery
Send = Callable[[str, bytes | None, bytes, float | None, int | None], Awaitable[Awaitable[Any]]]
MAX_UNCONFIRMED_BATCHES = 16


def outgoing_of(records: list[Record]) -> list[Outgoing]:
    """Records as messages: each value serialized once, here."""
    return [Outgoing(r.topic, r.key.encode() if r.key is not None else None,
                     orjson.dumps(r.value)) for r in records]  # fmt: skip


class Publisher:
    def __init__(self, settings: Settings, state: RedisState, send: Send) -> None:
        self.settings = settings
        self.state = state
        self.send = send
        self._unconfirmed: set[asyncio.Task[None]] = set()  # batches awaiting broker acks

    async def publish_committed(
        self,
        p: int,
        outgoing: list[Outgoing],
        records: list[Record],
        outbox: str | None,
        input_timestamps: list[float],
    ) -> None:
        """Hand a committed batch's messages to the producer, in order, and return. Not
        waiting here takes a Kafka and a Redis round trip out of every batch's critical
        path."""
        for r in records:
            if r.topic == LEADS_TEMPERATURE:
                metrics.TRANSITIONS.labels(str(r.value["from"]), r.value["to"]).inc()
            elif r.topic in (ALERTS_HOT_LEAD, ALERTS_HOT_ACCOUNT):
                metrics.ALERTS.labels(r.topic, r.value["priority"]).inc()
        if not outgoing:
            return
        try:
            deliveries = await self.enqueue(outgoing)
        except Exception as e:  # the producer refused at once: fall back to waiting
            log.warning("enqueueing records failed (%s); publishing synchronously", e)
            await self.publish(outgoing)
            deliveries = []
        task = asyncio.create_task(self._confirm(p, outgoing, deliveries, outbox,
                                                 input_timestamps))  # fmt: skip
        self._unconfirmed.add(task)
        task.add_done_callback(self._unconfirmed.discard)
        if len(self._unconfirmed) >= MAX_UNCONFIRMED_BATCHES:  # the broker is behind: wait
            await asyncio.wait(self._unconfirmed, return_when=asyncio.FIRST_COMPLETED)

    async def _confirm(
        self, p: int, outgoing: list[Outgoing], deliveries: list[Any], outbox: str | None,
        input_timestamps: list[float],
    ) -> None:  # fmt: skip
        try:
            await asyncio.gather(*deliveries)
        except Exception as e:
            log.warning("records not acknowledged (%s); publishing them again", e)
            await self.publish(outgoing)
        produced = time.time()
        for ts in input_timestamps:
            metrics.LATENCY.observe(max(0.0, produced - ts))
        if outbox is not None:
            await with_backoff("clearing the outbox", lambda: self.state.outbox_done(p, outbox))

    async def drain(self) -> None:
        """Wait until every published batch is acknowledged and its outbox cleared."""
        while self._unconfirmed:
            await asyncio.wait(set(self._unconfirmed))

    async def enqueue(self, outgoing: list[Outgoing]) -> list[Any]:
        """Send in order; the delivery futures."""
        return [await self.send(self.settings.topic(o.topic), o.key, o.value, None, o.partition)
                for o in outgoing]  # fmt: skip

    async def publish(self, outgoing: list[Outgoing]) -> None:
        """Send in order and wait until the broker has them all (at-least-once)."""

        async def send_all() -> None:
            await asyncio.gather(*await self.enqueue(outgoing))

        await with_backoff("publishing records", send_all, "kafka")

    async def republish_outboxes(self, p: int, older_than_ms: int | None = None) -> int:
        """Publish what an owner of `p` committed but may not have sent (it died in between);
        how many batches. Records carry deterministic ids, items are applied once."""
        pending = await with_backoff(
            "reading outboxes", lambda: self.state.pending_outboxes(p, older_than_ms)
        )
        for batch_id, outgoing in pending:
            await self.publish(outgoing)
            await with_backoff("clearing the outbox",
                               lambda b=batch_id: self.state.outbox_done(p, b))  # fmt: skip
        return len(pending)
