"""State retention in Redis (`state_retention_days`): the decay timer sweeps the states of the
partitions this worker owns, a chunk per tick, and removes those `scoring.expired` says may go,
in the partition's transaction like a batch (a lead leaves its account as it would when
forgotten). A SCAN cursor per partition and kind survives between ticks, so a pass over many
states is spread over many ticks rather than one long pause of the partition's batches."""

from __future__ import annotations

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
from streams.metrics import with_backoff
from streams.plumbing.settings import SettingsError
from streams.publish import outgoing_of
from streams.score import Scorer

KINDS = (LEAD, ACCOUNT, VISITOR)


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
    def __init__(self, scorer: Scorer, retention: int, chunk: int = 500) -> None:
        self.scorer = scorer
        self.retention = retention
        self.chunk = chunk
        self._scans: dict[tuple[int, str], AsyncIterator[Any]] = {}

    async def sweep(self, p: int, epoch: str, now: int) -> int:
        """Look at the next chunk of `p`'s states of each kind; how many were removed."""
        removed = 0
        for kind in KINDS:
            names = await with_backoff("scanning states", lambda k=kind: self._next(p, k))
            if names:
                removed += await self._remove_expired(p, epoch, kind, names, now)
        return removed

    async def _next(self, p: int, kind: str) -> list[str]:
        state = self.scorer.state
        scan = self._scans.get((p, kind))
        if scan is None:
            scan = state.redis.scan_iter(match=state.keys.all_states(p, kind), count=self.chunk)
            self._scans[(p, kind)] = scan
        skip = len(state.keys.state(p, kind, ""))
        names: list[str] = []
        try:
            while len(names) < self.chunk:
                names.append((await anext(scan)).decode()[skip:])
        except StopAsyncIteration:
            del self._scans[(p, kind)]  # a pass is over: the next tick starts another
        except Exception:
            del self._scans[(p, kind)]  # (a cursor does not survive an outage)
            raise
        return names

    async def _remove_expired(
        self, p: int, epoch: str, kind: str, names: list[str], now: int
    ) -> int:
        engine, removed = self.scorer.engine, list[str]()

        def compute(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
            removed.clear()
            records: list[Record] = []
            for key in names:
                state = (store.lead(key) if kind == LEAD else store.account(key)
                         if kind == ACCOUNT else store.visitor(key))  # fmt: skip
                if state is None or not expired(kind, state, now, self.retention):
                    continue
                if kind == LEAD:
                    records += engine.forget(key, store)[0]
                else:
                    store.delete(kind, key)
                removed.append(key)
            return records, outgoing_of(records)

        state = self.scorer.state
        committed = await with_backoff("removing idle states", lambda: state.run_batch(
            p, epoch, compute, [(kind, k) for k in names]))  # fmt: skip
        for key in removed:
            if kind != ACCOUNT:
                await with_backoff("updating the directory", lambda key=key: (
                    state.directory.forget(key) if kind == LEAD
                    else state.directory.forget(visitor_id=key)))  # fmt: skip
        metrics.STATES_REMOVED.labels(kind).inc(len(removed))
        await self.scorer.publisher.publish_committed(p, committed.outgoing, committed.records,
                                                      committed.outbox, [])  # fmt: skip
        return len(removed)
