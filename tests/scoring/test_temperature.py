"""Temperature: entry rules, exit margins, windows, decay downgrades and their timing."""

from __future__ import annotations

import pytest

from scoring.engine import Engine
from scoring.records import stable_id
from scoring.replay import Replay
from scoring.times import ms_from_rfc3339
from tests.scoring.helpers import at, ev, form, last, lead_changes, replay, rules, run_of, temps

FREE = {"email": "pat@gmail.com"}  # no account, so account records stay out of the way


def test_first_classification_as_cold_is_emitted_with_from_null() -> None:
    change = last(replay([ev("email.opened")]))
    assert (change["from"], change["to"], change["reasons"], change["sales_action"]) == (
        None, "cold", ["below_thresholds"], "educate",
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["demo_request", "trial_request", "contact_sales"])
def test_a_sales_request_is_an_automatic_sql(kind: str) -> None:
    change = last(replay([form(kind)]))
    assert (change["to"], change["reasons"], change["sales_action"]) == (
        "hot", [f"auto_sql:{kind}"], "fast_follow_up",
    )  # fmt: skip


def test_intent_of_25_makes_a_lead_hot() -> None:
    records = replay([form("pricing_request"), form("other", at(minutes=1), message="quote? "
                      "Onboarding? compared to X. By Q2")])  # fmt: skip
    assert last(records)["to"] == "hot" and "intent>=25" in last(records)["reasons"]


def test_total_of_50_makes_a_lead_hot() -> None:
    profile = {"company_size": 800, "industry": "software", "annual_revenue": 50_000_000}
    events = [ev("webinar.attended", at(minutes=i), profile=profile) for i in range(5)]
    records = replay(events)
    assert temps(records) == ["warm", "hot"]
    assert last(records)["reasons"] == ["total>=50"]


def test_total_of_21_makes_a_lead_warm() -> None:
    events = [ev("webinar.attended", at(minutes=i)) for i in range(3)]
    records = replay(events)
    assert temps(records) == ["cold", "warm"]
    assert (last(records)["reasons"], last(records)["sales_action"]) == (["total>=21"], "nurture")


def test_reasons_list_every_hot_rule_that_holds_in_order() -> None:
    profile = {"company_size": 800, "industry": "software", "annual_revenue": 50_000_000,
               "job_title": "VP Sales"}  # fmt: skip
    body = "Budget approved, we need a quote this quarter."
    records = replay([ev("email.replied", profile=profile, body=body),
                      form("demo_request", at(minutes=1))])  # fmt: skip
    assert lead_changes(records)[0]["reasons"] == ["intent>=25", "bant>=3"]


def test_reasons_include_auto_sql_intent_total_and_bant_together() -> None:
    profile = {"company_size": 800, "industry": "software", "annual_revenue": 50_000_000,
               "job_title": "VP Sales"}  # fmt: skip
    webinars = [ev("webinar.attended", at(minutes=i), profile=profile) for i in range(2)]
    event = form("demo_request", at(minutes=5),
                 message="Budget approved, we need a quote this quarter.")  # fmt: skip
    assert last(replay([*webinars, event]))["reasons"] == [
        "auto_sql:demo_request", "intent>=25", "total>=50", "bant>=3",
    ]  # fmt: skip


def test_a_lead_moves_up_as_soon_as_the_entry_rules_say_so() -> None:
    events = [ev("webinar.attended", at(minutes=i)) for i in range(2)] + [form("demo_request",
              at(minutes=5))]  # fmt: skip
    assert temps(replay(events)) == ["cold", "hot"]


def test_leaving_warm_needs_the_score_2_below_the_threshold() -> None:
    # 24 points of engagement, then −4 (an unsubscribe weighs −10, so use opens and clicks)
    events = [ev("webinar.attended", at(minutes=0)), ev("webinar.attended", at(minutes=1)),
              ev("email.clicked", at(minutes=2)), ev("email.opened", at(minutes=3)),
              ev("email.opened", at(minutes=4), profile={"industry": "software"}),
              ev("email.unsubscribed", at(minutes=5))]  # fmt: skip
    # totals: 8, 16, 19, 20, 26 (fit 5), then 16 < 19: cold, caused by the event
    records = replay(events)
    assert temps(records) == ["cold", "warm", "cold"]
    assert last(records)["caused_by_event_id"] == events[-1]["event_id"]
    assert "decay" not in last(records)["reasons"]


def test_within_the_margin_a_lead_stays_warm() -> None:
    events = [ev("webinar.attended", at(minutes=0)), ev("webinar.attended", at(minutes=1)),
              ev("email.clicked", at(minutes=2)), ev("email.clicked", at(minutes=3)),
              ev("email.unsubscribed", at(minutes=4))]  # fmt: skip
    # totals: 8, 16, 19, 22 (warm); the unsubscribe then takes 2 (20: stays) or 4 (18: leaves)
    small = rules(engagement={"points": {"email.unsubscribed": -2}})
    large = rules(engagement={"points": {"email.unsubscribed": -4}})
    assert temps(replay(events, rules=small)) == ["cold", "warm"]
    assert temps(replay(events, rules=large)) == ["cold", "warm", "cold"]


def test_hot_lead_falling_below_50_but_within_the_margin_stays_hot() -> None:
    profile = {"company_size": 800, "industry": "software", "annual_revenue": 50_000_000}
    events = [ev("webinar.attended", at(minutes=i), profile=profile) for i in range(5)]
    # total 55, hot; an unsubscribe 1 minute later: 45 < 48 -> warm
    assert temps(replay([*events, ev("email.unsubscribed", at(minutes=6))])) == [
        "warm",
        "hot",
        "warm",
    ]
    r = rules(thresholds={"exit_margin": 10})
    assert temps(replay([*events, ev("email.unsubscribed", at(minutes=6))], rules=r)) == [
        "warm",
        "hot",
    ]


def test_automatic_sql_ends_after_30_days_as_a_downgrade_by_time() -> None:
    records = replay([{**form("demo_request"), "lead": {"id": "lead-1", **FREE}}],
                     until=at(days=40))  # fmt: skip
    assert temps(records) == ["hot", "cold"]
    drop = last(records)
    assert drop["occurred_at"] == at(days=30)[:-1] + ".000Z"
    assert (drop["caused_by_event_id"], drop["reasons"]) == (None, ["below_thresholds", "decay"])


def test_decay_downgrade_happens_at_the_crossing_with_millisecond_precision() -> None:
    events = [ev("webinar.attended", at(minutes=i), profile=FREE) for i in range(3)]
    records = replay(events, until=at(days=60))
    assert temps(records) == ["cold", "warm", "cold"]
    drop = last(records)
    # 24 (decayed from each event) falls to 19 after 30·log2(24/19) ≈ 10.11 days
    crossing = ms_from_rfc3339(drop["occurred_at"])
    expected = ms_from_rfc3339(at(minutes=2)) + 30 * 86_400_000 * 0.3370
    assert abs(crossing - expected) < 86_400_000 * 0.01
    assert drop["occurred_at"].endswith("Z") and len(drop["occurred_at"]) == 24
    assert drop["scores"]["total"] == pytest.approx(19, abs=0.01)


def test_no_downgrade_before_the_crossing() -> None:
    events = [ev("webinar.attended", at(minutes=i), profile=FREE) for i in range(3)]
    crossing = last(replay(events, until=at(days=60)))["occurred_at"]
    just_before = ms_from_rfc3339(crossing) - 1
    from scoring.times import rfc3339_from_ms

    assert temps(replay(events, until=rfc3339_from_ms(just_before))) == ["cold", "warm"]
    assert temps(replay(events, until=crossing)) == ["cold", "warm", "cold"]


def test_an_event_after_a_pending_crossing_first_emits_the_downgrade() -> None:
    events = [ev("webinar.attended", at(minutes=i), profile=FREE) for i in range(3)]
    later = ev("email.opened", at(days=20))
    records = replay([*events, later])
    changes = lead_changes(records)
    assert [c["to"] for c in changes] == ["cold", "warm", "cold"]
    assert changes[-1]["caused_by_event_id"] is None
    assert ms_from_rfc3339(changes[-1]["occurred_at"]) < ms_from_rfc3339(later["occurred_at"])


def test_watermark_passing_a_crossing_downgrades_other_leads() -> None:
    events = [ev("webinar.attended", at(minutes=i), profile=FREE) for i in range(3)]
    other = ev("email.opened", at(days=20), lead="lead-2")
    records = replay([*events, other])
    assert [r.key for r in records if r.topic == "leads.temperature"][-2:] == ["lead-1", "lead-2"]
    assert temps(records) == ["cold", "warm", "cold"]


def test_change_id_is_a_stable_hash_of_lead_cause_and_temperature() -> None:
    event = form("demo_request")
    change = last(replay([event]))
    assert change["change_id"] == stable_id("lead", "lead-1", event["event_id"], "hot")
    assert change["change_id"] == last(replay([event]))["change_id"]


def test_scores_are_rounded_to_2_decimals_in_records() -> None:
    events = [ev("webinar.attended", at(days=d)) for d in (0, 1, 5)]
    change = last(replay(events))
    assert change["to"] == "warm"
    assert change["scores"]["engagement"] == round(8 * (2 ** (-5 / 30) + 2 ** (-4 / 30) + 1), 2)


def test_rules_version_is_copied_into_every_record() -> None:
    records = replay([form("demo_request")], rules=rules(version="2026-11-20.1"))
    assert {r.value["rules_version"] for r in records} == {"2026-11-20.1"}
    assert {r.value["rules_version"] for r in replay([form("demo_request")])} == {"default"}


def warm_lead_then_new_rules(**thresholds: float) -> tuple[Replay, int]:
    """A warm lead (total 24) scored under the default rules, then an engine with other
    thresholds over the same state, as when the worker restarts with a new rules file;
    with the time its downgrade was due under the default rules."""
    events = [ev("webinar.attended", at(minutes=i), profile=FREE) for i in range(3)]
    run = run_of(events)
    due = run.store.leads["lead-1"].next_drop
    assert due is not None
    run.engine = Engine(rules(thresholds=thresholds))
    return run, due


def test_a_downgrade_set_under_other_rules_waits_for_the_new_crossing() -> None:
    run, due = warm_lead_then_new_rules(warm_total=15)  # warm holds down to 13 now
    assert run.finish(due) == []
    records = run.finish(ms_from_rfc3339(at(days=60)))
    assert temps(records) == ["cold"]
    # 24 falls to 13 after 30·log2(24/13) ≈ 26.5 days, not at 19 (≈ 10.1 days)
    assert last(records)["scores"]["total"] == pytest.approx(13, abs=0.01)


def test_a_downgrade_set_under_other_rules_happens_at_the_new_earlier_crossing() -> None:
    run, due = warm_lead_then_new_rules(warm_total=23)  # warm holds down to 21 now
    records = run.finish(due)
    assert temps(records) == ["cold"]
    assert ms_from_rfc3339(last(records)["occurred_at"]) < due
    assert last(records)["scores"]["total"] == pytest.approx(21, abs=0.01)


def test_rescheduling_under_other_rules_sets_the_crossing_they_give() -> None:
    run, due = warm_lead_then_new_rules(warm_total=23)
    lead = run.store.leads["lead-1"]
    assert run.engine.reschedule(lead) and not run.engine.reschedule(lead)
    assert lead.next_drop is not None and lead.next_drop < due
    crossing = lead.next_drop
    run.store.schedule("lead", "lead-1", crossing)  # as a store re-indexes it
    assert ms_from_rfc3339(last(run.finish(crossing))["occurred_at"]) == crossing
