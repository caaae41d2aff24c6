"""Redis key names of a deployment.

A partition of the re-keyed topic owns the state of the accounts, leads and visitors placed
on it (streams/placement.py). Its keys share one hash tag, `{<prefix>p<N>}`, so every
transaction of a batch stays in one slot of a Redis Cluster while different partitions
spread over its masters. The directory (where each lead and visitor is placed) is spread
over tags of its own; the few deployment-wide keys need no tag.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

DIRECTORY_SHARDS = 64


def glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


@dataclass(frozen=True)
class Keys:
    """Key names; everything of one deployment shares `prefix` (which holds no braces: the
    keys carry their own hash tags)."""

    prefix: str

    # ---------------------------------------------------------------- one partition's

    def tag(self, p: int) -> str:
        return f"{{{self.prefix}p{p}}}"

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
        return f"{{{self.prefix}d{shard}}}:{kind}:{key}"

    # ---------------------------------------------------------------- the deployment's

    @property
    def layout(self) -> str:
        """How state is placed: the layout's version and the partition count."""
        return f"{self.prefix}layout"

    @property
    def legacy_rules(self) -> str:
        """A key every deployment of the layout before partitions had (see streams/layout.py)."""
        return f"{self.prefix}rules"
