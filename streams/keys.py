"""Redis key names of a deployment.

A partition of the re-keyed topic owns the state of the accounts, leads and visitors placed
on it (streams/placement.py). Its keys share one hash tag, so every transaction of a batch
stays in one slot of a Redis Cluster, and different partitions have different tags, so they
spread over its masters. The directory (where each lead and visitor is placed) is spread over
tags of its own; the few deployment-wide keys need no tag.

Tags are not left to chance: with 8 partitions on 3 masters, plain tags (`{lt:p0}`…) put as
few as 1 partition (12%) on a master for some prefixes. Tag i of n is `<base><i>` plus the
first suffix that hashes it into the i-th n-th of the 16,384 slots, so the partitions spread
over any cluster whose masters hold equal ranges of slots (what `redis-cli --cluster create`
and managed services make) evenly: within one partition, or two where a partition's share
of slots straddles the boundary between two masters. Tags therefore depend on the
partition count, which a deployment cannot change under existing state anyway
(streams/layout.py).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS as SLOTS
from redis.crc import key_slot

DIRECTORY_SHARDS = 64


@cache
def spread_tag(base: str, i: int, n: int) -> str:
    """The hash tag (braces included) of the i-th of n partitions or shards of `base`."""
    low, high = i * SLOTS // n, (i + 1) * SLOTS // n
    suffix = 0
    while True:  # about n hashes tried, once a process
        tag = f"{base}{i}" + (f".{suffix}" if suffix else "")
        if low <= key_slot(tag.encode()) < high:
            return f"{{{tag}}}"
        suffix += 1


def glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def layout_key(prefix: str) -> str:
    """How state is placed: the layout's version and the partition count."""
    return f"{prefix}layout"


@dataclass(frozen=True)
class Keys:
    """Key names; everything of one deployment shares `prefix` (which holds no braces: the
    keys carry their own hash tags), and a partition's keys its tag among `partitions`."""

    prefix: str
    partitions: int

    # ---------------------------------------------------------------- one partition's

    def tag(self, p: int) -> str:
        return spread_tag(f"{self.prefix}p", p, self.partitions)

    def state(self, p: int, kind: str, key: str) -> str:
        return f"{self.tag(p)}:{kind}:{key}"

    def all_states(self, p: int, kind: str) -> str:
        """A SCAN pattern matching every state of one kind on partition `p`."""
        return f"{glob_escape(self.tag(p))}:{kind}:*"

    def moved(self, p: int, lead_id: str) -> str:
        """Where a lead that lived on `p` went (its partition and move count)."""
        return f"{self.tag(p)}:moved:{lead_id}"

    def due(self, p: int) -> str:
        """When each lead's next drop and account's next window end come (a sorted set)."""
        return f"{self.tag(p)}:due"

    def applied(self, p: int) -> str:
        """The last offset of the partition's messages applied to its state."""
        return f"{self.tag(p)}:applied"

    def epoch(self, p: int) -> str:
        """Raised by every worker assigned `p`: a commit of an earlier owner is refused."""
        return f"{self.tag(p)}:epoch"

    def outboxes(self, p: int) -> str:
        return f"{self.tag(p)}:outboxes"

    def outbox(self, p: int, batch_id: str) -> str:
        return f"{self.tag(p)}:outbox:{batch_id}"

    def temperatures(self, p: int) -> str:
        """How many of its leads are at each temperature (kept with the state, so exact)."""
        return f"{self.tag(p)}:temperatures"

    def rules(self, p: int) -> str:
        """The fingerprint of the rules the partition's due times were set under."""
        return f"{self.tag(p)}:rules"

    # ---------------------------------------------------------------- the directory

    def directory(self, kind: str, key: str) -> str:
        """Where a lead is placed ("<partition>|<moves>"), or which lead a visitor is linked
        to."""
        shard = zlib.crc32(key.encode()) % DIRECTORY_SHARDS
        return f"{spread_tag(f'{self.prefix}d', shard, DIRECTORY_SHARDS)}:{kind}:{key}"

    # ---------------------------------------------------------------- the deployment's

    @property
    def layout(self) -> str:
        return layout_key(self.prefix)
