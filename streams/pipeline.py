"""What the worker does with messages, independent of Faust: validate and route, score a batch,
publish its records, run the decay timer. `streams/app.py` wires these to Faust agents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from scoring import (
    ACCOUNT,
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
    EVENTS_DEADLETTER,
    LEAD,
    LEADS_TEMPERATURE,
    REPARTITION_TOPIC,
    Engine,
    Event,
    Record,
    Rejection,
    dead_letter,
    parse_event,
    rfc3339_from_ms,
)
from streams import metrics
from streams.bundles import bundle, partition_of, unbundle
from streams.health import Progress
from streams.plumbing.backoff import counted_backoff
from streams.plumbing.clock import now_ms
from streams.plumbing.isolation import error_detail, isolating
from streams.settings import Settings
from streams.store import BatchStore, Recompute, RedisState, next_change_at

log = logging.getLogger("leadtemp.worker")

# A dead-letter reason beyond the input contract's: the event was valid but processing it raised.
PROCESSING_ERROR = "processing_error"

# (topic, key, value, timestamp seconds or None, partition or None) -> awaitable delivery
Send = Callable[[str, bytes | None, bytes, float | None, int | None], Awaitable[Awaitable[Any]]]
# A bundle stays well below the producer's and broker's 4 MiB message limit.
MAX_BUNDLE_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True)
class Incoming:
    """One consumed message (or one event of a bundle) and where it came from."""

    value: bytes | None  # None: a message with a null value (a tombstone)
    key: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: float | None  # Kafka record timestamp, seconds
    # False for the events of a bundle but its last: a bundle's offset counts as applied
    # with its last event (so a batch split to isolate a failure never skips the rest).
    ends_message: bool = True


MAX_UNCONFIRMED_BATCHES = 16


# Redis and Kafka calls retried while they fail transiently, each failure counted.
with_backoff = counted_backoff(metrics.REDIS_ERRORS, metrics.KAFKA_ERRORS)


class Pipeline:
    """The worker's logic over an injected `send` (Kafka) and RedisState."""

    def __init__(self, settings: Settings, engine: Engine, state: RedisState, send: Send) -> None:
        self.settings = settings
        self.engine = engine
        self.state = state
        self.send = send
        self.repartition_topic = settings.topic(REPARTITION_TOPIC)
        self.latest_event_ms: int | None = None  # the watermark when settings.clock == "event"
        self.progress = Progress()  # of the re-keyed partitions, as batches are stored
        self._unconfirmed: set[asyncio.Task[None]] = set()  # batches awaiting broker acks

    # ------------------------------------------------------------------ ingest

    async def ingest(self, batch: Sequence[Incoming]) -> None:
        """Validate input messages; route each by lead (or visitor) id, or dead-letter it.

        Returns once the broker has every forwarded message and dead letter, so committing
        the batch after this never loses one. A message whose forwarding fails for a reason
        other than an outage is dead-lettered as `processing_error`; the rest go on."""
        now = now_ms()
        parsed = [(msg, parse_event(msg.value, now)) for msg in batch]
        await isolating(parsed, self._forward, self._forwarding_failed)

    async def _forward(self, parsed: Sequence[tuple[Incoming, Event | Rejection]]) -> None:
        """Every event of `parsed` to its partition of the re-keyed topic, bundled; every
        rejection to the dead letters; counted once all of it is acknowledged."""
        bundles: dict[int, list[list[tuple[float | None, bytes]]]] = {}
        sizes: dict[int, int] = {}
        letters: list[Record] = []
        for msg, event in parsed:
            if isinstance(event, Rejection):
                letters.append(self._dead_letter(msg, event.reason, event.detail))
                continue
            assert msg.value is not None  # parse_event accepted it
            routing_key = event.lead_id or event.visitor_id
            assert routing_key is not None
            p = partition_of(routing_key.encode(), self.settings.partitions)
            if p not in bundles or sizes[p] + len(msg.value) > MAX_BUNDLE_BYTES:
                bundles.setdefault(p, []).append([])
                sizes[p] = 0
            bundles[p][-1].append((msg.timestamp, msg.value))
            sizes[p] += len(msg.value) + 12

        async def send_all() -> None:
            deliveries = [
                await self.send(self.repartition_topic, None, bundle(items), None, p)
                for p, in_order in bundles.items()
                for items in in_order
            ]
            deliveries += await self._enqueue(letters)
            await asyncio.gather(*deliveries)

        await with_backoff("forwarding events", send_all, "kafka")
        for _, event in parsed:  # once, now that the broker has them all
            if isinstance(event, Rejection):
                metrics.DEAD_LETTERS.labels(event.reason).inc()
            else:
                metrics.EVENTS.labels(event.channel, event.type).inc()

    async def _forwarding_failed(
        self, item: tuple[Incoming, Event | Rejection], error: Exception
    ) -> None:
        await self.publish([self._dead_letter(item[0], PROCESSING_ERROR, error_detail(error))])
        metrics.DEAD_LETTERS.labels(PROCESSING_ERROR).inc()

    def _dead_letter(self, msg: Incoming, reason: str, detail: str) -> Record:
        key = msg.key.decode(errors="replace") if msg.key is not None else None
        received = rfc3339_from_ms(now_ms())
        return dead_letter(
            reason, detail, msg.value or b"", received,
            topic=msg.topic, partition=msg.partition, offset=msg.offset, key=key,
        )  # fmt: skip

    # ------------------------------------------------------------------ scoring

    async def score(self, batch: Sequence[Incoming]) -> None:
        """Apply re-keyed events; store state, offsets and records atomically; publish.

        A failure that is not an outage is narrowed down to the events that cause it, which
        are dead-lettered as `processing_error` (with the offsets, atomically); the others
        are applied."""
        started = time.perf_counter()
        events: list[Incoming] = []
        for msg in batch:
            items = unbundle(msg.value) if msg.value is not None else None
            if items is None:  # a single event (written by something other than ingest)
                events.append(msg)
            else:
                last = len(items) - 1
                events += [Incoming(value, None, msg.topic, msg.partition, msg.offset, ts,
                                    ends_message=i == last)
                           for i, (ts, value) in enumerate(items)]  # fmt: skip
        await isolating(events, self._score_events, self._scoring_failed)
        metrics.BATCH_SIZE.observe(len(events))
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.LAST_BATCH.set_to_current_time()

    async def _scoring_failed(self, msg: Incoming, error: Exception) -> None:
        await self._score_events([msg], {0: (PROCESSING_ERROR, error_detail(error))})

    async def _score_events(
        self, events: Sequence[Incoming], poisoned: dict[int, tuple[str, str]] | None = None
    ) -> None:
        """Apply `events` in one transaction; those in `poisoned` (index -> reason, detail) and
        those the engine fails on are dead-lettered instead, in the same transaction."""
        poisoned = dict(poisoned or {})
        parsed: list[tuple[Incoming, Event | None]] = []
        for i, msg in enumerate(events):
            event = parse_event(msg.value, now_ms() + 10 * 60_000)  # ingest checked the clock
            if isinstance(event, Rejection):  # cannot happen unless the topic is written by others
                poisoned[i] = (event.reason, event.detail)
                parsed.append((msg, None))
            else:
                parsed.append((msg, event))
        offsets: dict[str, int] = {}
        for msg in events:
            if msg.ends_message:
                tp = f"{msg.topic}:{msg.partition}"
                offsets[tp] = max(offsets.get(tp, -1), msg.offset)
        first_keys = {key for i, (_, e) in enumerate(parsed) if e is not None and i not in poisoned
                      for key in self.engine.keys_of(e)}  # fmt: skip

        duplicates = 0
        suppressed: list[tuple[str, str]] = []  # (alert topic, priority)

        def compute(store: BatchStore, applied: dict[str, int]) -> list[Record]:
            nonlocal duplicates
            records: list[Record] = []
            duplicates = 0  # (a second pass starts over)
            suppressed.clear()
            for i, (msg, event) in enumerate(parsed):
                if msg.offset <= applied.get(f"{msg.topic}:{msg.partition}", -1):
                    continue  # applied before a crash or a rebalance
                if i in poisoned or event is None:
                    records.append(self._dead_letter(msg, *poisoned[i]))
                    continue
                try:
                    outcome = self.engine.apply(event, store)
                except Exception as e:
                    log.exception("scoring event %s failed; dead-lettering it", event.event_id)
                    poisoned[i] = (PROCESSING_ERROR, error_detail(e))
                    raise Recompute from e  # state may be half-changed: start over without it
                records += outcome.records
                suppressed.extend(outcome.suppressed)
                duplicates += outcome.duplicate
            return records

        committed = await with_backoff(
            "storing a batch",
            lambda: self.state.run_batch(
                compute,
                first_keys,
                offsets,
                on_retry=lambda: metrics.REDIS_RETRIES.labels("race").inc(),
                on_recompute=lambda: metrics.REDIS_RETRIES.labels("state_not_read").inc(),
            ),
        )
        latest = max((e.at for _, e in parsed if e is not None), default=None)
        if latest is not None and (self.latest_event_ms is None or latest > self.latest_event_ms):
            self.latest_event_ms = latest
        for tp, offset in offsets.items():
            topic, _, partition = tp.rpartition(":")
            self.progress.processed((topic, int(partition)), offset + 1)
        metrics.DUPLICATES.labels("event_id").inc(duplicates)
        for r in committed.records:
            if r.topic == EVENTS_DEADLETTER:
                metrics.DEAD_LETTERS.labels(r.value["reason"]).inc()
        for kind, priority in suppressed:
            metrics.ALERTS_SUPPRESSED.labels(kind, priority).inc()
        await self.publish_committed(
            committed.records, committed.outbox, [m.timestamp for m in events if m.timestamp]
        )

    # ------------------------------------------------------------------ decay timer

    async def tick(self, limit: int = 1000) -> int:
        """Emit the downgrades by time that the clock has reached; returns how many keys."""
        counts = await with_backoff("reading counts", self.state.temperature_counts)
        for temperature, n in counts.items():
            metrics.LEADS.labels(temperature).set(n)
        now = now_ms() if self.settings.clock == "wall" else self.latest_event_ms
        if now is None:
            return 0
        due = await with_backoff("reading the due index", lambda: self.state.due_now(now, limit))
        if not due:
            return 0

        def compute(store: BatchStore, applied: dict[str, int]) -> list[Record]:
            records = self.engine.advance(store, now)
            for _, kind, key in due:
                if (kind, key) not in store.scheduled:  # stale entry: re-index from the state
                    state = store.lead(key) if kind == LEAD else store.account(key)
                    at = None if state is None else next_change_at(kind, state)
                    store.schedule(kind, key, at)
            return records

        keys = {(kind, key) for _, kind, key in due if kind in (LEAD, ACCOUNT)}
        committed = await with_backoff(
            "storing downgrades",
            lambda: self.state.run_batch(compute, keys, None, watermark=now, due=due),
        )
        metrics.DOWNGRADES_BY_TIME.inc(sum(r.topic == LEADS_TEMPERATURE for r in committed.records))
        await self.publish_committed(committed.records, committed.outbox, [])
        return len(due)

    # ------------------------------------------------------------------ output

    async def publish_committed(
        self, records: list[Record], outbox: str | None, input_timestamps: list[float]
    ) -> None:
        """Hand a committed batch's records to the producer, in order, and return: the wait
        for the broker's acknowledgement and the outbox's removal go on in the background.

        Safe because the outbox already holds the records: if this worker dies before the
        broker has them, the outbox is republished (at start, or by any worker after
        OUTBOX_GRACE). Not waiting here takes a Kafka and a Redis round trip out of every
        batch's critical path."""
        if not records:
            return
        try:
            deliveries = await self._enqueue(records)
        except Exception as e:  # the producer refused at once: fall back to waiting
            log.warning("enqueueing records failed (%s); publishing synchronously", e)
            await self.publish(records)
            deliveries = []
        for r in records:
            if r.topic == LEADS_TEMPERATURE:
                metrics.TRANSITIONS.labels(str(r.value["from"]), r.value["to"]).inc()
            elif r.topic in (ALERTS_HOT_LEAD, ALERTS_HOT_ACCOUNT):
                metrics.ALERTS.labels(r.topic, r.value["priority"]).inc()
        task = asyncio.create_task(self._confirm(records, deliveries, outbox, input_timestamps))
        self._unconfirmed.add(task)
        task.add_done_callback(self._unconfirmed.discard)
        if len(self._unconfirmed) >= MAX_UNCONFIRMED_BATCHES:  # the broker is behind: wait
            await asyncio.wait(self._unconfirmed, return_when=asyncio.FIRST_COMPLETED)

    async def _confirm(
        self, records: list[Record], deliveries: list[Any], outbox: str | None,
        input_timestamps: list[float],
    ) -> None:  # fmt: skip
        try:
            await asyncio.gather(*deliveries)
        except Exception as e:
            log.warning("records not acknowledged (%s); publishing them again", e)
            await self.publish(records)
        produced = time.time()
        for ts in input_timestamps:
            metrics.LATENCY.observe(max(0.0, produced - ts))
        if outbox is not None:
            await with_backoff("clearing the outbox", lambda: self.state.outbox_done(outbox))

    async def drain(self) -> None:
        """Wait until every published batch is acknowledged and its outbox cleared."""
        while self._unconfirmed:
            await asyncio.wait(set(self._unconfirmed))

    async def _enqueue(self, records: list[Record]) -> list[Any]:
        """Send records in order; returns their delivery futures."""
        return [
            await self.send(
                self.settings.topic(r.topic),
                r.key.encode() if r.key is not None else None,
                orjson.dumps(r.value),
                None,
                None,
            )
            for r in records
        ]

    async def publish(self, records: list[Record]) -> None:
        """Send records in order and wait until the broker has them all (at-least-once)."""

        async def send_all() -> None:
            await asyncio.gather(*await self._enqueue(records))

        await with_backoff("publishing records", send_all, "kafka")

    async def republish_outboxes(self, older_than_ms: int | None = None) -> int:
        """Publish what a worker committed but may not have sent (it died in between);
        returns how many batches. Any worker may do it: records carry deterministic ids."""
        pending = await with_backoff(
            "reading outboxes", lambda: self.state.pending_outboxes(older_than_ms)
        )
        for batch_id, records in pending:
            await self.publish(records)
            await with_backoff("clearing the outbox", lambda b=batch_id: self.state.outbox_done(b))
        return len(pending)
