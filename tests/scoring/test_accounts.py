"""Accounts: membership, engaged stakeholders, the stakeholder bonus, account temperature."""

from __future__ import annotations

import pytest

from scoring.engine import Engine
from scoring.state import AccountState, Member
from scoring.store import MemoryStore
from scoring.times import MS_PER_DAY as DAY
from tests.scoring.helpers import at, ev, form, last, of_topic, parsed, replay, rules, scores, temps


def person(lead: str, email: str, **profile: object) -> dict:
    return {"id": lead, "email": email, **profile}


def opened(lead: str, email: str, when: str = "2026-10-05T09:00:00Z", **profile: object) -> dict:
    e = ev("email.opened", when, lead=None)
    e["lead"] = person(lead, email, **profile)
    return e


def account_changes(records: list, account: str = "acme.com") -> list[dict]:
    return of_topic(records, "accounts.temperature", account)


def test_account_comes_from_the_email_domain() -> None:
    assert last(replay([opened("a", "pat@acme.com")]), "a")["account_id"] == "acme.com"


def test_account_id_overrides_the_email_domain() -> None:
    records = replay([opened("a", "pat@acme.com", account_id="acct-42")])
    assert last(records, "a")["account_id"] == "acct-42"


def test_free_mail_leads_have_no_account() -> None:
    records = replay([opened("a", "pat@gmail.com")])
    assert last(records, "a")["account_id"] is None
    assert of_topic(records, "accounts.temperature") == []


def test_first_account_classification_is_emitted() -> None:
    change = account_changes(replay([opened("a", "pat@acme.com")]))[0]
    assert (change["from"], change["to"], change["reasons"]) == (None, "cold", ["below_thresholds"])
    assert change["engaged_stakeholders"] == 1


def test_two_engaged_stakeholders_make_the_account_warm() -> None:
    records = replay([opened("a", "a@acme.com"), opened("b", "b@acme.com", at(minutes=1))])
    change = account_changes(records)[-1]
    assert (change["to"], change["reasons"], change["engaged_stakeholders"]) == (
        "warm", ["stakeholders>=2"], 2,
    )  # fmt: skip


def test_an_event_worth_nothing_does_not_make_a_stakeholder() -> None:
    sent = ev("email.sent", at(minutes=1), lead=None)
    sent["lead"] = person("b", "b@acme.com")
    records = replay([opened("a", "a@acme.com"), sent])
    assert [c["to"] for c in account_changes(records)] == ["cold"]


def test_the_lead_whose_event_makes_two_stakeholders_gets_the_bonus_once() -> None:
    events = [opened("a", "a@acme.com"), opened("b", "b@acme.com", at(minutes=1)),
              opened("b", "b@acme.com", at(minutes=2))]  # fmt: skip
    b = scores(events, lead="b")
    assert b.engagement == pytest.approx(1 + 1 + 3, abs=0.01)
    assert b.intent == pytest.approx(5, abs=0.01)
    a = scores(events, lead="a")
    assert (a.engagement, a.intent) == (1, 0)


def test_the_first_stakeholder_gets_the_bonus_on_its_next_scored_event() -> None:
    events = [opened("a", "a@acme.com"), opened("b", "b@acme.com", at(minutes=1)),
              opened("a", "a@acme.com", at(minutes=2))]  # fmt: skip
    assert scores(events, lead="a").intent == pytest.approx(5, abs=0.01)


def test_a_disqualified_lead_is_not_an_engaged_stakeholder() -> None:
    events = [
        opened("a", "a@acme.com", job_title="Student"),
        opened("b", "b@acme.com", at(minutes=1)),
    ]
    assert scores(events, lead="b").intent == 0
    assert [c["to"] for c in account_changes(replay(events))] == ["cold"]


def test_a_warm_lead_makes_the_account_warm() -> None:
    webinars = []
    for i in range(3):
        e = ev("webinar.attended", at(minutes=i), lead=None)
        e["lead"] = person("a", "a@acme.com")
        webinars.append(e)
    change = account_changes(replay(webinars))[-1]
    assert (change["to"], change["reasons"], change["warm_leads"]) == ("warm", ["warm_lead"], ["a"])


def test_hot_lead_and_two_stakeholders_make_the_account_hot_with_an_alert() -> None:
    demo = form("demo_request", at(minutes=1), lead="b")
    demo["lead"]["email"] = "b@acme.com"
    records = replay([opened("a", "a@acme.com"), demo])
    change = account_changes(records)[-1]
    assert (change["to"], change["reasons"], change["hot_leads"]) == (
        "hot", ["hot_lead+stakeholders>=2"], ["b"],
    )  # fmt: skip
    alert = of_topic(records, "alerts.hot-account", "acme.com")[0]
    assert (alert["priority"], alert["caused_by_event_id"]) == ("P2", demo["event_id"])
    assert alert["respond_by"] == at(minutes=16)


def test_three_stakeholders_with_authority_make_the_account_hot() -> None:
    events = [opened("a", "a@acme.com", job_title="CFO"), opened("b", "b@acme.com", at(minutes=1)),
              opened("c", "c@acme.com", at(minutes=2))]  # fmt: skip
    change = account_changes(replay(events))[-1]
    assert (change["to"], change["reasons"], change["authority_engaged"]) == (
        "hot", ["stakeholders>=3+authority"], True,
    )  # fmt: skip


def test_a_stakeholder_window_ending_cools_the_account_by_time() -> None:
    events = [opened("a", "a@acme.com"), opened("b", "b@acme.com", at(minutes=1))]
    records = replay(events, until=at(days=45))
    changes = account_changes(records)
    assert [c["to"] for c in changes] == ["cold", "warm", "cold"]
    assert changes[-1]["occurred_at"] == at(days=30)[:-1] + ".000Z"
    assert (changes[-1]["caused_by_event_id"], changes[-1]["reasons"]) == (
        None, ["below_thresholds", "decay"],
    )  # fmt: skip


def test_a_lead_moving_to_another_account_leaves_the_old_one() -> None:
    events = [opened("a", "a@acme.com"), opened("b", "b@acme.com", at(minutes=1)),
              opened("b", "b@other.com", at(minutes=2))]  # fmt: skip
    records = replay(events)
    assert [c["to"] for c in account_changes(records)] == ["cold", "warm", "cold"]
    assert last(records, "b")["account_id"] == "acme.com"  # b's own temperature did not change
    assert temps(records, "b") == ["cold"]


def keys_read_by(event: dict) -> list[tuple[str, str]]:
    return Engine().keys_of(parsed(event))


def test_the_keys_an_event_reads_include_the_account_its_profile_names() -> None:
    assert keys_read_by(opened("a", "pat@acme.com")) == [("lead", "a"), ("account", "acme.com")]
    assert keys_read_by(opened("a", "pat@acme.com", account_id="acct-42"))[-1] == (
        "account",
        "acct-42",
    )


def test_the_keys_an_event_reads_leave_out_free_mail_domains() -> None:
    assert keys_read_by(opened("a", "pat@gmail.com")) == [("lead", "a")]


def test_an_account_alert_held_back_by_the_cooldown_is_reported_as_p2() -> None:
    # b's automatic-SQL window (6 hours here) ends, the account cools, b asks again.
    engine, store = Engine(rules(thresholds={"auto_sql_days": 0.25})), MemoryStore()
    demos = [form("demo_request", at(minutes=m), lead="b") for m in (1, 12 * 60)]
    for demo in demos:
        demo["lead"]["email"] = "b@acme.com"
    outcomes = [engine.apply(parsed(e), store) for e in (opened("a", "a@acme.com"), *demos)]
    assert outcomes[1].suppressed == []
    assert ("alerts.hot-account", "P2") in outcomes[2].suppressed


def test_rescheduling_an_account_moves_a_window_end_only_sooner() -> None:
    def window(days: float) -> Engine:
        return Engine(rules(accounts={"stakeholder_window_days": days}))

    account = AccountState(clock=DAY, members={"lead-1": Member(last_scored=DAY, temp="warm")})
    assert window(30).reschedule(account) and account.next_check == 31 * DAY
    # a longer window: the check at day 31 comes early, which only re-evaluates the account
    assert not window(60).reschedule(account) and account.next_check == 31 * DAY
    assert window(10).reschedule(account) and account.next_check == 11 * DAY


def test_a_lead_whose_late_event_names_the_account_counts_as_an_engaged_stakeholder() -> None:
    # Out of order: a download with no profile at 17:02, then the 17:00 webinar whose email
    # names the account, then another at 17:01. Every account record that lists the lead as
    # warm must count it as engaged: it has scored events within the window.
    download = form("case_study_download", "2026-10-05T17:02:00Z", lead="lead-1")
    webinar = ev("webinar.attended", "2026-10-05T17:00:00Z", lead=None)
    webinar["lead"] = person("lead-1", "pat@acme.com", job_title="Analyst", company_size=500,
                             industry="software", annual_revenue=50_000_000)  # fmt: skip
    second = ev("webinar.attended", "2026-10-05T17:01:00Z")
    changes = account_changes(replay([download, webinar, second]))
    assert changes, "the account was classified"
    assert [(c["warm_leads"], c["engaged_stakeholders"]) for c in changes] == [
        (c["warm_leads"], 1) for c in changes
    ]
    assert changes[-1]["warm_leads"] == ["lead-1"]


def test_a_lead_leaving_its_account_as_its_stakeholder_window_ends_leaves_it_cleanly() -> None:
    # Its window ends with the event that moves it: the account has already let it go.
    records = replay([opened("a", "pat@acme.com", "2026-10-05T09:00:00Z"),
                      opened("a", "pat@globex.com", "2026-11-04T09:00:00Z")])  # fmt: skip
    joined = account_changes(records, "globex.com")
    assert [(c["from"], c["engaged_stakeholders"]) for c in joined] == [(None, 1)]
