"""The directory: on which partition each lead is placed, and which lead each linked visitor
belongs to. The ingest hop reads it to route events; the owner of a partition writes it
for the leads and visitors it places.

It is a routing aid, never the truth about state: an event routed by a stale entry reaches
a partition that forwards it (streams/score.py), so entries may be written after the
transaction that placed a lead, and a lead's entry only ever moves to a newer placement
(its move count)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from redis.asyncio.cluster import RedisCluster

from scoring import LEAD, VISITOR
from streams.keys import Keys

# KEYS[1]: a lead's entry. ARGV: "<partition>|<moves>". Replaces an entry of fewer moves.
PLACE = """
local current = redis.call('GET', KEYS[1])
if current then
  local moves = tonumber(string.match(current, '|(%d+)$'))
  if moves and moves > tonumber(string.match(ARGV[1], '|(%d+)$')) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def placement(value: bytes | str | None) -> tuple[int, int] | None:
    """(partition, moves) of a lead's entry."""
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    partition, _, moves = text.partition("|")
    return int(partition), int(moves or 0)


async def mget(redis: Any, names: list[str]) -> list[Any]:
    """MGET of keys in any slots: one command on a single Redis; one per slot, together, on a
    cluster (which refuses a command across slots)."""
    if not names:
        return []
    if not isinstance(redis, RedisCluster):
        return list(await redis.mget(names))
    by_slot: dict[int, list[int]] = {}
    for i, name in enumerate(names):
        by_slot.setdefault(redis.keyslot(name), []).append(i)
    found: list[Any] = [None] * len(names)
    groups = list(by_slot.values())
    answers = await asyncio.gather(*(redis.mget([names[i] for i in g]) for g in groups))
    for g, values in zip(groups, answers, strict=True):
        for i, value in zip(g, values, strict=True):
            found[i] = value
    return found


class Directory:
    def __init__(self, redis: Any, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._place = redis.register_script(PLACE)

    async def leads(self, lead_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
        """(partition, moves) of each lead placed so far."""
        ids = list(dict.fromkeys(lead_ids))
        values = await mget(self.redis, [self.keys.directory(LEAD, i) for i in ids])
        return {i: p for i, v in zip(ids, values, strict=True) if (p := placement(v))}

    async def visitors(self, visitor_ids: Iterable[str]) -> dict[str, str]:
        """The lead each linked visitor belongs to."""
        ids = list(dict.fromkeys(visitor_ids))
        values = await mget(self.redis, [self.keys.directory(VISITOR, i) for i in ids])
        return {i: v.decode() for i, v in zip(ids, values, strict=True) if v is not None}

    async def claim_lead(self, lead_id: str, partition: int) -> tuple[int, int]:
        """Place a new lead on `partition` unless it is placed already; its placement."""
        name = self.keys.directory(LEAD, lead_id)
        if await self.redis.set(name, f"{partition}|0", nx=True):
            return partition, 0
        found = placement(await self.redis.get(name))
        return found if found is not None else (partition, 0)

    async def claim_leads(self, leads: dict[str, int]) -> dict[str, tuple[int, int]]:
        """`claim_lead` for each lead (-> its partition), together; their placements."""
        ids = list(leads)
        placed = await asyncio.gather(*(self.claim_lead(i, leads[i]) for i in ids))
        return dict(zip(ids, placed, strict=True))

    async def place_lead(self, lead_id: str, partition: int, moves: int) -> None:
        """The lead now lives on `partition` after `moves` moves (an older entry is replaced)."""
        await self._place(keys=[self.keys.directory(LEAD, lead_id)], args=[f"{partition}|{moves}"])

    async def link_visitor(self, visitor_id: str, lead_id: str) -> None:
        """The visitor belongs to `lead_id` (a visitor stays with the first lead to claim it)."""
        await self.redis.set(self.keys.directory(VISITOR, visitor_id), lead_id, nx=True)

    async def forget(self, lead_id: str | None = None, visitor_id: str | None = None) -> None:
        names = ([self.keys.directory(LEAD, lead_id)] if lead_id else []) + (
            [self.keys.directory(VISITOR, visitor_id)] if visitor_id else [])  # fmt: skip
        for name in names:
            await self.redis.delete(name)
