"""What a rule change would do: the same events under two rule sets, compared lead by lead."""

from __future__ import annotations

from typing import Any

import orjson

from scoring.engine import Engine
from scoring.records import Record
from scoring.replay import Replay
from scoring.rules import Rules
from scoring.rules_diff import (
    RulesDiff,
    median_shift_ms,
    note_first_hot,
    outcome_of,
    rules_diff,
)
from scoring.times import ms_from_rfc3339
from tests.scoring.helpers import FAR_FUTURE, at, ev, rules

PROFILE = {"company_size": 800, "industry": "software", "annual_revenue": 50_000_000}  # fit 15
HOT_AT_45 = rules(version="candidate", thresholds={"hot_total": 45})


def webinars(n: int, lead: str = "lead-1") -> list[dict[str, Any]]:
    """n webinars a minute apart by a lead that fits: total 15 + 8 per webinar."""
    return [ev("webinar.attended", at(minutes=i), lead, profile=PROFILE) for i in range(n)]


def diff_of(events: list[dict[str, Any]], after: Rules, before: Rules | None = None) -> RulesDiff:
    runs = [Replay(Engine(r), ms_from_rfc3339(FAR_FUTURE)) for r in (before, after)]
    first_hot: list[dict[str, int]] = [{}, {}]
    for run, hot in zip(runs, first_hot, strict=True):
        for i, e in enumerate(events):
            note_first_hot(run.feed(orjson.dumps(e), i), hot)
        note_first_hot(run.finish(), hot)
    return rules_diff(outcome_of(runs[0], first_hot[0]), outcome_of(runs[1], first_hot[1]))


def test_the_same_rules_move_no_lead() -> None:
    d = diff_of([*webinars(5), ev("email.opened", lead="lead-2")], after=Rules())
    assert d.moved == [] and d.hot_shifts == [0]
    assert d.temperatures == {("hot", "hot"): 1, ("cold", "cold"): 1}


def test_a_lead_the_candidate_makes_hot_is_listed_with_both_temperatures_and_totals() -> None:
    d = diff_of(webinars(4), after=HOT_AT_45)
    (lead,) = d.moved
    assert (lead.lead_id, lead.before, lead.after) == ("lead-1", "warm", "hot")
    assert lead.total_before == lead.total_after and 46 < (lead.total_after or 0) < 47
    assert (lead.first_hot_before, lead.first_hot_after) == (None, ms_from_rfc3339(at(minutes=3)))
    assert (d.hot_only_before, d.hot_only_after) == (0, 1)


def test_a_lead_hot_under_both_but_earlier_under_the_candidate_counts_as_sooner() -> None:
    d = diff_of(webinars(5), after=HOT_AT_45)
    assert d.moved == []  # hot at the end either way
    assert d.hot_shifts == [-60_000]  # the 4th webinar instead of the 5th
    assert d.as_record()["first_hot"] == {
        "sooner": 1, "later": 0, "same": 0, "median_shift_seconds": -60.0,
        "only_before": 0, "only_after": 0,
    }  # fmt: skip


def test_alerts_are_counted_by_priority_under_each_rule_set() -> None:
    d = diff_of(webinars(4), after=HOT_AT_45)
    assert sum(d.alerts_before.values()) == 0 and sum(d.alerts_after.values()) == 1
    (priority,) = d.as_record()["hot_lead_alerts"]
    assert d.as_record()["hot_lead_alerts"][priority] == {"before": 0, "after": 1}


def test_the_final_temperatures_are_counted_on_each_side() -> None:
    d = diff_of([*webinars(4), ev("email.opened", lead="lead-2")], after=HOT_AT_45)
    temps = d.as_record()["temperatures"]
    assert temps["hot"] == {"before": 0, "after": 1}
    assert temps["warm"] == {"before": 1, "after": 0}
    assert temps["cold"] == {"before": 1, "after": 1}


def test_both_rule_versions_are_named() -> None:
    assert diff_of(webinars(1), after=HOT_AT_45).as_record()["rules_version"] == {
        "before": "default", "after": "candidate",
    }  # fmt: skip


def test_leads_made_hot_are_listed_first_then_by_highest_total() -> None:
    events = webinars(3, "lead-a") + webinars(4, "lead-b") + [
        ev("webinar.attended", at(minutes=i), "lead-c") for i in range(3)  # no fit: total 24
    ]  # fmt: skip
    d = diff_of(events, after=rules(thresholds={"hot_total": 45, "warm_total": 38}))
    # lead-b warm → hot; lead-a (total 39) stays warm; lead-c warm → cold under warm_total 38
    assert [(m.lead_id, m.before, m.after) for m in d.moved] == [
        ("lead-b", "warm", "hot"), ("lead-c", "warm", "cold"),
    ]  # fmt: skip


def test_first_hot_is_the_first_hot_record_in_production_order() -> None:
    def hot(occurred_at: str) -> Record:
        return Record("leads.temperature", "lead-1",
                      {"lead_id": "lead-1", "to": "hot", "occurred_at": occurred_at})  # fmt: skip

    first_hot: dict[str, int] = {}
    note_first_hot([hot(at(hours=2)), hot(at(hours=1))], first_hot)
    assert first_hot == {"lead-1": ms_from_rfc3339(at(hours=2))}


def test_the_median_shift_leaves_out_leads_hot_at_the_same_time() -> None:
    assert median_shift_ms([0, -10, -30, 20, 0]) == -10
    assert median_shift_ms([0, -10, -30]) == -20
    assert median_shift_ms([0, 0]) == 0


def test_accounts_are_counted_by_final_temperature_on_each_side() -> None:
    # Two stakeholders of one account at a total of 42 each (with the stakeholder bonus):
    # warm leads, a warm account; hot at 40, so a hot account (a hot lead, 2 stakeholders).
    at_acme = {**PROFILE, "account_id": "acme.com"}
    events = [ev("webinar.attended", at(minutes=i), lead, profile=at_acme)
              for lead in ("lead-1", "lead-2") for i in range(3)]  # fmt: skip
    accounts = diff_of(events, after=rules(thresholds={"hot_total": 40})).as_record()["accounts"]
    assert accounts == {
        "hot": {"before": 0, "after": 1},
        "warm": {"before": 1, "after": 0},
        "cold": {"before": 0, "after": 0},
    }
