"""The input hop: the four input topics, read in batches with aiokafka, each message validated
once and forwarded to the re-keyed topic (or dead-lettered), offsets committed only after.

Not a Faust agent: Faust acknowledges a batch in a `finally`, also when it was interrupted,
so a stop during a retry used to lose the batch; and its per-message delivery cost ≈80 µs
a message here. This consumer commits a batch's offsets only once the broker has every
message it forwarded and every dead letter, so any stop (SIGTERM, SIGKILL, a rebalance, a
crash) before that reads the batch again; what was forwarded twice is a duplicate the score
hop drops (its event id). It runs in the worker's event loop (a task of the Faust app).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, KafkaError

from streams.health import Progress
from streams.pipeline import Incoming, Pipeline, with_backoff
from streams.plumbing.kafka_backoff import with_metadata_backoff
from streams.settings import Settings

log = logging.getLogger("leadtemp.worker")

# How long a rebalance waits for the batch in flight to be forwarded and committed before it
# lets the partitions go anyway (the next owner then forwards that batch again: duplicates).
REVOKE_WAIT_S = 30.0


class Ingest:
    """Reads, validates and forwards input messages until cancelled."""

    def __init__(self, settings: Settings, pipeline: Pipeline, progress: Progress) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.progress = progress
        self.consumer: AIOKafkaConsumer | None = None
        self._batch = asyncio.Lock()  # held while a batch is forwarded and committed

    @property
    def group_id(self) -> str:
        return ingest_group(self.settings)

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
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
        await self.pipeline.ingest(batch)
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
            legacy = await _committed_offsets(self.settings, self.settings.group_id)
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


async def _committed_offsets(settings: Settings, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
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
