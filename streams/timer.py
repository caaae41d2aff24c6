"""The decay timer: the downgrades by time (a lead's drop, an account's stakeholder window
ending) that the clock has reached, partition by partition of those this worker owns, in the
same transactions as batches and between them (the score hop's lock): one writer."""

from __future__ import annotations

import asyncio

from scoring import ACCOUNT, LEAD, LEADS_TEMPERATURE, Record
from streams import metrics
from streams.batch import BatchStore, Outgoing, next_change_at
from streams.metrics import with_backoff
from streams.plumbing.clock import now_ms
from streams.publish import outgoing_of
from streams.retention import Sweeper
from streams.score import Scorer
from streams.store import Fenced


class Timer:
    def __init__(self, scorer: Scorer, retention_ms: int | None = None) -> None:
        self.scorer = scorer
        self.sweeper = None if retention_ms is None else Sweeper(scorer, retention_ms)

    async def tick(self, limit: int = 1000) -> int:
        """Emit the downgrades by time the clock has reached, on every partition owned; how
        many keys were due."""
        now = now_ms() if self.scorer.settings.clock == "wall" else self.scorer.latest_event_ms
        if now is None:
            return 0
        # The due index is read outside the score hop's lock, all partitions at once: most
        # ticks find nothing due, and read under the lock one after the other they held
        # batches back 5-33 ms a second. An entry a batch moved meanwhile is harmless: the
        # engine downgrades by the state's own moment, read in the transaction.
        owned = list(self.scorer.epochs.items())
        dues = await asyncio.gather(*(with_backoff(
            "reading the due index", lambda p=p: self.scorer.state.due_now(p, now, limit))
            for p, _ in owned))  # fmt: skip
        total = 0
        for (p, epoch), due in zip(owned, dues, strict=True):
            if not due:
                continue
            async with self.scorer.lock:
                if self.scorer.epochs.get(p) != epoch:
                    continue  # given up meanwhile
                try:
                    total += await self._tick(p, epoch, now, due)
                except Fenced:
                    metrics.REDIS_RETRIES.labels("raced").inc()
                    self.scorer.fenced(p, epoch)
        if self.sweeper is not None:
            await self.sweeper.sweep(now)  # (it takes the lock only for what it removes)
        return total

    async def _tick(self, p: int, epoch: str, now: int, due: list[tuple[int, str, str]]) -> int:
        def compute(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
            records = self.scorer.engine.advance(store, now)
            for _, kind, key in due:
                if (kind, key) not in store.scheduled:  # stale entry: re-index from the state
                    state = store.lead(key) if kind == LEAD else store.account(key)
                    at = None if state is None else next_change_at(kind, state)
                    store.schedule(kind, key, at)
            return records, outgoing_of(records)

        keys = {(kind, key) for _, kind, key in due if kind in (LEAD, ACCOUNT)}
        committed = await with_backoff("storing downgrades", lambda: self.scorer.state.run_batch(
            p, epoch, compute, keys, None, watermark=now, due=due))  # fmt: skip
        metrics.DOWNGRADES_BY_TIME.inc(sum(r.topic == LEADS_TEMPERATURE for r in committed.records))
        await self.scorer.publisher.publish_committed(p, committed.outgoing, committed.records,
                                               committed.outbox, [])  # fmt: skip
        return len(due)

    async def measure(self) -> None:
        """The temperature counts of every partition (the gauge is the deployment's) and the
        due backlog of those owned."""
        counts = await self.scorer.state.temperature_counts()
        for temperature, n in counts.items():
            metrics.LEADS.labels(temperature).set(n)
        now = now_ms() if self.scorer.settings.clock == "wall" else self.scorer.latest_event_ms
        metrics.DUE_BACKLOG.clear()
        for p in list(self.scorer.epochs):
            backlog = await self.scorer.state.due_backlog(p, now) if now is not None else 0
            metrics.DUE_BACKLOG.labels(str(p)).set(backlog)
