"""State: compact serialization that round-trips exactly."""

from __future__ import annotations

from scoring.state import AccountState, LeadState, Member, RecentIds, VisitorState
from tests.scoring.helpers import at, ev, form, page, run_of


def test_lead_state_round_trips_through_bytes() -> None:
    events = [form("demo_request", message="Budget approved, we need it by Q2",
                   fields={"uses_integrations": "zoom"}),
              ev("email.opened", at(days=1), profile={"email": "pat@acme.com", "job_title": "VP"}),
              ev("email.spam_reported", at(days=2))]  # fmt: skip
    state = run_of(events).store.leads["lead-1"]
    assert LeadState.from_bytes(state.to_bytes()) == state


def test_account_and_visitor_state_round_trip_through_bytes() -> None:
    account = AccountState(5, "warm", {"a": Member(3, False, "warm", True), "b": Member()}, None, 9)
    assert AccountState.from_bytes(account.to_bytes()) == account
    run = run_of([page("pricing", lead=None, visitor_id="v-1")])
    visitor = run.store.visitors["v-1"]
    assert VisitorState.from_bytes(visitor.to_bytes()) == visitor


def test_state_does_not_grow_with_history() -> None:
    few = run_of([ev("email.opened", at(minutes=i)) for i in range(10)]).store.leads["lead-1"]
    many = run_of([ev("email.opened", at(minutes=i)) for i in range(1000)]).store.leads["lead-1"]
    assert len(many.to_bytes()) < len(few.to_bytes()) + 1600  # bounded id list, nothing else grows
    assert len(many.seen) == 128


def test_recent_ids_match_whole_entries_only() -> None:
    ids = RecentIds(4, "AAAABBBBCCCCDDDD")  # two 8-character entries
    assert "AAAABBBB" in ids and "CCCCDDDD" in ids
    assert "BBBBCCCC" not in ids  # the end of one entry and the start of the next


def test_recent_ids_forget_the_oldest_past_their_limit() -> None:
    ids = RecentIds(2)
    for fingerprint in ("11111111", "22222222", "33333333"):
        ids.append(fingerprint)
    assert list(ids) == ["22222222", "33333333"] and "11111111" not in ids
