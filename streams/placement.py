"""Which partition of the re-keyed topic owns which state: the one of the lead's *account*, so
that every state the scoring of an event touches (the lead, its account, the account's other
leads) has one owner and one writer. A lead without an account is placed by its own id, an
anonymous visitor by its id until a lead claims it.

A lead whose account changes moves to the new account's partition (its state travels with
the event that moved it); a visitor never moves, and events of a linked visitor go to its
lead. The partition count is part of the placement: it cannot change under existing state
(streams/layout.py)."""

from __future__ import annotations

import zlib

from scoring import Engine, Event, LeadState


def partition_of(owner: str, partitions: int) -> int:
    """The partition of an owner (an account, lead or visitor id), stable across processes."""
    return zlib.crc32(owner.encode()) % partitions


def lead_partition(
    engine: Engine, event: Event, state: LeadState | None, lead_id: str, partitions: int
) -> int:
    """Where the lead of `event` lives once the event is applied."""
    return partition_of(engine.account_after(event, state) or lead_id, partitions)
