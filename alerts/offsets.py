"""Which alert offsets the notifier may commit: an alert's offset only once every one of its
deliveries reached an end, so a crash or a rebalance before that reads it again (the
ledger, alerts/ledger.py, makes the repeat a no-op)."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

log = logging.getLogger("alerts.notifier")


class Offsets:
    """Offsets in flight per partition; what may be committed is everything below the lowest."""

    def __init__(self) -> None:
        self.pending: dict[TopicPartition, set[int]] = {}
        self.next: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}

    def start(self, tp: TopicPartition, offset: int) -> None:
        self.pending.setdefault(tp, set()).add(offset)
        self.next[tp] = max(self.next.get(tp, 0), offset + 1)

    def finish(self, tp: TopicPartition, offset: int) -> None:
        self.pending.get(tp, set()).discard(offset)

    def in_flight(self) -> int:
        return sum(len(p) for p in self.pending.values())

    def to_commit(self) -> dict[TopicPartition, int]:
        """Partitions whose committable offset moved since the last commit."""
        out = {}
        for tp, nxt in self.next.items():
            pending = self.pending.get(tp)
            offset = min(pending) if pending else nxt
            if self.committed.get(tp) != offset:
                out[tp] = offset
        return out

    def forget(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            self.pending.pop(tp, None)
            self.next.pop(tp, None)
            self.committed.pop(tp, None)


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, offsets: Offsets) -> None:
        self.offsets = offsets

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Deliveries still running for these partitions finish harmlessly (the ledger); the
        # new owner starts from the last commit and finds them done.
        self.offsets.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass


async def commit_finished(consumer: AIOKafkaConsumer, offsets: Offsets) -> None:
    todo = {tp: o for tp, o in offsets.to_commit().items() if tp in consumer.assignment()}
    if not todo:
        return
    try:
        await consumer.commit(todo)
    except (CommitFailedError, KafkaError) as e:  # a rebalance: the new owner redoes (no-ops)
        log.info("commit skipped: %s", e)
        return
    offsets.committed.update(todo)
