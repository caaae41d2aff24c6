"""`leadtemp lead` / `leadtemp account`: what a lead's or account's state says, explained."""

from __future__ import annotations

from scoring.explain import account_report, lead_report
from scoring.model import Model
from scoring.rules import Rules
from scoring.times import ms_from_rfc3339
from tests.scoring.helpers import T0, T0_MS, at, ev, form, page, run_of

MODEL = Model(Rules())
VP = {"email": "vp@acme.com", "job_title": "VP Sales", "name": "Vera P"}


def test_a_demo_request_shows_as_auto_sql_with_its_signal() -> None:
    state = run_of([form("demo_request", T0)]).store.leads["lead-1"]
    report = lead_report("lead-1", state, T0_MS, MODEL)
    assert report["temperature"] == "hot"
    assert report["auto_sql"] == ["demo_request"]
    assert report["top_signals"][0]["signal"] == "demo_request"


def test_the_next_drop_says_when_and_to_what() -> None:
    state = run_of([form("demo_request")]).store.leads["lead-1"]
    drop = lead_report("lead-1", state, T0_MS, MODEL)["next_drop"]
    assert drop["at"] == at(days=30)  # the automatic-SQL window closes
    assert drop["to"] in ("warm", "cold")


def test_scores_are_decayed_to_the_time_asked() -> None:
    state = run_of([page("pricing", seconds=10)]).store.leads["lead-1"]
    now = lead_report("lead-1", state, T0_MS, MODEL)["scores"]["engagement"]
    later = lead_report("lead-1", state, ms_from_rfc3339(at(days=30)), MODEL)["scores"]
    assert later["engagement"] == round(now / 2, 2)  # one half-life


def test_bant_flags_and_disqualifiers_are_listed() -> None:
    state = run_of([ev("email.spam_reported", lead="lead-1", profile=VP)]).store.leads["lead-1"]
    report = lead_report("lead-1", state, T0_MS, MODEL)
    assert report["bant"]["authority"] is True
    assert report["disqualifiers"] == ["disqualified:spam_reported"]
    assert report["contact"]["name"] == "Vera P"


def test_an_account_lists_its_engaged_stakeholders_and_hot_leads() -> None:
    run = run_of([
        form("demo_request", lead="a", profile={"email": "a@acme.com"}),
        page("pricing", lead="b", profile={"email": "b@acme.com", "job_title": "CEO"}),
    ])  # fmt: skip
    report = account_report("acme.com", run.store.accounts["acme.com"], T0_MS, MODEL)
    assert report["engaged_stakeholders"] == 2 and report["hot_leads"] == ["a"]
    assert report["temperature"] == "hot" and report["members"]["b"]["authority"] is True
    assert report["next_window_end"] == at(days=30)
