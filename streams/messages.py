"""A consumed message, or one item of a bundle, and where it came from; and the dead letter a
message becomes when it cannot be processed (both hops write them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scoring import Record, dead_letter, rfc3339_from_ms
from streams.bundles import EVENT
from streams.plumbing.clock import now_ms

# A dead-letter reason beyond the input contract's: the event was valid but processing it raised.
PROCESSING_ERROR = "processing_error"


@dataclass(frozen=True, slots=True)
class Incoming:
    value: bytes | None  # None: a message with a null value (a tombstone)
    key: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: float | None  # Kafka record timestamp, seconds
    # False for the items of a bundle but its last: a bundle's offset counts as applied with
    # its last item (so a batch split to isolate a failure never skips the rest).
    ends_message: bool = True
    kind: int = EVENT  # what the item asks (streams/bundles.py)
    attachment: dict[str, Any] | None = None


def dead_letter_of(msg: Incoming, reason: str, detail: str) -> Record:
    key = msg.key.decode(errors="replace") if msg.key is not None else None
    return dead_letter(
        reason, detail, msg.value or b"", rfc3339_from_ms(now_ms()),
        topic=msg.topic, partition=msg.partition, offset=msg.offset, key=key,
    )  # fmt: skip
