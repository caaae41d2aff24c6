"""The input hop: the four input topics, read in batches with aiokafka, each message validated
once, routed to the partition of the re-keyed topic that owns its state (or dead-lettered),
offsets committed only after.

Not a Faust agent: Faust acknowledges a batch in a `finally`, also when it was interrupted,
so a stop during a retry used to lose the batch; and its per-message delivery cost ≈80 µs
a message here. This consumer commits a batch's offsets only once the broker has every
message it forwarded and every dead letter, so any stop (SIGTERM, SIGKILL, a rebalance, a
crash) before that reads the batch again; what was forwarded twice is a duplicate the score
hop drops (its event id). It runs in the worker's event loop (a task of the Faust app), or
alone (`leadtemp worker --role ingest`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, KafkaError

from scoring import REPARTITION_TOPIC, Engine, Event, Record, Rejection, parse_event
from streams import metrics
from streams.bundles import EVENT, LINK, Item, bundle
from streams.directory import Directory
from streams.health import Progress
from streams.messages import PROCESSING_ERROR, Incoming, dead_letter_of
from streams.metrics import with_backoff
from streams.placement import lead_partition, partition_of
from streams.plumbing.clock import now_ms
from streams.plumbing.isolation import error_detail, isolating
from streams.plumbing.kafka_access import kafka_access
from streams.plumbing.kafka_backoff import with_metadata_backoff
from streams.publish import Publisher, outgoing_of
from streams.settings import Settings

log = logging.getLogger("leadtemp.worker")

# How long a rebalance waits for the batch in flight to be forwarded and committed before it
# lets the partitions go anyway (the next owner then forwards that batch again: duplicates).
REVOKE_WAIT_S = 30.0
# A bundle stays well below the producer's and broker's 4 MiB message limit.
MAX_BUNDLE_BYTES = 3 * 1024 * 1024

Route = tuple[int, int, dict[str, Any] | None]  # (partition, item kind, attachment)


class Router:
    """Where each event goes: the partition its lead is placed on (the directory), that of its
    visitor while no lead claimed it."""

    def __init__(self, engine: Engine, directory: Directory, partitions: int) -> None:
        self.engine = engine
        self.directory = directory
        self.partitions = partitions

    async def routes(self, events: Sequence[Event]) -> list[Route]:
        """The route of each event. A lead seen for the first time is placed here, by its
        first event (its account, else its id), before any of its events is sent: every
        later event of it, in this batch or another, then goes to the same partition."""
        visitors = {e.visitor_id for e in events if e.visitor_id is not None}
        linked = await self.directory.visitors(visitors) if visitors else {}
        # Each lead's placement is read and, where there is none, made in one round trip: the
        # claim answers the placement it finds.
        first: dict[str, int] = {}
        for e in events:
            lead = e.lead_id
            if lead is not None and lead not in first:
                first[lead] = lead_partition(self.engine, e, None, lead, self.partitions)
        placed = await self.directory.claim_leads(first) if first else {}
        if owners := set(linked.values()) - placed.keys():
            placed.update(await self.directory.leads(owners))
        return [self._route(e, placed, linked) for e in events]

    def _route(
        self, event: Event, placed: dict[str, tuple[int, int]], linked: dict[str, str]
    ) -> Route:
        visitor, lead = event.visitor_id, event.lead_id
        if lead is None:  # an anonymous page view
            assert visitor is not None
            if visitor not in linked:
                return partition_of(visitor, self.partitions), EVENT, None
            owner = linked[visitor]
            return self._where(owner, placed), EVENT, {"v": owner}
        p = placed[lead][0]
        if visitor is None:
            return p, EVENT, None
        if visitor in linked:
            return p, EVENT, {"v": linked[visitor]}
        at_visitor = partition_of(visitor, self.partitions)
        # An unlinked visitor's held page views are on its own partition: there first.
        return (p, EVENT, None) if at_visitor == p else (at_visitor, LINK, None)

    def _where(self, lead: str, placed: dict[str, tuple[int, int]]) -> int:
        return placed[lead][0] if lead in placed else partition_of(lead, self.partitions)


class Forwarder:
    """Validate, route and forward a batch of input messages; dead-letter what is bad."""

    def __init__(self, settings: Settings, router: Router, publisher: Publisher) -> None:
        self.settings = settings
        self.router = router
        self.publisher = publisher
        self.repartition_topic = settings.topic(REPARTITION_TOPIC)

    async def ingest(self, batch: Sequence[Incoming]) -> None:
        """Returns once the broker has every forwarded message and dead letter, so committing
        the batch after this never loses one. A message whose forwarding fails for a reason
        other than an outage is dead-lettered as `processing_error`; the rest go on."""
        now = now_ms()
        parsed = [(msg, parse_event(msg.value, now)) for msg in batch]
        await isolating(parsed, self._forward, self._forwarding_failed)

    async def _forward(self, parsed: Sequence[tuple[Incoming, Event | Rejection]]) -> None:
        """Every event of `parsed` to its partition of the re-keyed topic, bundled; every
        rejection to the dead letters; counted once all of it is acknowledged."""
        events = [(msg, e) for msg, e in parsed if not isinstance(e, Rejection)]
        routes = await with_backoff("reading the directory",
                                    lambda: self.router.routes([e for _, e in events]))  # fmt: skip
        bundles: dict[int, list[list[Item]]] = {}
        sizes: dict[int, int] = {}
        for (msg, _), (p, kind, attachment) in zip(events, routes, strict=True):
            assert msg.value is not None  # parse_event accepted it
            if p not in bundles or sizes[p] + len(msg.value) > MAX_BUNDLE_BYTES:
                bundles.setdefault(p, []).append([])
                sizes[p] = 0
            bundles[p][-1].append(Item(msg.timestamp, kind, msg.value, attachment))
            sizes[p] += len(msg.value) + 17
        letters: list[Record] = [dead_letter_of(msg, e.reason, e.detail)
                                 for msg, e in parsed if isinstance(e, Rejection)]  # fmt: skip

        async def send_all() -> None:
            send = self.publisher.send
            deliveries = [
                await send(self.repartition_topic, None, bundle(items), None, p)
                for p, in_order in bundles.items()
                for items in in_order
            ]
            deliveries += await self.publisher.enqueue(outgoing_of(letters))
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
        letter = dead_letter_of(item[0], PROCESSING_ERROR, error_detail(error))
        await self.publisher.publish(outgoing_of([letter]))
        metrics.DEAD_LETTERS.labels(PROCESSING_ERROR).inc()


class Ingest:
    """Reads, validates and forwards input messages until cancelled."""

    def __init__(self, settings: Settings, forwarder: Forwarder, progress: Progress) -> None:
        self.settings = settings
        self.forwarder = forwarder
        self.progress = progress
        self.consumer: AIOKafkaConsumer | None = None
        self._batch = asyncio.Lock()  # held while a batch is forwarded and committed

    @property
    def group_id(self) -> str:
        return ingest_group(self.settings)

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **kafka_access(self.settings).client_options(),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,  # a dead letter's input may be > 1 MiB
            fetch_max_bytes=16 * 1024 * 1024,
        )
        with_metadata_backoff(consumer._client)  # see streams/plumbing/kafka_backoff.py
        self.consumer = consumer
        consumer.subscribe(self.settings.input_topics, listener=_Rebalance(self))
        await with_backoff("starting the ingest consumer", consumer.start, "kafka")
        try:
            while True:
                fetched = await consumer.getmany(
                    timeout_ms=self.settings.batch_within_ms, max_records=self.settings.batch_size
                )
                if fetched:
                    async with self._batch:
                        await self._forward(consumer, fetched)
        finally:
            self.consumer = None
            await consumer.stop()

    async def _forward(
        self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, Any]
    ) -> None:
        batch = [
            Incoming(r.value, r.key, r.topic, r.partition, r.offset,
                     r.timestamp / 1000 if r.timestamp is not None and r.timestamp >= 0 else None)
            for records in fetched.values() for r in records
        ]  # fmt: skip
        await self.forwarder.ingest(batch)
        offsets = {tp: records[-1].offset + 1 for tp, records in fetched.items()}
        owned = consumer.assignment()
        try:
            await consumer.commit({tp: o for tp, o in offsets.items() if tp in owned})
        except (CommitFailedError, KafkaError) as e:
            # A rebalance took the partitions meanwhile: their next owner forwards the batch
            # again, and the score hop drops what it already applied.
            log.info("ingest commit skipped: %s", e)
        for tp, offset in offsets.items():
            self.progress.processed((tp.topic, tp.partition), offset)
            if (end := consumer.highwater(tp)) is not None:
                self.progress.written((tp.topic, tp.partition), end)

    async def measure(self) -> None:
        """The input partitions' ends, for their lag (fetches update them only when data
        arrive; a stalled batch does not fetch)."""
        consumer = self.consumer
        if consumer is None:
            return
        held = list(consumer.assignment())
        if not held:
            return
        ends = await asyncio.wait_for(consumer.end_offsets(held), 5.0)
        for tp, end in ends.items():
            self.progress.written((tp.topic, tp.partition), end)

    async def on_assigned(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> None:
        """Where each partition starts: its committed offset; else, once, where the worker's
        Faust group had committed (workers before this hop existed read the inputs there)."""
        uncommitted = []
        for tp in assigned:
            committed = await consumer.committed(tp)
            if committed is None:
                uncommitted.append(tp)
            else:
                self.progress.processed((tp.topic, tp.partition), committed)
        if uncommitted:
            legacy = await committed_offsets(self.settings, self.settings.group_id)
            for tp in uncommitted:
                if tp in legacy:
                    log.info("ingest: %s:%d starts where the previous worker group left it (%d)",
                             tp.topic, tp.partition, legacy[tp])  # fmt: skip
                    consumer.seek(tp, legacy[tp])
                    self.progress.processed((tp.topic, tp.partition), legacy[tp])
                else:
                    self.progress.processed((tp.topic, tp.partition), 0)

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Let the batch in flight finish (forwarded and committed) before the partitions go."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REVOKE_WAIT_S), self._batch:
                pass
        self.progress.forget((tp.topic, tp.partition) for tp in revoked)


def ingest_group(settings: Settings) -> str:
    """The consumer group of the input hop: its own, beside the Faust app's group (which
    holds the re-keyed topic), since the two use different partition assignors."""
    return f"{settings.group_id}-ingest"


async def committed_offsets(settings: Settings, group: str) -> dict[TopicPartition, int]:
    """The offsets `group` committed on the input topics (what it has routed)."""
    admin = AIOKafkaAdminClient(**kafka_access(settings).client_options())
    try:
        await admin.start()
        offsets = await admin.list_consumer_group_offsets(group)
    except KafkaError as e:
        log.warning("could not read the offsets of group %s: %s", group, e)
        return {}
    finally:
        await admin.close()
    inputs = set(settings.input_topics)
    return {tp: o.offset for tp, o in offsets.items() if tp.topic in inputs and o.offset >= 0}


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.ingest.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self.ingest.consumer is not None:
            await self.ingest.on_assigned(self.ingest.consumer, assigned)
