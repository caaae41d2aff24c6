"""Fit: firmographics from the latest profile, not decayed; max 23."""

from __future__ import annotations

import pytest

from tests.scoring.helpers import at, ev, form, scores


def opened(when: str = "2026-10-05T09:00:00Z", **profile: object) -> dict:
    return ev("email.opened", when, profile=profile)


@pytest.mark.parametrize(
    ("profile", "fit"),
    [
        ({"company_size": 200}, 5),
        ({"company_size": 10_000}, 5),
        ({"company_size": 199}, 0),
        ({"company_size": 10_001}, 0),
        ({"industry": "software"}, 5),
        ({"industry": "Financial Services"}, 5),
        ({"industry": "financial-services"}, 5),
        ({"industry": "education"}, 0),
        ({"annual_revenue": 10_000_000}, 5),
        ({"annual_revenue": 9_999_999}, 0),
    ],
)
def test_icp_criteria_are_worth_5_each(profile: dict, fit: float) -> None:
    assert scores([opened(**profile)]).fit == fit


def test_pain_point_field_is_worth_5() -> None:
    assert scores([form("other", fields={"pain_point": "manual reporting"})]).fit == 5


def test_need_phrase_in_a_message_is_a_pain_point() -> None:
    assert scores([form("other", message="We're looking for a better CRM sync")]).fit == 5


def test_need_phrase_with_a_curly_apostrophe_is_a_pain_point() -> None:
    assert scores([ev("email.replied", body="We\u2019re looking for help")]).fit == 5


def test_known_integration_in_use_is_worth_3() -> None:
    assert scores([form("other", fields={"uses_integrations": ["Salesforce", "SAP"]})]).fit == 3


def test_integrations_may_come_comma_separated() -> None:
    assert scores([form("other", fields={"uses_integrations": "sap, hubspot"})]).fit == 3


def test_unknown_integrations_are_worth_nothing() -> None:
    assert scores([form("other", fields={"uses_integrations": "sap, oracle"})]).fit == 0


def test_full_fit_is_23() -> None:
    profile = {"company_size": 800, "industry": "software", "annual_revenue": 50_000_000}
    event = form("other", fields={"pain_point": "x", "uses_integrations": "zoom"})
    event["lead"].update(profile)
    assert scores([event]).fit == 23


def test_fit_does_not_decay() -> None:
    assert scores([opened(company_size=500)], when=at(days=400)).fit == 5


def test_latest_profile_wins_whatever_the_arrival_order() -> None:
    newer = opened(at(days=2), company_size=50)
    older = opened(at(days=1), company_size=500)
    assert scores([newer, older]).fit == scores([older, newer]).fit == 0


def test_a_null_attribute_does_not_erase_a_known_one() -> None:
    assert scores([opened(company_size=500), opened(at(days=1), company_size=None)]).fit == 5
