"""Hot-lead alerts: when raised, cooldown, priority, respond-by, contact, routing, top signals."""

from __future__ import annotations

import pytest

from scoring.engine import Engine
from scoring.records import stable_id
from scoring.store import MemoryStore
from tests.scoring.helpers import at, ev, form, of_topic, parsed, replay, rules, run_of

FREE = {"email": "pat@gmail.com"}


def alerts(records: list, lead: str = "lead-1") -> list[dict]:
    return of_topic(records, "alerts.hot-lead", lead)


def demo(when: str = "2026-10-05T09:00:00Z", kind: str = "demo_request", **profile: object) -> dict:
    e = form(kind, when)
    e["lead"].update({**FREE, **profile})
    return e


def test_entering_hot_raises_one_alert() -> None:
    event = demo()
    [alert] = alerts(replay([event]))
    assert (alert["caused_by_event_id"], alert["occurred_at"]) == (
        event["event_id"],
        event["occurred_at"],
    )


def test_no_second_alert_while_the_lead_stays_hot() -> None:
    assert len(alerts(replay([demo(), demo(at(hours=1)), demo(at(days=2))]))) == 1


def test_no_alert_within_24_hours_of_the_last_one() -> None:
    # A 6-hour automatic-SQL window makes the lead cold again well within the cooldown.
    r = rules(thresholds={"auto_sql_days": 0.25})
    events = [demo(), demo(at(hours=12))]
    run = run_of(events, rules=r)
    assert run.summary.alerts == {"P1": 1}
    assert run.summary.alerts_suppressed == 1


def test_alert_again_after_the_cooldown() -> None:
    r = rules(thresholds={"auto_sql_days": 0.25})
    assert len(alerts(replay([demo(), demo(at(hours=25))], rules=r))) == 2


def test_cooldown_is_configurable() -> None:
    r = rules(thresholds={"auto_sql_days": 0.25}, alerts={"cooldown_hours": 6})
    assert len(alerts(replay([demo(), demo(at(hours=12))], rules=r))) == 2


def test_automatic_sql_is_p1_with_5_minutes_to_respond() -> None:
    [alert] = alerts(replay([demo()]))
    assert (alert["priority"], alert["respond_by"]) == ("P1", at(minutes=5))


def test_other_hot_leads_are_p2_with_15_minutes_to_respond() -> None:
    event = ev("email.replied", body="Budget approved; we need it this quarter.", profile=FREE)
    [alert] = alerts(replay([event]))
    assert (alert["priority"], alert["respond_by"]) == ("P2", at(minutes=15))


def test_bant_of_4_is_p1() -> None:
    event = ev("email.replied", body="Budget approved; we need it this quarter.",
               profile={**FREE, "job_title": "CEO"})  # fmt: skip
    assert alerts(replay([event]))[0]["priority"] == "P1"


def test_respond_within_minutes_is_configurable() -> None:
    r = rules(alerts={"respond_within_minutes": {"P1": 1}})
    assert alerts(replay([demo()], rules=r))[0]["respond_by"] == at(minutes=1)


def test_alert_id_is_a_stable_hash_of_lead_and_event() -> None:
    event = demo()
    assert alerts(replay([event]))[0]["alert_id"] == stable_id("lead", "lead-1", event["event_id"])


def test_alert_carries_the_contact() -> None:
    event = demo(name="Lisa Chen", job_title="VP Ops", company="Acme", country="US")
    assert alerts(replay([event]))[0]["contact"] == {
        "name": "Lisa Chen", "email": "pat@gmail.com", "job_title": "VP Ops", "company": "Acme",
        "country": "US",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("size", "segment"),
    [(None, "unknown"), (10, "smb"), (199, "smb"), (200, "mid_market"), (1999, "mid_market"),
     (2000, "enterprise")],
)  # fmt: skip
def test_routing_segment_follows_company_size(size: int | None, segment: str) -> None:
    event = demo(**({"company_size": size} if size is not None else {}))
    assert alerts(replay([event]))[0]["routing"]["segment"] == segment


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("US", "NA"),
        ("br", "LATAM"),
        ("DE", "EMEA"),
        ("JP", "APAC"),
        ("ZA", "other"),
        (None, "other"),
    ],
)
def test_routing_region_follows_country(country: str | None, region: str) -> None:
    event = demo(**({"country": country} if country else {}))
    assert alerts(replay([event]))[0]["routing"]["region"] == region


def test_top_signals_list_each_kind_an_event_feeds_strongest_first() -> None:
    [alert] = alerts(replay([ev("email.opened", profile=FREE), demo(at(minutes=1))]))
    assert [(s["signal"], s["kind"], s["points"]) for s in alert["top_signals"]] == [
        ("demo_request", "engagement", 15.0), ("demo_request", "intent", 15.0),
        ("email.opened", "engagement", 1.0),
    ]  # fmt: skip
    assert alert["top_signals"][0]["at"] == at(minutes=1)


def test_top_signals_are_at_most_5_and_decayed_at_the_alert_time() -> None:
    views = [ev("webinar.attended", at(days=-i), profile=FREE) for i in range(1, 6)]  # warm
    [alert] = alerts(replay([*views, demo()]))
    top = alert["top_signals"]
    assert len(top) == 5
    assert [s["points"] for s in top] == sorted((s["points"] for s in top), reverse=True)
    assert top[-1]["points"] == pytest.approx(8 * 2 ** (-3 / 30), abs=0.01)


def test_disqualified_leads_raise_no_alert() -> None:
    assert alerts(replay([demo(email="kid@mit.edu")])) == []


def test_an_alert_held_back_by_the_cooldown_is_reported_with_its_priority() -> None:
    engine, store = Engine(rules(thresholds={"auto_sql_days": 0.25})), MemoryStore()
    first, again = (engine.apply(parsed(e), store) for e in (demo(), demo(at(hours=12))))
    assert (first.suppressed, again.suppressed) == ([], [("alerts.hot-lead", "P1")])
