"""`leadtemp export`: the events the input topics still hold, as a JSONL file for `leadtemp
replay` and `leadtemp rules diff`, in the order they arrived."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from scoring import INPUT_TOPICS
from streams.plumbing.kafka_access import KafkaAccess, kafka_access
from streams.plumbing.settings import Connections
from streams.plumbing.topics import partition_counts

FETCH_TIMEOUT_MS = 1000


def line_of(value: bytes) -> bytes:
    """A message as one line: JSON may hold line breaks only as whitespace, which a line
    cannot; anything else that holds one is not an event and stays a dead letter."""
    return value.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n"


@contextlib.asynccontextmanager
async def assigned_consumer(
    kafka: KafkaAccess, topics: list[str]
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer outside any group, assigned every partition of those of `topics` that
    exist (none: an empty list, and no consumer, None, is started)."""
    counts = await asyncio.to_thread(partition_counts, kafka, topics)
    partitions = [TopicPartition(t, p) for t, n in sorted(counts.items()) for p in range(n)]
    if not partitions:
        yield None, partitions
        return
    consumer = AIOKafkaConsumer(**kafka.client_options(), group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    try:
        consumer.assign(partitions)
        yield consumer, partitions
    finally:
        await consumer.stop()


async def export_events(
    kafka: KafkaAccess,
    topics: list[str],
    write: Callable[[bytes], Any],
    since_ms: int | None = None,
    before_ms: int | None = None,
    until: dict[tuple[str, int], int] | None = None,
) -> Counter[str]:
    """Write every message of `topics` up to their ends as this starts, or up to the offsets
    `until` gives by (topic, partition) (0 for a partition it does not name); by Kafka
    timestamp, from `since_ms` and before `before_ms` when given; merged across partitions by
    Kafka timestamp. The count per topic."""
    async with assigned_consumer(kafka, topics) as (consumer, partitions):
        if not partitions:
            return Counter()
        ends = await consumer.end_offsets(partitions)
        if until is not None:
            ends = {tp: min(end, until.get((tp.topic, tp.partition), 0))
                    for tp, end in ends.items()}  # fmt: skip
        if before_ms is not None:
            ends = await _first_offsets_at(consumer, before_ms, ends)
        # Explicit offsets: aiokafka's seek_to_beginning resets lazily, and position() may
        # still answer the offset from before it.
        if since_ms is None:
            starts = await consumer.beginning_offsets(partitions)
        else:
            starts = await _first_offsets_at(consumer, since_ms, ends)
        for tp in partitions:
            consumer.seek(tp, starts[tp])
        return await _merge(consumer, partitions, ends, write)


async def _first_offsets_at(
    consumer: AIOKafkaConsumer, ms: int, ends: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Per partition, the first offset whose Kafka timestamp is `ms` or later (its end when
    none is)."""
    found = await consumer.offsets_for_times({tp: ms for tp in ends})
    return {tp: end if (at := found.get(tp)) is None else min(at.offset, end)
            for tp, end in ends.items()}  # fmt: skip


async def _merge(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    ends: dict[TopicPartition, int],
    write: Callable[[bytes], Any],
) -> Counter[str]:
    """A k-way merge: the oldest head goes out once every unfinished partition has one."""
    buffered: dict[TopicPartition, deque[Any]] = {tp: deque() for tp in partitions}
    unread = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    heads: list[tuple[int, str, int, TopicPartition]] = []  # (timestamp, topic, partition, tp)
    counts: Counter[str] = Counter()
    while unread or heads:
        waiting = [tp for tp in unread if not buffered[tp]]
        if waiting:
            fetched = await consumer.getmany(*waiting, timeout_ms=FETCH_TIMEOUT_MS)
            for tp, records in fetched.items():
                buffered[tp].extend(r for r in records if r.offset < ends[tp])
                if buffered[tp]:
                    _push_head(heads, tp, buffered[tp])
            for tp in waiting:
                # By position, not by the last record: offsets can have gaps (transaction
                # markers, compaction) right up to the end.
                if await consumer.position(tp) >= ends[tp]:
                    unread.discard(tp)
            continue
        _, _, _, tp = heapq.heappop(heads)
        record = buffered[tp].popleft()
        if record.value is not None:  # a tombstone is no event
            write(line_of(record.value))
            counts[tp.topic] += 1
        if buffered[tp]:
            _push_head(heads, tp, buffered[tp])
    return counts


def _push_head(
    heads: list[tuple[int, str, int, TopicPartition]],
    tp: TopicPartition,
    records: deque[Any],
) -> None:
    heapq.heappush(heads, (records[0].timestamp, tp.topic, tp.partition, tp))


def export_to(
    settings: Connections,
    write: Callable[[bytes], Any],
    since_ms: int | None = None,
    before_ms: int | None = None,
) -> Counter[str]:
    """`leadtemp export`: `export_events` of the deployment's input topics."""
    topics = [settings.topic(t) for t in INPUT_TOPICS]
    return asyncio.run(export_events(kafka_access(settings), topics, write, since_ms,
                                     before_ms))  # fmt: skip
