"""Whether each partition a worker holds makes progress: its lag, and how long it has held
messages without moving on (then it is *stuck*, and the worker says so: /readyz, /livez, a
gauge per partition, an alert).

A partition's lag is what has been written to it and not yet processed: fetched messages
count until they are forwarded (input topics) or applied (the re-keyed topic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Partition = tuple[str, int]  # (topic, partition)


@dataclass
class _Partition:
    done: int | None = None  # the next offset to process: everything before it is processed
    end: int | None = None  # the next offset to be written (the high-water mark)
    since: float = 0.0  # when it last moved on, or began to hold messages


class Progress:
    """Per partition: how far processing got, how far the log is, since when it is stalled."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._parts: dict[Partition, _Partition] = {}

    def _get(self, tp: Partition) -> _Partition:
        part = self._parts.get(tp)
        if part is None:
            part = self._parts[tp] = _Partition(since=self.clock())
        return part

    def processed(self, tp: Partition, next_offset: int) -> None:
        """Everything before `next_offset` is processed."""
        part = self._get(tp)
        if part.done is None or next_offset > part.done:
            part.done = next_offset
            part.since = self.clock()

    def written(self, tp: Partition, end: int) -> None:
        """The log of `tp` ends at `end` (its high-water mark)."""
        part = self._get(tp)
        if not self._holding(part):
            part.since = self.clock()  # it was caught up until now
        part.end = end

    def forget(self, tps: Iterable[Partition]) -> None:
        """Partitions no longer held (a rebalance moved them)."""
        for tp in tps:
            self._parts.pop(tp, None)

    def held(self) -> list[Partition]:
        return sorted(self._parts)

    def lag(self, tp: Partition) -> int | None:
        """Messages written and not processed; None before both ends are known."""
        part = self._parts.get(tp)
        if part is None or part.end is None or part.done is None:
            return None
        return max(0, part.end - part.done)

    def stalled_seconds(self, tp: Partition) -> float:
        """How long `tp` has held messages without moving on (0 while it is caught up)."""
        part = self._parts.get(tp)
        if part is None or not self._holding(part):
            return 0.0
        return max(0.0, self.clock() - part.since)

    def stuck(self, after_s: float) -> list[Partition]:
        """The partitions stalled for longer than `after_s` seconds."""
        return [tp for tp in self.held() if self.stalled_seconds(tp) > after_s]

    @staticmethod
    def _holding(part: _Partition) -> bool:
        return part.end is not None and part.done is not None and part.end > part.done
