"""Retention: which idle states may be removed."""

from __future__ import annotations

from scoring.retention import expired, shortest_retention_days
from scoring.rules import Rules, longest_window_days
from scoring.state import ACCOUNT, LEAD, VISITOR, AccountState, LeadState, VisitorState

DAY = 86_400_000
KEEP = 60 * DAY


def test_a_lead_idle_past_the_retention_with_nothing_due_may_go() -> None:
    assert expired(LEAD, LeadState(clock=0, temp="cold"), KEEP, KEEP)


def test_a_lead_with_an_event_within_the_retention_stays() -> None:
    assert not expired(LEAD, LeadState(clock=1, temp="cold"), KEEP, KEEP)


def test_a_lead_whose_temperature_will_still_drop_stays_however_idle() -> None:
    assert not expired(LEAD, LeadState(clock=0, temp="warm", next_drop=KEEP + DAY), 9 * KEEP, KEEP)


def test_an_account_with_a_stakeholder_window_still_open_stays() -> None:
    assert expired(ACCOUNT, AccountState(clock=0), KEEP, KEEP)
    assert not expired(ACCOUNT, AccountState(clock=0, next_check=KEEP + DAY), KEEP, KEEP)


def test_an_anonymous_visitor_goes_but_a_link_to_a_lead_stays() -> None:
    assert expired(VISITOR, VisitorState(clock=0), KEEP, KEEP)
    assert not expired(VISITOR, VisitorState(lead="pat", clock=0), KEEP, KEEP)


def test_the_shortest_retention_is_the_longest_window_plus_a_margin() -> None:
    assert shortest_retention_days(Rules()) == longest_window_days(Rules()) + 30
