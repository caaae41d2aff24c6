"""The directory: on which partition each lead is placed, and which lead each linked visitor
belongs to. The ingest hop reads it to route events; the owner of a partition writes it
for the leads and visitors it places.

It is a routing aid, never the truth about state: an event routed by a stale entry reaches
a partition that forwards it (streams/score.py), so entries may be written after the
transaction that placed a lead, and a lead's entry only ever moves to a newer placement
(its move count)."""

from __future__ import annotations

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
    """MGET of keys in any slots: one command on a single Redis; on a cluster (which refuses a
    command across slots) one per slot, pipelined by node."""
    if not names:
        return []
    if isinstance(redis, RedisCluster):
        return list(await redis.mget_nonatomic(names))
    return list(await redis.mget(names))


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

    async def claim_leads(self, leads: dict[str, int]) -> dict[str, tuple[int, int]]:
        """Place each new lead on its partition (lead -> partition) unless it is placed
        already; their placements. One round trip: SET NX GET answers the entry it found."""
        ids = list(leads)
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.set(self.keys.directory(LEAD, i), f"{leads[i]}|0", nx=True, get=True)
        found = await pipe.execute()
        return {i: placement(old) or (leads[i], 0) for i, old in zip(ids, found, strict=True)}

    async def place_lead(self, lead_id: str, partition: int, moves: int) -> None:
        """The lead now lives on `partition` after `moves` moves (an older entry is replaced)."""
        await self._place(keys=[self.keys.directory(LEAD, lead_id)], args=[f"{partition}|{moves}"])

    async def link_visitor(self, visitor_id: str, lead_id: str) -> None:
        """The visitor belongs to `lead_id` (a visitor stays with the first lead to claim it)."""
        await self.redis.set(self.keys.directory(VISITOR, visitor_id), lead_id, nx=True)

    async def forget(self, lead_id: str | None = None, visitor_id: str | None = None) -> None:
        await self.forget_all([lead_id] if lead_id else [], [visitor_id] if visitor_id else [])

    async def forget_all(self, lead_ids: Iterable[str], visitor_ids: Iterable[str]) -> None:
        """The entries of these leads and visitors, removed (pipelined: any slots)."""
        names = [self.keys.directory(LEAD, i) for i in lead_ids]
        names += [self.keys.directory(VISITOR, i) for i in visitor_ids]
        if names:
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.delete(name)
            await pipe.execute()
