"""Engagement: the spec's point table, decay with a 30-day half-life, caps, negatives."""

from __future__ import annotations

import pytest

from tests.scoring.helpers import at, ev, form, page, rules, scores


@pytest.mark.parametrize(
    ("event", "points"),
    [
        (ev("email.opened"), 1),
        (ev("email.clicked"), 3),
        (page("product", seconds=120), 2),
        (page("pricing", seconds=1), 5),
        (page("pricing", seconds=600), 5),
        (form("content_download"), 5),
        (form("case_study_download"), 6),
        (ev("webinar.attended", minutes_attended=40), 8),
        (form("demo_request"), 15),
        (form("trial_request"), 15),
        (form("contact_sales"), 15),
        (ev("email.replied", body="Thanks"), 5),
    ],
    ids=lambda v: (
        v["type"] + ":" + str(v.get("form_kind") or v.get("page_category") or "")
        if isinstance(v, dict)
        else str(v)
    ),
)
def test_each_engagement_row_is_worth_its_points(event: dict, points: float) -> None:
    assert scores([event]).engagement == points


@pytest.mark.parametrize(
    "event",
    [
        ev("email.sent"),
        ev("webinar.registered"),
        ev("webinar.no_show"),
        page("blog", seconds=119),
        form("newsletter_signup"),
        form("webinar_registration"),
        ev("email.bounced", bounce="soft"),
    ],
    ids=lambda v: v["type"],
)
def test_other_events_are_worth_no_engagement(event: dict) -> None:
    assert scores([event]).engagement == 0


def test_pricing_page_view_is_worth_5_in_place_of_2_not_on_top() -> None:
    assert scores([page("pricing", seconds=300)]).engagement == 5


def test_engagement_halves_every_30_days() -> None:
    assert scores([form("demo_request")], when=at(days=30)).engagement == pytest.approx(7.5)


def test_unsubscribe_takes_10_points_that_do_not_decay() -> None:
    events = [form("demo_request"), form("trial_request", at(minutes=1)),
              ev("email.unsubscribed", at(minutes=2))]  # fmt: skip
    s = scores(events, when=at(days=30, minutes=2))
    assert s.engagement == pytest.approx(30 * 2 ** (-(30 * 1440) / (30 * 1440)) - 10, abs=0.01)


def test_engagement_never_goes_below_zero() -> None:
    assert scores([ev("email.opened"), ev("email.unsubscribed", at(minutes=1))]).engagement == 0


def test_opens_are_capped_at_10() -> None:
    opens = [ev("email.opened", at(minutes=i)) for i in range(25)]
    assert scores(opens).engagement == 10


def test_clicks_are_capped_at_15() -> None:
    clicks = [ev("email.clicked", at(minutes=i)) for i in range(10)]
    assert scores(clicks).engagement == 15


def test_page_views_are_capped_at_20_pricing_included() -> None:
    views = [page("pricing", at(minutes=i)) for i in range(6)] + [
        page("docs", at(minutes=10 + i), seconds=200) for i in range(6)
    ]
    assert scores(views).engagement == 20


def test_cap_applies_to_the_decayed_sum_when_evaluated() -> None:
    opens = [ev("email.opened", at(minutes=i)) for i in range(40)]  # 40 points, capped at 10
    # 60 days later 40 decays to ~10: the cap no longer binds much, and never more than 10.
    later = scores(opens, when=at(days=60))
    assert later.engagement == pytest.approx(min(10, 40 * 0.25), abs=0.01)


def test_uncapped_signals_are_not_limited() -> None:
    demos = [form("demo_request", at(minutes=i)) for i in range(4)]
    assert scores(demos).engagement == pytest.approx(60, abs=0.01)


def test_caps_and_points_come_from_the_rules() -> None:
    r = rules(engagement={"points": {"email.opened": 2}, "caps": {"email.opened": 3}})
    opens = [ev("email.opened", at(minutes=i)) for i in range(5)]
    assert scores(opens, rules=r).engagement == 3
