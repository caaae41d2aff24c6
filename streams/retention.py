"""State retention in Redis (`state_retention_days`): the decay timer sweeps the states of the
partitions this worker owns, a chunk every few seconds, and removes those `scoring.expired`
says may go, in the partition's transaction like a batch (a lead leaves its account as it
would when forgotten). A SCAN cursor per partition and kind survives between sweeps, so a
pass over many states is spread over many of them rather than one long pause."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from scoring import (
    ACCOUNT,
    LEAD,
    MS_PER_DAY,
    VISITOR,
    Record,
    Rules,
    expired,
    shortest_retention_days,
)
from streams import metrics
from streams.batch import BatchStore, Outgoing
from streams.keys import glob_escape
from streams.metrics import with_backoff
from streams.plumbing.settings import SettingsError
from streams.publish import outgoing_of
from streams.score import Scorer
from streams.store import Fenced

KINDS = (LEAD, ACCOUNT, VISITOR)
SWEEP_EVERY_S = 10.0  # per partition: a pass over 125,000 states of a kind takes ~40 min
# Removed in one commit under the score hop's lock: 500 held it 29 ms (bench/retention.py),
# a wait a batch would feel in its latency; 100 about 6 ms.
REMOVED_AT_ONCE = 100


def retention_of(days: float | None, rules: Rules) -> int | None:
    """How long (ms) an idle state is kept: `days`, the rules' shortest safe retention when
    None; None (forever) for 0. SettingsError, naming the setting, below the shortest."""
    shortest = shortest_retention_days(rules)
    if days is None:
        return round(shortest * MS_PER_DAY)
    if days == 0:
        return None
    if days < shortest:
        raise SettingsError(
            f"setting state_retention_days (LEADTEMP_STATE_RETENTION_DAYS): {days:g} days is "
            f"less than the rules' longest window plus its margin ({shortest:g} days): a lead "
            "removed that early could lose points its windows still count (0 keeps states "
            "forever)"
        )
    return round(days * MS_PER_DAY)


class Sweeper:
    """Each partition owned, every `every_s`, a chunk of its states of each kind: read and
    judged outside the score hop's lock (most chunks hold nothing to remove, and batches
    should not wait on them); what may go is removed under it, read again in the batch."""

    def __init__(self, scorer: Scorer, retention: int, chunk: int = 500,
                 every_s: float = SWEEP_EVERY_S) -> None:  # fmt: skip
        self.scorer = scorer
        self.retention = retention
        self.chunk = chunk
        self.every_s = every_s
        self._scans: dict[int, AsyncIterator[Any]] = {}  # partition -> its pass in progress
        self._swept: dict[int, float] = {}  # partition -> when it was last swept

    async def sweep(self, now: int) -> int:
        """Sweep the partitions owned that are due; how many states were removed."""
        removed, partitions = 0, self.scorer.partitions
        for p, epoch in list(self.scorer.epochs.items()):
            # Partitions taken over together are staggered over `every_s`, so that each tick
            # sweeps about one of them: all at once held a worker's event loop 200-250 ms.
            swept = self._swept.setdefault(
                p, time.monotonic() - self.every_s * (1 - p / partitions))
            if time.monotonic() - swept >= self.every_s:
                self._swept[p] = time.monotonic()
                removed += await self._sweep_partition(p, epoch, now)
        return removed

    def pass_over(self, p: int) -> bool:
        """Whether no pass over `p` is in progress (the last one, if any, is complete)."""
        return p not in self._scans

    async def _sweep_partition(self, p: int, epoch: str, now: int) -> int:
        names = await with_backoff("scanning states", lambda: self._next(p))
        idle = await with_backoff("reading states", lambda: self._idle(p, names, now))
        removed = 0
        for i in range(0, len(idle), REMOVED_AT_ONCE):  # (each a short hold of the lock)
            async with self.scorer.lock:
                if self.scorer.epochs.get(p) != epoch:
                    break  # given up meanwhile: its new owner sweeps it
                try:
                    removed += await self._remove_expired(p, epoch, idle[i : i + REMOVED_AT_ONCE],
                                                          now)  # fmt: skip
                except Fenced:
                    self.scorer.fenced(p, epoch)
                    break
        return removed

    async def _next(self, p: int) -> list[tuple[str, str]]:
        """The next chunk of `p`'s states, of every kind: one scan a partition, since SCAN
        walks the whole keyspace whatever it matches."""
        keys = self.scorer.state.keys
        scan = self._scans.get(p)
        if scan is None:
            match = glob_escape(keys.tag(p)) + ":*"
            scan = self.scorer.state.redis.scan_iter(match=match, count=10 * self.chunk)
            self._scans[p] = scan
        skip = len(keys.tag(p)) + 1
        names: list[tuple[str, str]] = []
        try:
            while len(names) < self.chunk:
                kind, _, key = (await anext(scan)).decode()[skip:].partition(":")
                if kind in KINDS:
                    names.append((kind, key))
        except StopAsyncIteration:
            del self._scans[p]  # a pass is over: the next sweep starts another
        except Exception:
            del self._scans[p]  # (a cursor does not survive an outage)
            raise
        return names

    async def _idle(self, p: int, names: list[tuple[str, str]], now: int) -> list[tuple[str, str]]:
        """Those of `names` whose state may go, as read now."""
        if not names:
            return []
        states = await self.scorer.state.states(p, names)
        return [name for name, state in zip(names, states, strict=True)
                if state is not None and expired(name[0], state, now, self.retention)]  # fmt: skip

    async def _remove_expired(
        self, p: int, epoch: str, names: list[tuple[str, str]], now: int
    ) -> int:
        engine, removed = self.scorer.engine, list[tuple[str, str]]()

        def compute(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
            removed.clear()
            records: list[Record] = []
            for kind, key in names:
                state = (store.lead(key) if kind == LEAD else store.account(key)
                         if kind == ACCOUNT else store.visitor(key))  # fmt: skip
                if state is None or not expired(kind, state, now, self.retention):
                    continue  # (an event came meanwhile)
                if kind == LEAD:
                    records += engine.forget(key, store)[0]
                else:
                    store.delete(kind, key)
                removed.append((kind, key))
            return records, outgoing_of(records)

        state = self.scorer.state
        committed = await with_backoff("removing idle states", lambda: state.run_batch(
            p, epoch, compute, names))  # fmt: skip
        # Under the lock still: a batch that places one of these leads anew comes after.
        leads = [key for kind, key in removed if kind == LEAD]
        visitors = [key for kind, key in removed if kind == VISITOR]
        await with_backoff("updating the directory",
                           lambda: state.directory.forget_all(leads, visitors))  # fmt: skip
        for kind in KINDS:
            metrics.STATES_REMOVED.labels(kind).inc(sum(k == kind for k, _ in removed))
        await self.scorer.publisher.publish_committed(p, committed.outgoing, committed.records,
                                                      committed.outbox, [])  # fmt: skip
        return len(removed)
