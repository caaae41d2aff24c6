"""Bundles: many items in one message of the re-keyed topic.

The ingest hop sends, per batch, one message per target partition holding every event bound
for it, in order; the partition is the one that owns the state the event's scoring touches
(streams/placement.py), so an account's events share one partition and keep their order. One
Kafka message per bundle instead of per event takes most of Faust's per-message cost out of
this hop. A bundle is the unit of the applied-offset fence: its offset counts as applied
with its last item.

Besides events, the score hop sends items to another partition when state changes owner: a
lead whose account moved (ARRIVE: its state travels with the event that moved it), a visitor
linked by a lead that lives elsewhere (LINK to the visitor's owner, then STITCH with its held
page views to the lead's). A lead forgotten on request reaches its owner the same way (FORGET).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import orjson

MAGIC = b"LTB2"
OLD_MAGIC = b"LTB1"  # bundles of events only, written before items had kinds
# Kafka timestamp of the original message (s; NaN: none), kind, length of the event, of the
# attachment.
_ITEM = struct.Struct(">dBII")
_OLD_ITEM = struct.Struct(">dI")

EVENT = 0  # an event for the state this partition owns; attachment: {"v": lead} when its
#            visitor is known to be linked to that lead
LINK = 1  # a lead's event naming an unlinked visitor, at the visitor's owner: claim it
STITCH = 2  # that event at the lead's owner, with the visitor's held page views: {"held": [...]}
ARRIVE = 3  # a lead's event at its new owner, with the lead's state: {"lead", "gen", "state"}
FORGET = 4  # a lead to forget (`leadtemp forget`; the value: its id), at its owner: {"request",
#             "at", "visitors", "pointers"}; sent on with "rest": true to each partition that
#             holds one of its visitors or a pointer it left


@dataclass(frozen=True, slots=True)
class Item:
    timestamp: float | None
    kind: int
    value: bytes
    attachment: dict[str, Any] | None = None


def bundle(items: list[Item]) -> bytes:
    """One message holding the items, in order."""
    parts = [MAGIC]
    for item in items:
        extra = orjson.dumps(item.attachment) if item.attachment else b""
        ts = math.nan if item.timestamp is None else item.timestamp
        parts.append(_ITEM.pack(ts, item.kind, len(item.value), len(extra)))
        parts.append(item.value)
        parts.append(extra)
    return b"".join(parts)


def unbundle(message: bytes) -> list[Item] | None:
    """The items of a bundle, or None when the message is a single event (not a bundle)."""
    if message.startswith(MAGIC):
        return _items(message)
    if message.startswith(OLD_MAGIC):
        return _old_items(message)
    return None


def _items(message: bytes) -> list[Item]:
    items: list[Item] = []
    pos, end = len(MAGIC), len(message)
    while pos < end:
        ts, kind, size, extra_size = _ITEM.unpack_from(message, pos)
        pos += _ITEM.size
        value = message[pos : pos + size]
        pos += size
        extra = orjson.loads(message[pos : pos + extra_size]) if extra_size else None
        pos += extra_size
        items.append(Item(None if math.isnan(ts) else ts, kind, value, extra))
    return items


def _old_items(message: bytes) -> list[Item]:
    items: list[Item] = []
    pos, end = len(OLD_MAGIC), len(message)
    while pos < end:
        ts, size = _OLD_ITEM.unpack_from(message, pos)
        pos += _OLD_ITEM.size
        items.append(Item(None if math.isnan(ts) else ts, EVENT, message[pos : pos + size]))
        pos += size
    return items
