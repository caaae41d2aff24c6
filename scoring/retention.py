"""State retention: when the state of a lead, account or visitor may be removed so that Redis
does not grow forever. A state goes once it has had no event for longer than the retention
and nothing of it can change by time any more (no drop, no window end pending): removing it
changes no temperature. A lead that comes back after that starts over, profile included."""

from __future__ import annotations

from scoring.rules import Rules, longest_window_days
from scoring.state import ACCOUNT, LEAD, AccountState, LeadState, VisitorState

# Beyond the rules' longest window: what history must cover, in days (input topics kept for
# replays, states kept in Redis).
RETENTION_MARGIN_DAYS = 30


def shortest_retention_days(rules: Rules) -> float:
    """The shortest retention that loses nothing the rules' windows still count."""
    return longest_window_days(rules) + RETENTION_MARGIN_DAYS


def expired(kind: str, state: LeadState | AccountState | VisitorState, now: int,
            retention_ms: int) -> bool:  # fmt: skip
    """Whether `state` (of `kind`) may be removed at `now`."""
    if state.clock + retention_ms > now:
        return False
    if kind == LEAD:
        assert isinstance(state, LeadState)
        return state.next_drop is None
    if kind == ACCOUNT:
        assert isinstance(state, AccountState)
        return state.next_check is None
    assert isinstance(state, VisitorState)
    return state.lead is None  # a link stays while its lead may come back through it
