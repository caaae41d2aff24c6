"""Intent: buying signals with a 14-day half-life, phrase detection on word boundaries."""

from __future__ import annotations

import pytest

from tests.scoring.helpers import at, ev, form, page, rules, scores


@pytest.mark.parametrize(
    ("event", "points"),
    [
        (form("demo_request"), 15),
        (form("trial_request"), 15),
        (form("contact_sales"), 15),
        (form("pricing_request"), 10),
        (form("quote_request"), 10),
        (form("other", message="Can you share your pricing?"), 10),
        (ev("email.replied", body="What are your payment terms?"), 10),
        (form("other", message="How long does deployment take?"), 10),
        (ev("email.replied", body="Does it integrate with SAP?"), 10),
        (form("other", fields={"budget": "approved"}), 10),
        (form("other", fields={"budget": "Approved "}), 10),
        (ev("email.replied", body="The budget is set aside."), 10),
        (form("other", fields={"timeline": "this quarter"}), 8),
        (ev("email.replied", body="We want to go live by Q3."), 8),
        (page("comparison"), 5),
        (ev("email.replied", body="How are you different from the others?"), 5),
    ],
    ids=[
        "demo_request",
        "trial_request",
        "contact_sales",
        "pricing_request",
        "quote_request",
        "pricing_phrase_in_form",
        "pricing_phrase_in_reply",
        "implementation_phrase",
        "integrate_with_phrase",
        "budget_field_approved",
        "budget_field_case_and_spaces",
        "budget_phrase",
        "timeline_field",
        "timeline_phrase",
        "comparison_page",
        "competitor_phrase",
    ],
)
def test_each_intent_signal_is_worth_its_points(event: dict, points: float) -> None:
    assert scores([event]).intent == points


def test_budget_field_other_than_approved_is_no_signal() -> None:
    assert scores([form("other", fields={"budget": "planned"})]).intent == 0


def test_configured_competitor_name_is_a_competitive_evaluation() -> None:
    r = rules(intent={"competitor_names": ["Rivalsoft"]})
    assert scores([ev("email.replied", body="We also run rivalsoft today.")], rules=r).intent == 5


def test_each_signal_counts_at_most_once_per_event() -> None:
    event = form("pricing_request", message="pricing, a quote, volume discount and payment terms")
    assert scores([event]).intent == 10


def test_one_message_can_carry_several_signals() -> None:
    body = "Budget approved. Can you send a quote? We need it before fiscal year end."
    assert scores([ev("email.replied", body=body)]).intent == 28


def test_phrases_match_case_insensitively() -> None:
    assert scores([ev("email.replied", body="PRICING please")]).intent == 10


def test_phrases_match_on_word_boundaries_only() -> None:
    assert scores([ev("email.replied", body="We requoted and reonboarding-ish things")]).intent == 0


def test_phrases_tolerate_line_breaks_between_words() -> None:
    assert scores([ev("email.replied", body="budget\napproved")]).intent == 10


def test_intent_halves_every_14_days() -> None:
    assert scores([form("demo_request")], when=at(days=14)).intent == pytest.approx(7.5)


def test_phrase_lists_come_from_the_rules() -> None:
    r = rules(intent={"phrases": {"pricing_request": ["how much"]}})
    assert scores([ev("email.replied", body="How much is it?")], rules=r).intent == 10
    assert scores([ev("email.replied", body="pricing?")], rules=r).intent == 0
