"""What a partition's batch of the score hop learns before computing (streams/score.py), and
what it leaves for after its commit: where leads not on the partition are, the items it sends
on to other partitions, what the directory must learn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.bundles import Item
from streams.messages import Incoming


@dataclass
class Plan:
    """What a partition's batch learned before computing: about leads not on it."""

    raw: dict[tuple[str, str], bytes | None] = field(default_factory=dict)  # states read
    pointers: dict[str, tuple[int, int]] = field(default_factory=dict)  # lead -> where it went
    placed: dict[str, tuple[int, int]] = field(default_factory=dict)  # the directory's word
    applied: int = -1  # the partition's applied offset, read with the states
    # After the commit: the directory learns of the leads that arrived (or were created
    # without its word) and of the visitors linked.
    arrived: dict[str, int] = field(default_factory=dict)  # lead -> its moves
    links: dict[str, str] = field(default_factory=dict)  # visitor -> lead
    forgotten: list[str] = field(default_factory=list)  # leads forgotten on request
    unlinked: list[str] = field(default_factory=list)  # visitors forgotten with their lead
    forwards: dict[int, list[Item]] = field(default_factory=dict)
    moves: int = 0
    duplicates: int = 0
    suppressed: list[tuple[str, str]] = field(default_factory=list)

    def forward(self, p: int, msg: Incoming, kind: int | None = None,
                attachment: dict[str, Any] | None = None) -> None:  # fmt: skip
        assert msg.value is not None
        self.forwards.setdefault(p, []).append(Item(
            msg.timestamp, msg.kind if kind is None else kind, msg.value,
            msg.attachment if attachment is None else attachment))  # fmt: skip
