"""State in Redis, by partition of the re-keyed topic: one owner at a time writes a partition's
state, so a batch reads it without WATCH, is computed by the pure engine, and is committed
in one Lua script with the due index, the applied offset and an outbox of what it publishes.

The script first checks the partition's epoch, which every newly assigned owner raises: a
worker that lost the partition in a rebalance and still holds a batch of it cannot commit
(`Fenced`) — the fence. Every key of a partition shares one hash tag (streams/keys.py), so
the script runs in one slot of a Redis Cluster.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scoring import (
    ACCOUNT,
    LEAD,
    LEADS_TEMPERATURE,
    Engine,
    Record,
)
from streams.batch import DECODE, BatchStore, Outgoing, due_member, next_change_at, parse_due_member
from streams.directory import Directory, mget, placement
from streams.keys import Keys
from streams.placement import partition_of
from streams.plumbing.clock import now_ms

# KEYS[1]: the partition's epoch; then the keys the operations name by index. ARGV[1]: the
# epoch this owner holds; then operations, each `code, key index, n, n arguments`:
# S(ET) value, D(EL), Z(ADD) score member..., R (ZREM) member..., H(INCRBY) field delta...,
# L (RPUSH) value... Returns 0 (nothing done) when the epoch is another owner's.
COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local i = 2
while i <= #ARGV do
  local op, key, n = ARGV[i], KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
  local args = {}
  for j = 1, n do args[j] = ARGV[i + 2 + j] end
  if op == 'S' then redis.call('SET', key, args[1])
  elseif op == 'D' then redis.call('DEL', key)
  elseif op == 'Z' then redis.call('ZADD', key, unpack(args))
  elseif op == 'R' then redis.call('ZREM', key, unpack(args))
  elseif op == 'H' then
    for j = 1, n, 2 do redis.call('HINCRBY', key, args[j], args[j + 1]) end
  elseif op == 'L' then redis.call('RPUSH', key, unpack(args))
  end
  i = i + 3 + n
end
return 1
"""
# KEYS: an outbox, the partition's outboxes. ARGV: its batch id. (One script: atomic, and a
# cluster client sends it to the partition's slot.)
OUTBOX_DONE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
UNPACK_AT_ONCE = 4000  # arguments of one ZADD/ZREM/RPUSH, well inside Lua's stack
_BATCHES = itertools.count()


class Recompute(Exception):
    """Start the batch's computation over from the state as read (nothing is written)."""


class Fenced(Exception):
    """Another worker owns the partition now: its batch must not be committed here."""


@dataclass
class Committed:
    """What a batch wrote, for metrics and for publishing."""

    records: list[Record]
    outgoing: list[Outgoing]
    outbox: str | None
    store: BatchStore
    recomputed: int  # computations after the first (states found missing while computing)


# compute(store, applied offset) -> (output records, items for other partitions)
Compute = Callable[[BatchStore, int], tuple[list[Record], list[Outgoing]]]


class RedisState:
    """Reads and writes engine state in Redis, one partition at a time."""

    def __init__(self, redis: Any, prefix: str, partitions: int) -> None:
        self.redis = redis
        self.keys = Keys(prefix, partitions)
        self.directory = Directory(redis, self.keys)
        self._commit = redis.register_script(COMMIT)
        self._outbox_done = redis.register_script(OUTBOX_DONE)

    # ------------------------------------------------------------------ ownership

    async def take_over(self, p: int) -> str:
        """This worker owns `p` from now on: its epoch, raised (earlier owners are fenced)."""
        return str(await self.redis.incr(self.keys.epoch(p)))

    async def applied_offset(self, p: int) -> int:
        """The last applied offset of `p` (-1: none yet)."""
        value = await self.redis.get(self.keys.applied(p))
        return -1 if value is None else int(value)

    # ------------------------------------------------------------------ batches

    async def read(
        self, p: int, wanted: Iterable[tuple[str, str]], raw: dict[tuple[str, str], bytes | None]
    ) -> None:
        """Add the states of `wanted` not in `raw` yet to it, and what those point at (a lead's
        account, a visitor's lead): found only while computing, it costs a second pass."""
        missing = [k for k in wanted if k not in raw]
        while missing:
            values = await self.redis.mget([self.keys.state(p, kind, key) for kind, key in missing])
            missing = self._linked(missing, values, raw)

    async def read_for_batch(
        self,
        p: int,
        wanted: Iterable[tuple[str, str]],
        raw: dict[tuple[str, str], bytes | None],
        leads: Sequence[str],
    ) -> tuple[dict[str, tuple[int, int]], int]:
        """`read`, and in its first round trip where those of `leads` without a state went
        (`pointers`) and the applied offset: one round trip of a batch's few, not three."""
        missing = [k for k in wanted if k not in raw]
        names = [self.keys.state(p, kind, key) for kind, key in missing]
        names += [self.keys.moved(p, lead) for lead in leads]
        values = await self.redis.mget([*names, self.keys.applied(p)])
        applied = -1 if values[-1] is None else int(values[-1])
        moved = values[len(missing) : -1]
        await self.read(p, self._linked(missing, values[: len(missing)], raw), raw)
        pointers = {lead: q for lead, v in zip(leads, moved, strict=True)
                    if raw.get((LEAD, lead)) is None and (q := placement(v))}  # fmt: skip
        return pointers, applied

    @staticmethod
    def _linked(
        read: list[tuple[str, str]], values: list[bytes | None],
        raw: dict[tuple[str, str], bytes | None],
    ) -> list[tuple[str, str]]:  # fmt: skip
        """Record the states `read`; the keys they point at (a lead's account, a visitor's
        lead) not read yet."""
        raw.update(zip(read, values, strict=True))
        linked: set[tuple[str, str]] = set()
        for (kind, _), data in zip(read, values, strict=True):
            if data is not None and kind != ACCOUNT:  # accounts point nowhere
                linked.update(Engine.keys_linked_to(DECODE[kind](data)))
        return [k for k in linked if k not in raw]

    async def run_batch(
        self,
        p: int,
        epoch: str,
        compute: Compute,
        first_keys: Iterable[tuple[str, str]],
        offset: int | None = None,
        watermark: int | None = None,
        due: list[tuple[int, str, str]] | None = None,
        raw: dict[tuple[str, str], bytes | None] | None = None,
        applied: int | None = None,
    ) -> Committed:
        """Compute over the partition's state and commit atomically; `offset`: the last offset
        of the batch's messages, recorded as applied; `raw`: states read already; `applied`:
        the applied offset read with them (read here when None). Fenced when `p` has another
        owner."""
        if offset is None:
            applied = -1
        elif applied is None:
            applied = await self.applied_offset(p)
        raw = {} if raw is None else raw
        wanted = set(first_keys)
        recomputed = 0
        while True:
            await self.read(p, wanted, raw)
            store = BatchStore(raw, watermark, list(due or []))
            heapq.heapify(store.due)
            try:
                records, outgoing = compute(store, applied)
            except Recompute:
                continue
            if not store.missing:
                break
            wanted |= store.missing
            recomputed += 1
        advanced = offset if offset is not None and offset > applied else None
        args, keys = self._writes(p, epoch, store, records, outgoing, advanced)
        outbox = args.pop()  # the batch id, or "" when nothing is published
        if not await self._commit(keys=keys, args=args):
            raise Fenced(f"partition {p} has another owner")
        return Committed(records, outgoing, outbox or None, store, recomputed)

    def _writes(
        self,
        p: int,
        epoch: str,
        store: BatchStore,
        records: list[Record],
        outgoing: list[Outgoing],
        offset: int | None,
    ) -> tuple[list[Any], list[str]]:
        """The COMMIT script's ARGV (with the outbox's batch id appended, for the caller to
        take off) and KEYS for the batch's writes."""
        keys: list[str] = [self.keys.epoch(p)]
        args: list[Any] = [epoch]

        def op(code: str, key: str, values: Sequence[Any]) -> None:
            keys.append(key)
            args.extend((code, len(keys), len(values), *values))

        for kind, key in store.dirty:
            state = store.states[(kind, key)]
            name = self.keys.state(p, kind, key)
            if state is None:
                op("D", name, ())
            else:
                op("S", name, (state.to_bytes(),))
        for lead, to in store.released.items():
            op("S", self.keys.moved(p, lead), (to,))
        for lead in store.arrived | store.unpointed:
            op("D", self.keys.moved(p, lead), ())
        adds = [x for (kind, key), at in store.scheduled.items() if at is not None
                for x in (at, due_member(kind, key))]  # fmt: skip
        removes = [due_member(k, key) for (k, key), at in store.scheduled.items() if at is None]
        for i in range(0, len(adds), UNPACK_AT_ONCE):
            op("Z", self.keys.due(p), adds[i : i + UNPACK_AT_ONCE])
        for i in range(0, len(removes), UNPACK_AT_ONCE):
            op("R", self.keys.due(p), removes[i : i + UNPACK_AT_ONCE])
        if offset is not None:
            op("S", self.keys.applied(p), (offset,))
        counts = dict(store.counts)
        for r in records:
            if r.topic == LEADS_TEMPERATURE:
                if r.value["from"] is not None:
                    counts[r.value["from"]] = counts.get(r.value["from"], 0) - 1
                counts[r.value["to"]] = counts.get(r.value["to"], 0) + 1
        changes = [x for t, n in counts.items() if n for x in (t, n)]
        if changes:
            op("H", self.keys.temperatures(p), changes)
        if not outgoing:
            return [*args, ""], keys
        # Time-ordered: batches committed in the same millisecond sort by the counter (Redis
        # orders equal scores by member), and the owner is the only one to commit.
        now = now_ms()
        batch_id = f"{now:013d}-{next(_BATCHES):09d}-{uuid.uuid4().hex[:8]}"
        entries = [o.to_bytes() for o in outgoing]
        for i in range(0, len(entries), UNPACK_AT_ONCE):
            op("L", self.keys.outbox(p, batch_id), entries[i : i + UNPACK_AT_ONCE])
        op("Z", self.keys.outboxes(p), (now, batch_id))
        return [*args, batch_id], keys

    # ------------------------------------------------------------------ outboxes

    async def outbox_done(self, p: int, batch_id: str) -> None:
        """The batch's messages are on the wire: forget them."""
        await self._outbox_done(keys=[self.keys.outbox(p, batch_id), self.keys.outboxes(p)],
                                args=[batch_id])  # fmt: skip

    async def pending_outboxes(
        self, p: int, older_than_ms: int | None = None
    ) -> list[tuple[str, list[Outgoing]]]:
        """Messages committed but maybe not published (a worker died between the two), from
        batches committed before `older_than_ms` (all, when None), oldest first."""
        pending = []
        until = "+inf" if older_than_ms is None else older_than_ms
        for raw_id in await self.redis.zrangebyscore(self.keys.outboxes(p), "-inf", until):
            batch_id = raw_id.decode()
            entries = await self.redis.lrange(self.keys.outbox(p, batch_id), 0, -1)
            pending.append((batch_id, [Outgoing.from_bytes(e) for e in entries]))
        return pending

    # ------------------------------------------------------------------ time

    async def due_backlog(self, p: int, now: int) -> int:
        """How many leads and accounts of `p` are due by `now` and not processed yet."""
        return int(await self.redis.zcount(self.keys.due(p), "-inf", now))

    async def due_now(self, p: int, now: int, limit: int) -> list[tuple[int, str, str]]:
        """Leads and accounts of `p` whose next drop or window end has come."""
        rows = await self.redis.zrangebyscore(
            self.keys.due(p), "-inf", now, start=0, num=limit, withscores=True
        )
        return [(int(score), *parse_due_member(member)) for member, score in rows]

    # ------------------------------------------------------------------ rules

    async def rules_fingerprint(self, p: int) -> str | None:
        """The fingerprint of the rules `p`'s due times were last set under."""
        value = await self.redis.get(self.keys.rules(p))
        return None if value is None else value.decode()

    async def reschedule(
        self, p: int, epoch: str, engine: Engine, fingerprint: str, chunk: int = 500
    ) -> tuple[int, int]:
        """Set every lead's next drop and account's next window end of `p` under `engine`'s
        rules and re-index them, then record `fingerprint`; (states examined, states moved).
        By the partition's owner, between its batches, under its epoch."""
        examined = moved = 0
        for kind in (LEAD, ACCOUNT):
            names: list[bytes] = []
            async for name in self.redis.scan_iter(match=self.keys.all_states(p, kind),
                                                   count=1000):  # fmt: skip
                names.append(name)
                if len(names) == chunk:
                    moved += await self._reschedule(p, epoch, engine, kind, names)
                    examined, names = examined + len(names), []
            if names:
                moved += await self._reschedule(p, epoch, engine, kind, names)
                examined += len(names)
        await self.redis.set(self.keys.rules(p), fingerprint)
        return examined, moved

    async def _reschedule(
        self, p: int, epoch: str, engine: Engine, kind: str, names: list[bytes]
    ) -> int:
        skip = len(self.keys.state(p, kind, "").encode())
        raw = {(kind, n[skip:].decode()): v
               for n, v in zip(names, await self.redis.mget(names), strict=True)}  # fmt: skip
        store = BatchStore(raw)
        for (_, key), data in raw.items():
            if data is None:
                continue  # deleted since the scan
            state = store._get(kind, key)
            if engine.reschedule(state):
                store._put(kind, key, state)
                store.schedule(kind, key, next_change_at(kind, state))
        args, keys = self._writes(p, epoch, store, [], [], None)
        args.pop()
        if not await self._commit(keys=keys, args=args):
            raise Fenced(f"partition {p} has another owner")
        return len(store.dirty)

    # ------------------------------------------------------------------ reading

    async def temperature_counts(self) -> dict[str, int]:
        """How many leads are at each temperature, over every partition."""
        totals: dict[str, int] = {}
        for p in range(self.keys.partitions):
            for k, v in (await self.redis.hgetall(self.keys.temperatures(p))).items():
                totals[k.decode()] = totals.get(k.decode(), 0) + int(v)
        return totals

    async def get(self, kind: str, key: str) -> Any:
        """One state, decoded, wherever it is placed (for lookups and tests)."""
        if kind == LEAD:
            placed = (await self.directory.leads([key])).get(key)
            if placed is None:
                return None
            p = placed[0]
        else:
            p = partition_of(key, self.keys.partitions)
        data = await self.redis.get(self.keys.state(p, kind, key))
        return None if data is None else DECODE[kind](data)

    async def states(self, p: int, names: Sequence[tuple[str, str]]) -> list[Any]:
        """States of `p`, decoded (None where absent)."""
        values = await mget(self.redis, [self.keys.state(p, kind, key) for kind, key in names])
        return [None if v is None else DECODE[kind](v)
                for (kind, _), v in zip(names, values, strict=True)]  # fmt: skip
