"""Disqualifiers: profile-based ones follow the latest profile, event-based ones stay."""

from __future__ import annotations

import pytest

from scoring.model import Model
from scoring.profile import disqualifiers
from tests.scoring.helpers import (
    at,
    ev,
    form,
    last,
    of_topic,
    replay,
    rules,
    scores,
    state_of,
    temps,
)  # fmt: skip


def opened(when: str = "2026-10-05T09:00:00Z", **profile: object) -> dict:
    return ev("email.opened", when, profile=profile)


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        ({"email": "pat@student.mit.edu"}, "disqualified:student"),
        ({"email": "pat@ox.ac.uk"}, "disqualified:student"),
        ({"job_title": "PhD Student"}, "disqualified:student"),
        ({"email": "pat@mailinator.com"}, "disqualified:disposable_domain"),
        ({"email": "pat@yopmail.com"}, "disqualified:disposable_domain"),
    ],
)
def test_profile_disqualifiers(profile: dict, reason: str) -> None:
    change = last(replay([opened(**profile)]))
    assert (change["to"], change["reasons"], change["sales_action"]) == (
        "disqualified", [reason], "none",
    )  # fmt: skip


def test_competitor_domain_disqualifies() -> None:
    r = rules(disqualify={"competitor_domains": ["rival.com"]})
    assert last(replay([opened(email="x@eu.rival.com")], rules=r))["reasons"] == [
        "disqualified:competitor"
    ]


def test_country_outside_the_served_list_disqualifies() -> None:
    r = rules(icp={"countries": ["US", "CA"]})
    assert last(replay([opened(country="FR")], rules=r))["reasons"] == ["disqualified:geography"]
    assert last(replay([opened(country="us")], rules=r))["to"] == "cold"


def test_every_country_is_served_when_no_list_is_configured() -> None:
    assert last(replay([opened(country="FR")]))["to"] == "cold"


def test_spam_report_disqualifies() -> None:
    records = replay([opened(), ev("email.spam_reported", at(minutes=1))])
    assert last(records)["reasons"] == ["disqualified:spam_reported"]


def test_hard_bounce_disqualifies_and_soft_bounce_does_not() -> None:
    assert last(replay([ev("email.bounced", bounce="hard")]))["to"] == "disqualified"
    assert last(replay([ev("email.bounced", bounce="soft")]))["to"] == "cold"
    assert last(replay([ev("email.bounced")]))["to"] == "cold"


def test_reasons_are_listed_once_each_in_the_spec_order() -> None:
    r = rules(disqualify={"competitor_domains": ["mailinator.com"]}, icp={"countries": ["US"]})
    events = [opened(email="pat@mailinator.com", job_title="student", country="FR"),
              ev("email.bounced", at(minutes=1), bounce="hard"),
              ev("email.spam_reported", at(minutes=2)),
              ev("email.spam_reported", at(minutes=3))]  # fmt: skip
    assert disqualifiers(state_of(events, rules=r), Model(r)) == [
        "disqualified:competitor", "disqualified:student", "disqualified:disposable_domain",
        "disqualified:geography", "disqualified:spam_reported", "disqualified:hard_bounce",
    ]  # fmt: skip


def test_a_corrected_email_lifts_a_profile_disqualifier() -> None:
    events = [opened(email="pat@mailinator.com"), opened(at(days=1), email="pat@acme.com")]
    assert temps(replay(events)) == ["disqualified", "cold"]


def test_an_event_disqualifier_stays_after_a_profile_correction() -> None:
    events = [ev("email.spam_reported"), opened(at(days=1), email="pat@acme.com")]
    assert temps(replay(events)) == ["disqualified"]


def test_disqualified_lead_gets_no_alert() -> None:
    records = replay([opened(email="pat@mailinator.com"), form("demo_request", at(minutes=1))])
    assert of_topic(records, "alerts.hot-lead") == []


def test_disqualified_lead_keeps_collecting_points() -> None:
    s = scores([ev("email.spam_reported"), form("demo_request", at(minutes=1))])
    assert s.engagement == pytest.approx(15) and s.intent == pytest.approx(15)


def test_a_lifted_lead_that_is_hot_enters_hot_with_an_alert() -> None:
    events = [opened(email="pat@mailinator.com"), form("demo_request", at(minutes=1)),
              opened(at(minutes=2), email="pat@acme.com")]  # fmt: skip
    records = replay(events)
    assert temps(records) == ["disqualified", "hot"]
    assert len(of_topic(records, "alerts.hot-lead")) == 1
