"""Identity stitching: anonymous web activity is held per visitor and credited once linked."""

from __future__ import annotations

import pytest

from tests.scoring.helpers import at, ev, page, replay, run_of, scores, temps


def anonymous(when: str, category: str = "pricing", visitor: str = "v-1") -> dict:
    return page(category, when, lead=None, visitor_id=visitor)


def test_anonymous_activity_is_held_and_produces_no_record() -> None:
    run = run_of([anonymous(at())])
    assert run.summary.held == 1
    assert run.store.leads == {}


def test_a_linking_event_credits_held_views_with_their_original_time() -> None:
    link = ev("email.opened", at(days=29), visitor_id="v-1")
    s = scores([anonymous(at()), anonymous(at(days=1)), link])
    assert s.engagement == pytest.approx(5 * 2 ** (-29 / 30) + 5 * 2 ** (-28 / 30) + 1, abs=0.01)


def test_later_anonymous_events_of_a_linked_visitor_go_straight_to_the_lead() -> None:
    events = [ev("email.opened", visitor_id="v-1"), anonymous(at(minutes=1))]
    assert scores(events).engagement == pytest.approx(6, abs=0.01)


def test_held_views_older_than_30_days_expire() -> None:
    events = [anonymous(at()), ev("email.opened", at(days=30), visitor_id="v-1")]
    assert scores(events).engagement == pytest.approx(1)


def test_held_views_can_make_the_linked_lead_warm() -> None:
    events = [
        page("docs", at(minutes=i), lead=None, visitor_id="v-1", seconds=300) for i in range(4)
    ]
    events += [ev("webinar.attended", at(minutes=10), visitor_id="v-1", profile={"industry": "software"}),
               ev("webinar.attended", at(minutes=11))]  # fmt: skip
    assert temps(replay(events)) == ["cold", "warm"]


def test_a_duplicate_anonymous_event_is_held_once() -> None:
    view = anonymous(at())
    events = [view, view, ev("email.opened", at(minutes=1), visitor_id="v-1")]
    assert scores(events).engagement == pytest.approx(6, abs=0.01)
    assert run_of(events).summary.duplicates == 1


def test_a_held_view_redelivered_after_linking_is_not_counted_twice() -> None:
    view = anonymous(at())
    events = [view, ev("email.opened", at(minutes=1), visitor_id="v-1"), view]
    assert scores(events).engagement == pytest.approx(6, abs=0.01)


def test_an_identified_event_links_the_visitor_and_is_worth_nothing_itself() -> None:
    identified = ev("web.identified", at(days=1), visitor_id="v-1")
    s = scores([anonymous(at()), identified])
    assert s.engagement == pytest.approx(5 * 2 ** (-1 / 30), abs=0.01)  # the held view only


def test_an_identified_event_merges_the_profile_latest_wins() -> None:
    run = run_of([ev("web.identified", at(), profile={"job_title": "VP Operations"}),
                  ev("web.identified", at(minutes=1), profile={"job_title": "CTO"})])  # fmt: skip
    [state] = run.store.leads.values()
    assert state.profile["job_title"][0] == "CTO"
