"""What one batch works on: the engine's StateStore over the states of a partition read for it
(remembering what changed), and the messages it publishes."""

from __future__ import annotations

import heapq
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scoring import ACCOUNT, LEAD, VISITOR, AccountState, LeadState, VisitorState

DECODE: dict[str, Callable[[bytes], Any]] = {
    LEAD: LeadState.from_bytes,
    ACCOUNT: AccountState.from_bytes,
    VISITOR: VisitorState.from_bytes,
}


def next_change_at(kind: str, state: LeadState | AccountState) -> int | None:
    """When the due index should next see a lead (its drop) or an account (its window end)."""
    return state.next_drop if kind == LEAD else state.next_check  # type: ignore[union-attr]


def due_member(kind: str, key: str) -> str:
    return f"{kind}\x1f{key}"


def parse_due_member(member: bytes | str) -> tuple[str, str]:
    text = member.decode() if isinstance(member, bytes) else member
    kind, _, key = text.partition("\x1f")
    return kind, key


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish: an output record or an item for another partition, its value
    serialized once (for the outbox and for the wire alike)."""

    topic: str  # the default name (unprefixed)
    key: bytes | None
    value: bytes
    partition: int | None = None

    _HEAD = struct.Struct(">HiiI")  # topic length, partition (-1: any), key length (-1: none)

    def to_bytes(self) -> bytes:
        topic = self.topic.encode()
        key = b"" if self.key is None else self.key
        head = self._HEAD.pack(len(topic), -1 if self.partition is None else self.partition,
                               -1 if self.key is None else len(key), len(self.value))  # fmt: skip
        return head + topic + key + self.value

    @classmethod
    def from_bytes(cls, data: bytes) -> Outgoing:
        n_topic, partition, n_key, n_value = cls._HEAD.unpack_from(data)
        pos = cls._HEAD.size
        topic = data[pos : pos + n_topic].decode()
        pos += n_topic
        key = None if n_key < 0 else data[pos : pos + n_key]
        pos += max(n_key, 0)
        return cls(topic, key, data[pos : pos + n_value], None if partition < 0 else partition)


@dataclass
class BatchStore:
    """The engine's StateStore over one partition's states read for a batch; remembers what
    changed. Visitors another partition owns appear as read-only views (what an item said
    of them): the engine may link one, but only its owner writes it."""

    raw: dict[tuple[str, str], bytes | None]
    watermark: int | None = None  # for the timer: schedules due by then are processed now
    due: list[tuple[int, str, str]] = field(default_factory=list)
    states: dict[tuple[str, str], Any] = field(default_factory=dict)
    dirty: set[tuple[str, str]] = field(default_factory=set)
    scheduled: dict[tuple[str, str], int | None] = field(default_factory=dict)
    missing: set[tuple[str, str]] = field(default_factory=set)
    remote_visitors: dict[str, VisitorState] = field(default_factory=dict)
    released: dict[str, str] = field(default_factory=dict)  # lead -> where it went "p|moves"
    arrived: set[str] = field(default_factory=set)  # leads installed from another partition
    unpointed: set[str] = field(default_factory=set)  # leads whose pointer here is removed
    counts: dict[str, int] = field(default_factory=dict)  # temperature -> change (moves)

    def _get(self, kind: str, key: str) -> Any:
        k = (kind, key)
        if k in self.states:
            return self.states[k]
        if k not in self.raw:
            # Carry on as if it were absent, to learn every key the batch needs in one pass;
            # the caller fetches them and computes again (restarting at the first missing
            # key instead would cost a whole recomputation per account discovered).
            self.missing.add(k)
            self.states[k] = None
            return None
        data = self.raw[k]
        state = None if data is None else DECODE[kind](data)
        self.states[k] = state
        return state

    def _put(self, kind: str, key: str, state: Any) -> None:
        self.states[(kind, key)] = state
        self.dirty.add((kind, key))

    def lead(self, lead_id: str) -> LeadState | None:
        return self._get(LEAD, lead_id)  # type: ignore[no-any-return]

    def put_lead(self, lead_id: str, state: LeadState) -> None:
        self._put(LEAD, lead_id, state)

    def account(self, account_id: str) -> AccountState | None:
        return self._get(ACCOUNT, account_id)  # type: ignore[no-any-return]

    def put_account(self, account_id: str, state: AccountState) -> None:
        self._put(ACCOUNT, account_id, state)

    def visitor(self, visitor_id: str) -> VisitorState | None:
        if visitor_id in self.remote_visitors:
            return self.remote_visitors[visitor_id]
        return self._get(VISITOR, visitor_id)  # type: ignore[no-any-return]

    def put_visitor(self, visitor_id: str, state: VisitorState) -> None:
        if visitor_id in self.remote_visitors:
            self.remote_visitors[visitor_id] = state  # its owner wrote it already
        else:
            self._put(VISITOR, visitor_id, state)

    def schedule(self, kind: str, key: str, at: int | None) -> None:
        self.scheduled[(kind, key)] = at
        if at is not None and self.watermark is not None and at <= self.watermark:
            heapq.heappush(self.due, (at, kind, key))

    def pop_due(self, until: int) -> tuple[int, str, str] | None:
        while self.due and self.due[0][0] <= until:
            at, kind, key = heapq.heappop(self.due)
            current = self.scheduled.get((kind, key), at)
            if current == at:
                self.scheduled.pop((kind, key), None)
                return at, kind, key
        return None

    def delete_lead(self, lead_id: str) -> None:
        state = self.lead(lead_id)
        if state is not None and state.temp is not None:
            self.counts[state.temp] = self.counts.get(state.temp, 0) - 1
        self.states[(LEAD, lead_id)] = None
        self.dirty.add((LEAD, lead_id))
        self.scheduled[(LEAD, lead_id)] = None

    def delete(self, kind: str, key: str) -> None:
        """Remove an account's or a visitor's state (a lead's: `delete_lead`)."""
        self.states[(kind, key)] = None
        self.dirty.add((kind, key))
        self.scheduled[(kind, key)] = None

    def drop_pointer(self, lead_id: str) -> None:
        """Forget where a lead that lived here went (it is forgotten)."""
        self.unpointed.add(lead_id)

    def release_lead(self, lead_id: str, to: str) -> None:
        """The lead leaves this partition (for `to`, "partition|moves")."""
        self.delete_lead(lead_id)
        self.released[lead_id] = to
        self.arrived.discard(lead_id)

    def install_lead(self, lead_id: str, state: LeadState) -> None:
        """A lead arrives from another partition."""
        if state.temp is not None:
            self.counts[state.temp] = self.counts.get(state.temp, 0) + 1
        self.put_lead(lead_id, state)
        self.arrived.add(lead_id)
        self.released.pop(lead_id, None)
