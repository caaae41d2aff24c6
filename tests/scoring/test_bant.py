"""BANT: four flags; budget, need and timeline hold 90 days after their latest evidence."""

from __future__ import annotations

import pytest

from tests.scoring.helpers import at, ev, form, last, replay, scores, temps


@pytest.mark.parametrize(
    "title",
    ["CEO", "Chief Revenue Officer", "VP Operations", "Vice President, Sales", "Head of IT",
     "Director of Engineering", "Owner", "Co-Founder", "President"],
)  # fmt: skip
def test_decision_maker_titles_give_authority(title: str) -> None:
    assert scores([ev("email.opened", profile={"job_title": title})]).authority


@pytest.mark.parametrize(
    "title", ["IT Manager", "Procurement Lead", "Vice-chair", "Directory admin"]
)
def test_other_titles_give_no_authority(title: str) -> None:
    assert not scores([ev("email.opened", profile={"job_title": title})]).authority


def test_authority_follows_the_current_title() -> None:
    events = [ev("email.opened", profile={"job_title": "VP Sales"}),
              ev("email.opened", at(days=1), profile={"job_title": "Analyst"})]  # fmt: skip
    assert not scores(events).authority


def test_budget_need_and_timeline_come_from_their_evidence() -> None:
    s = scores([ev("email.replied", body="Budget approved; we need it this quarter.")])
    assert (s.budget, s.need, s.timeline, s.bant) == (True, True, True, 3)


def test_evidence_holds_for_90_days() -> None:
    reply = ev("email.replied", body="Budget approved.")
    assert scores([reply], when=at(days=89.99)).budget
    assert not scores([reply], when=at(days=90)).budget


def test_new_evidence_renews_the_90_days() -> None:
    events = [ev("email.replied", body="Budget approved."),
              form("other", at(days=60), fields={"budget": "approved"})]  # fmt: skip
    assert scores(events, when=at(days=149)).budget


def test_bant_of_3_makes_a_lead_hot() -> None:
    records = replay([ev("email.replied", body="Budget approved; we need it this quarter.")])
    assert last(records)["to"] == "hot"
    assert "bant>=3" in last(records)["reasons"]


def test_bant_flag_expiring_is_a_downgrade_by_time() -> None:
    records = replay(
        [ev("email.replied", body="Budget approved; we need it this quarter.",
            profile={"email": "a@gmail.com"})],
        until=at(days=200),
    )  # fmt: skip
    assert temps(records) == ["hot", "cold"]
    drop = last(records)
    assert drop["occurred_at"] == at(days=90)[:-1] + ".000Z"
    assert drop["reasons"] == ["below_thresholds", "decay"]
