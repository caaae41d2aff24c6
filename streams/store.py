"""State in Redis: a batch is computed by the pure engine over states read under WATCH, then
written back atomically with the applied offsets, the due index and an outbox of its records.

A batch that raced another writer (WATCH failed) is recomputed from fresh state, so any
number of workers, and the decay timer, can touch the same lead or account safely.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.exceptions import WatchError

from scoring import (
    ACCOUNT,
    LEAD,
    LEADS_TEMPERATURE,
    VISITOR,
    AccountState,
    Engine,
    LeadState,
    Record,
    VisitorState,
)
from streams.plumbing.clock import now_ms

_DECODE: dict[str, Callable[[bytes], Any]] = {
    LEAD: LeadState.from_bytes,
    ACCOUNT: AccountState.from_bytes,
    VISITOR: VisitorState.from_bytes,
}
T = TypeVar("T")
RESCHEDULE_CLAIM_S = 900  # ≈50 µs a state here: 15 minutes is ≈18 million states


class Recompute(Exception):
    """Start the batch's computation over from the state as read (nothing is written)."""


@dataclass
class Keys:
    """Redis key names. Everything of one deployment shares `prefix`."""

    prefix: str

    def state(self, kind: str, key: str) -> str:
        return f"{self.prefix}{kind}:{key}"

    @property
    def due(self) -> str:
        return f"{self.prefix}due"

    def applied(self, partition: str) -> str:
        """The last offset applied of one input partition ("topic:partition")."""
        return f"{self.prefix}applied:{partition}"

    @property
    def outboxes(self) -> str:
        return f"{self.prefix}outboxes"

    def outbox(self, batch_id: str) -> str:
        return f"{self.prefix}outbox:{batch_id}"

    @property
    def rules(self) -> str:
        """The fingerprint of the rules every state's next change by time was set under."""
        return f"{self.prefix}rules"

    def rescheduling(self, fingerprint: str) -> str:
        """Held by the one worker re-indexing the states for these rules."""
        return f"{self.prefix}rescheduling:{fingerprint}"

    def all_states(self, kind: str) -> str:
        """A SCAN pattern matching every state of one kind."""
        return f"{_glob_escape(self.prefix)}{kind}:*"

    @property
    def temperatures(self) -> str:
        """How many leads are at each temperature (kept with the state, so exact)."""
        return f"{self.prefix}temperatures"


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def next_change_at(kind: str, state: LeadState | AccountState) -> int | None:
    """When the due index should next see a lead (its drop) or an account (its window end)."""
    return state.next_drop if kind == LEAD else state.next_check  # type: ignore[union-attr]


def due_member(kind: str, key: str) -> str:
    return f"{kind}\x1f{key}"


def parse_due_member(member: bytes | str) -> tuple[str, str]:
    text = member.decode() if isinstance(member, bytes) else member
    kind, _, key = text.partition("\x1f")
    return kind, key


@dataclass
class BatchStore:
    """The engine's StateStore over states read for one batch; remembers what changed."""

    raw: dict[tuple[str, str], bytes | None]
    watermark: int | None = None  # for the timer: schedules due by then are processed now
    due: list[tuple[int, str, str]] = field(default_factory=list)
    states: dict[tuple[str, str], Any] = field(default_factory=dict)
    dirty: set[tuple[str, str]] = field(default_factory=set)
    scheduled: dict[tuple[str, str], int | None] = field(default_factory=dict)
    missing: set[tuple[str, str]] = field(default_factory=set)

    def _get(self, kind: str, key: str) -> Any:
        k = (kind, key)
        if k in self.states:
            return self.states[k]
        if k not in self.raw:
            # Carry on as if it were absent, to learn every key the batch needs in one pass;
            # the caller fetches them and computes again (restarting at the first missing
            # key instead would cost a whole recomputation per account discovered).
            self.missing.add(k)
            self.states[k] = None
            return None
        data = self.raw[k]
        state = None if data is None else _DECODE[kind](data)
        self.states[k] = state
        return state

    def _put(self, kind: str, key: str, state: Any) -> None:
        self.states[(kind, key)] = state
        self.dirty.add((kind, key))

    def lead(self, lead_id: str) -> LeadState | None:
        return self._get(LEAD, lead_id)  # type: ignore[no-any-return]

    def put_lead(self, lead_id: str, state: LeadState) -> None:
        self._put(LEAD, lead_id, state)

    def account(self, account_id: str) -> AccountState | None:
        return self._get(ACCOUNT, account_id)  # type: ignore[no-any-return]

    def put_account(self, account_id: str, state: AccountState) -> None:
        self._put(ACCOUNT, account_id, state)

    def visitor(self, visitor_id: str) -> VisitorState | None:
        return self._get(VISITOR, visitor_id)  # type: ignore[no-any-return]

    def put_visitor(self, visitor_id: str, state: VisitorState) -> None:
        self._put(VISITOR, visitor_id, state)

    def schedule(self, kind: str, key: str, at: int | None) -> None:
        self.scheduled[(kind, key)] = at
        if at is not None and self.watermark is not None and at <= self.watermark:
            heapq.heappush(self.due, (at, kind, key))

    def pop_due(self, until: int) -> tuple[int, str, str] | None:
        while self.due and self.due[0][0] <= until:
            at, kind, key = heapq.heappop(self.due)
            current = self.scheduled.get((kind, key), at)
            if current == at:
                self.scheduled.pop((kind, key), None)
                return at, kind, key
        return None


@dataclass
class Committed:
    """What a batch wrote, for metrics and for publishing its records."""

    records: list[Record]
    outbox: str | None
    attempts: int
    store: BatchStore


class RedisState:
    """Reads and writes engine state in Redis with optimistic concurrency."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = Keys(prefix)

    async def run_batch(
        self,
        compute: Callable[[BatchStore, dict[str, int]], list[Record]],
        first_keys: Iterable[tuple[str, str]],
        offsets: dict[str, int] | None = None,
        watermark: int | None = None,
        due: list[tuple[int, str, str]] | None = None,
        on_retry: Callable[[], None] | None = None,
        on_recompute: Callable[[], None] | None = None,
    ) -> Committed:
        """Compute over fresh state and commit atomically; recompute when another writer raced."""
        wanted = set(first_keys)
        attempts = 0
        while True:
            attempts += 1
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    # Watching the applied offsets of the batch's partitions fences a worker
                    # that lost them: if the new owner commits first, this EXEC fails, and the
                    # recomputation skips what the other applied.
                    partitions = sorted(offsets or {})
                    applied: dict[str, int] = {}
                    if partitions:
                        names = [self.keys.applied(tp) for tp in partitions]
                        await pipe.watch(*names)
                        values = await pipe.mget(names)
                        applied = {
                            tp: int(v) for tp, v in zip(partitions, values, strict=True) if v
                        }
                    raw: dict[tuple[str, str], bytes | None] = {}
                    while True:
                        missing = [k for k in wanted if k not in raw]
                        if missing:
                            names = [self.keys.state(kind, key) for kind, key in missing]
                            await pipe.watch(*names)
                            raw.update(zip(missing, await pipe.mget(names), strict=True))
                            # What those states point at is read too, before computing:
                            # found only while computing, it costs a second computation.
                            linked: set[tuple[str, str]] = set()
                            for kind, key in missing:
                                data = raw[(kind, key)]
                                if data is not None and kind != ACCOUNT:  # accounts link nowhere
                                    linked.update(Engine.keys_linked_to(_DECODE[kind](data)))
                            if linked := linked - raw.keys():
                                wanted |= linked
                                continue
                        store = BatchStore(raw, watermark, list(due or []))
                        heapq.heapify(store.due)
                        try:
                            records = compute(store, applied)
                        except Recompute:
                            continue
                        if not store.missing:
                            break
                        wanted |= store.missing
                        if on_recompute is not None:
                            on_recompute()
                    advanced = {k: v for k, v in (offsets or {}).items() if v > applied.get(k, -1)}
                    outbox = self._queue_writes(pipe, store, records, advanced)
                    await pipe.execute()
                    return Committed(records, outbox, attempts, store)
            except WatchError:
                if on_retry is not None:
                    on_retry()
                continue

    def _queue_writes(
        self,
        pipe: Any,
        store: BatchStore,
        records: list[Record],
        advanced: dict[str, int],
    ) -> str | None:
        pipe.multi()
        if store.dirty:  # one MSET: a command per state costs more client time than the rest
            pipe.mset({self.keys.state(kind, key): store.states[(kind, key)].to_bytes()
                       for kind, key in store.dirty})  # fmt: skip
        adds = {
            due_member(k, key): at for (k, key), at in store.scheduled.items() if at is not None
        }
        removes = [due_member(k, key) for (k, key), at in store.scheduled.items() if at is None]
        if adds:
            pipe.zadd(self.keys.due, adds)
        if removes:
            pipe.zrem(self.keys.due, *removes)
        for partition, offset in advanced.items():
            pipe.set(self.keys.applied(partition), offset)
        if not records:
            return None
        counts: dict[str, int] = {}
        for r in records:
            if r.topic == LEADS_TEMPERATURE:
                if r.value["from"] is not None:
                    counts[r.value["from"]] = counts.get(r.value["from"], 0) - 1
                counts[r.value["to"]] = counts.get(r.value["to"], 0) + 1
        for temperature, change in counts.items():
            if change:
                pipe.hincrby(self.keys.temperatures, temperature, change)
        batch_id = uuid.uuid4().hex
        pipe.rpush(self.keys.outbox(batch_id), *[orjson.dumps(r.as_replay_line()) for r in records])
        pipe.zadd(self.keys.outboxes, {batch_id: now_ms()})
        return batch_id

    async def outbox_done(self, batch_id: str) -> None:
        """The batch's records are on the wire: forget them."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.outbox(batch_id))
            pipe.zrem(self.keys.outboxes, batch_id)
            await pipe.execute()

    async def pending_outboxes(
        self, older_than_ms: int | None = None
    ) -> list[tuple[str, list[Record]]]:
        """Records committed but maybe not published (a worker died between the two),
        from batches committed before `older_than_ms` (all, when None)."""
        pending = []
        until = "+inf" if older_than_ms is None else older_than_ms
        for raw_id in await self.redis.zrangebyscore(self.keys.outboxes, "-inf", until):
            batch_id = raw_id.decode()
            lines = await self.redis.lrange(self.keys.outbox(batch_id), 0, -1)
            records = [Record(d["topic"], d["key"], d["value"]) for d in map(orjson.loads, lines)]
            pending.append((batch_id, records))
        return pending

    async def rules_fingerprint(self) -> str | None:
        """The fingerprint `reschedule_all` last recorded (None before the first)."""
        value = await self.redis.get(self.keys.rules)
        return None if value is None else value.decode()

    async def claim_reschedule(self, fingerprint: str, seconds: int = RESCHEDULE_CLAIM_S) -> bool:
        """Whether this worker re-indexes for these rules: the first to ask does, the others
        wait for it (the index is shared). The claim lapses after `seconds`, in case it dies."""
        key = self.keys.rescheduling(fingerprint)
        return bool(await self.redis.set(key, b"1", nx=True, ex=seconds))

    async def release_reschedule(self, fingerprint: str) -> None:
        await self.redis.delete(self.keys.rescheduling(fingerprint))

    async def reschedule_all(
        self, engine: Engine, fingerprint: str, chunk: int = 500
    ) -> tuple[int, int]:
        """Set every lead's next drop and account's next window end under `engine`'s rules
        and re-index them, then record `fingerprint`; (states examined, states moved).

        Safe alongside running batches: each chunk is written under WATCH and read again if
        a batch wrote one of its states meanwhile."""
        examined = moved = 0
        for kind in (LEAD, ACCOUNT):
            names: list[bytes] = []
            async for name in self.redis.scan_iter(match=self.keys.all_states(kind), count=1000):
                names.append(name)
                if len(names) == chunk:
                    moved += await self._reschedule(engine, kind, names)
                    examined, names = examined + len(names), []
            if names:
                moved += await self._reschedule(engine, kind, names)
                examined += len(names)
        await self.redis.set(self.keys.rules, fingerprint)
        return examined, moved

    async def _reschedule(self, engine: Engine, kind: str, names: list[bytes]) -> int:
        skip = len(self.keys.state(kind, "").encode())
        while True:
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(*names)
                    writes: dict[bytes, bytes] = {}
                    adds: dict[str, int] = {}
                    removes: list[str] = []
                    for name, data in zip(names, await pipe.mget(names), strict=True):
                        if data is None:
                            continue  # deleted since the scan
                        state = _DECODE[kind](data)
                        if engine.reschedule(state):
                            writes[name] = state.to_bytes()
                            member = due_member(kind, name[skip:].decode())
                            at = next_change_at(kind, state)
                            if at is None:
                                removes.append(member)
                            else:
                                adds[member] = at
                    pipe.multi()
                    if writes:
                        pipe.mset(writes)
                    if adds:
                        pipe.zadd(self.keys.due, adds)
                    if removes:
                        pipe.zrem(self.keys.due, *removes)
                    await pipe.execute()
                    return len(writes)
            except WatchError:
                continue

    async def due_now(self, now: int, limit: int) -> list[tuple[int, str, str]]:
        """Leads and accounts whose next drop or window end has come."""
        rows = await self.redis.zrangebyscore(
            self.keys.due, "-inf", now, start=0, num=limit, withscores=True
        )
        return [(int(score), *parse_due_member(member)) for member, score in rows]

    async def applied_offsets(self, partitions: list[str]) -> dict[str, int]:
        """The last applied offset of each partition that has one."""
        if not partitions:
            return {}
        values = await self.redis.mget([self.keys.applied(tp) for tp in partitions])
        return {tp: int(v) for tp, v in zip(partitions, values, strict=True) if v is not None}

    async def temperature_counts(self) -> dict[str, int]:
        counts = await self.redis.hgetall(self.keys.temperatures)
        return {k.decode(): int(v) for k, v in counts.items()}

    async def get(self, kind: str, key: str) -> Any:
        """One state, decoded (for inspection and tests)."""
        data = await self.redis.get(self.keys.state(kind, key))
        return None if data is None else _DECODE[kind](data)
