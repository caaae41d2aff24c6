"""Where the engine keeps state: the port it reads and writes through (StateStore), and the
in-memory adapter `leadtemp replay` uses. The live worker's adapter keeps it in Redis
(streams/store.py: BatchStore over RedisState)."""

from __future__ import annotations

import heapq
from typing import Protocol

from scoring.state import AccountState, LeadState, VisitorState


class StateStore(Protocol):
    """Where the engine reads and writes state, and keeps the index of due crossings."""

    def lead(self, lead_id: str) -> LeadState | None: ...
    def put_lead(self, lead_id: str, state: LeadState) -> None: ...
    def account(self, account_id: str) -> AccountState | None: ...
    def put_account(self, account_id: str, state: AccountState) -> None: ...
    def visitor(self, visitor_id: str) -> VisitorState | None: ...
    def put_visitor(self, visitor_id: str, state: VisitorState) -> None: ...
    def delete_lead(self, lead_id: str) -> None: ...
    def schedule(self, kind: str, key: str, at: int | None) -> None:
        """Index (or un-index, for None) when `kind`/`key` must be looked at again."""

    def pop_due(self, until: int) -> tuple[int, str, str] | None:
        """The earliest (at, kind, key) with at ≤ until, removed from the index; None if none."""


class MemoryStore:
    """A StateStore in dictionaries, with a heap as the index of due crossings."""

    def __init__(self) -> None:
        self.leads: dict[str, LeadState] = {}
        self.accounts: dict[str, AccountState] = {}
        self.visitors: dict[str, VisitorState] = {}
        self._heap: list[tuple[int, str, str]] = []
        self._scheduled: dict[tuple[str, str], int] = {}

    def lead(self, lead_id: str) -> LeadState | None:
        return self.leads.get(lead_id)

    def put_lead(self, lead_id: str, state: LeadState) -> None:
        self.leads[lead_id] = state

    def account(self, account_id: str) -> AccountState | None:
        return self.accounts.get(account_id)

    def put_account(self, account_id: str, state: AccountState) -> None:
        self.accounts[account_id] = state

    def visitor(self, visitor_id: str) -> VisitorState | None:
        return self.visitors.get(visitor_id)

    def put_visitor(self, visitor_id: str, state: VisitorState) -> None:
        self.visitors[visitor_id] = state

    def delete_lead(self, lead_id: str) -> None:
        self.leads.pop(lead_id, None)

    def schedule(self, kind: str, key: str, at: int | None) -> None:
        if at is None:
            self._scheduled.pop((kind, key), None)
        elif self._scheduled.get((kind, key)) != at:
            self._scheduled[(kind, key)] = at
            heapq.heappush(self._heap, (at, kind, key))

    def pop_due(self, until: int) -> tuple[int, str, str] | None:
        heap = self._heap
        while heap and heap[0][0] <= until:
            at, kind, key = heapq.heappop(heap)
            if self._scheduled.get((kind, key)) == at:  # else superseded by a later schedule
                del self._scheduled[(kind, key)]
                return at, kind, key
        return None
