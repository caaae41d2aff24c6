"""Bundles: many re-keyed events in one message of the repartition topic.

The ingest agent sends, per batch, one message per target partition holding every event bound
for it, in order; the partition is chosen from the lead (or visitor) id, so a lead's events
still share one partition and keep their order. One Kafka message per bundle instead of per
event takes most of Faust's per-message cost out of the second hop. The bundle is applied
atomically (its offset is the unit of the applied-offset fence)."""

from __future__ import annotations

import math
import struct
import zlib

MAGIC = b"LTB1"
_ITEM = struct.Struct(">dI")  # Kafka timestamp of the original message (s; NaN: none), length


def partition_of(routing_key: bytes, partitions: int) -> int:
    """The repartition topic's partition of a lead or visitor id (stable across processes)."""
    return zlib.crc32(routing_key) % partitions


def bundle(items: list[tuple[float | None, bytes]]) -> bytes:
    """One message holding (original timestamp, event bytes) pairs, in order."""
    parts = [MAGIC]
    for ts, value in items:
        parts.append(_ITEM.pack(math.nan if ts is None else ts, len(value)))
        parts.append(value)
    return b"".join(parts)


def unbundle(message: bytes) -> list[tuple[float | None, bytes]] | None:
    """The items of a bundle, or None when the message is a single event (not a bundle)."""
    if not message.startswith(MAGIC):
        return None
    items: list[tuple[float | None, bytes]] = []
    pos, end = len(MAGIC), len(message)
    while pos < end:
        ts, size = _ITEM.unpack_from(message, pos)
        pos += _ITEM.size
        items.append((None if math.isnan(ts) else ts, message[pos : pos + size]))
        pos += size
    return items
