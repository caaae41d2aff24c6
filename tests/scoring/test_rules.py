"""The rules file: defaults are the spec's tables; bad files are rejected naming the key."""

from __future__ import annotations

import pytest

from scoring.rules import Rules, RulesError, rules_as_yaml, rules_from_yaml


def test_defaults_are_the_spec_tables() -> None:
    r = Rules()
    assert r.version == "default"
    assert (r.icp.company_size.min, r.icp.company_size.max) == (200, 10_000)
    assert r.icp.industries == ["software", "manufacturing", "healthcare", "financial_services"]
    assert (r.icp.annual_revenue.min, r.icp.annual_revenue.max) == (10_000_000, 1_000_000_000)
    assert r.icp.integrations == ["salesforce", "hubspot", "slack", "zoom"]
    assert r.icp.countries == []
    assert r.engagement.half_life_days == 30 and r.intent.half_life_days == 14
    assert r.engagement.caps == {"email.opened": 10, "email.clicked": 15, "web.page_viewed": 20}
    assert r.engagement.points["email.unsubscribed"] == -10
    assert r.intent.points["timeline_mention"] == 8
    assert r.thresholds.model_dump() == {
        "warm_total": 21, "hot_total": 50, "hot_intent": 25, "hot_bant": 3, "auto_sql_days": 30,
        "exit_margin": 2,
    }  # fmt: skip
    assert r.bant.valid_days == 90 and r.accounts.stakeholder_window_days == 30
    assert r.alerts.cooldown_hours == 24
    assert (r.alerts.respond_within_minutes.P1, r.alerts.respond_within_minutes.P2) == (5, 15)
    assert r.disqualify.academic_suffixes == [".edu", ".ac.uk", ".edu.au"]
    assert "gmail.com" in r.disqualify.free_mail_domains
    assert "mailinator.com" in r.disqualify.disposable_domains
    assert r.intent.phrases["timeline_mention"][:4] == ["by Q1", "by Q2", "by Q3", "by Q4"]


def test_a_partial_file_keeps_the_other_defaults() -> None:
    r = rules_from_yaml("version: '7'\nengagement:\n  points:\n    email.opened: 2\n")
    assert r.version == "7"
    assert r.engagement.points["email.opened"] == 2
    assert r.engagement.points["email.clicked"] == 3


def test_a_numeric_version_is_read_as_text() -> None:
    assert rules_from_yaml("version: 2026.1").version == "2026.1"


def test_the_effective_rules_round_trip_through_yaml() -> None:
    r = rules_from_yaml("thresholds: {warm_total: 20}")
    assert rules_from_yaml(rules_as_yaml(r)) == r


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: blue", "rules.yaml: colour: unknown key"),
        ("icp: {sizes: 1}", "rules.yaml: icp.sizes: unknown key"),
        ("engagement: {half_life_days: -1}", "rules.yaml: engagement.half_life_days: Input should be greater than 0"),
        ("intent: {half_life_days: 0}", "rules.yaml: intent.half_life_days: Input should be greater than 0"),
        ("engagement: {half_life_days: thirty}", "rules.yaml: engagement.half_life_days: Input should be a valid number"),
        ("thresholds: {warm_total: 60}", "rules.yaml: thresholds: warm_total (60) is above hot_total (50)"),
        ("thresholds: {exit_margin: -2}", "rules.yaml: thresholds.exit_margin: Input should be greater than or equal to 0"),
        ("thresholds: {hot_bant: 5}", "rules.yaml: thresholds.hot_bant: Input should be less than or equal to 4"),
        ("engagement: {points: {email.forwarded: 1}}", "rules.yaml: engagement.points: unknown signal 'email.forwarded'"),
        ("engagement: {caps: {opens: 1}}", "rules.yaml: engagement.caps: 'opens' is not an event type"),
        ("engagement: {caps: {email.opened: 0}}", "rules.yaml: engagement.caps: cap of email.opened must be above 0"),
        ("intent: {points: {demo_request: -1}}", "rules.yaml: intent.points: demo_request: intent points must not be negative"),
        ("intent: {phrases: {greeting: [hi]}}", "rules.yaml: intent.phrases: unknown phrase list 'greeting'"),
        ("intent: {phrases: {need: we need}}", "rules.yaml: intent.phrases.need: Input should be a valid list"),
        ("icp: {company_size: {min: 500, max: 100}}", "rules.yaml: icp.company_size: min (500) is above max (100)"),
        ("alerts: {respond_within_minutes: {P3: 1}}", "rules.yaml: alerts.respond_within_minutes.P3: unknown key"),
        ("bant: {valid_days: '90'}", "rules.yaml: bant.valid_days: Input should be a valid number"),
        ("[1, 2]", "rules.yaml: (top level): must be a mapping of keys, not list"),
        ("a: [", "rules.yaml: not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_file_is_rejected_naming_the_key_and_reason(text: str, message: str) -> None:
    with pytest.raises(RulesError) as e:
        rules_from_yaml(text, source="rules.yaml")
    assert str(e.value).startswith(message)


def test_an_empty_file_is_the_defaults() -> None:
    assert rules_from_yaml("") == Rules()
