"""A lead handed from one store to another when its account changes (the live worker keeps each
account's leads with the account: streams/placement.py): the records of the two stores, in
order, are those of one store."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine import Engine
from scoring.events import Event, parse_event
from scoring.records import Record
from scoring.store import MemoryStore
from scoring.times import ms_from_rfc3339
from tests.scoring.helpers import FAR_FUTURE, at, ev, form

NOW = ms_from_rfc3339(FAR_FUTURE)


def parsed(event: dict[str, Any]) -> Event:
    result = parse_event(orjson.dumps(event), NOW)
    assert not isinstance(result, str) and hasattr(result, "event_id")
    return result  # type: ignore[return-value]


def one_store(events: list[dict[str, Any]]) -> list[Record]:
    engine, store = Engine(), MemoryStore()
    return [r for e in events for r in engine.apply(parsed(e), store).records]


def two_stores(events: list[dict[str, Any]], home_of: dict[str | None, str]) -> list[Record]:
    """Each lead lives in the store of its account (`home_of`: account -> store name, None:
    no account); an event that moves it releases it from one and applies in the other."""
    engine = Engine()
    stores = {name: MemoryStore() for name in set(home_of.values())}
    where: dict[str, str] = {}
    records: list[Record] = []
    for raw in events:
        event = parsed(raw)
        lead = event.lead_id
        assert lead is not None
        state = stores[where[lead]].lead(lead) if lead in where else None
        target = home_of[engine.account_after(event, state)]
        if state is not None and not engine.is_repeat(event, state) and where[lead] != target:
            here = stores[where[lead]]
            released, state = engine.release(lead, event, here)
            records += released
            del here.leads[lead]
            here.schedule("lead", lead, None)
            stores[target].put_lead(lead, state)
            where[lead] = target
        where.setdefault(lead, target)  # a new lead starts where its account is
        records += engine.apply(event, stores[where[lead]]).records
    return records


def person(lead: str, email: str) -> dict[str, Any]:
    return {"id": lead, "email": email, "job_title": "VP Sales", "company_size": 500}


def with_profile(event: dict[str, Any], lead: str, email: str) -> dict[str, Any]:
    return {**event, "lead": person(lead, email)}


def test_a_lead_that_finds_its_account_gives_the_records_of_one_store() -> None:
    events = [
        form("demo_request", at(0), lead="pat"),  # no account yet: its own store
        with_profile(ev("webinar.attended", at(1)), "kim", "kim@acme.com"),
        with_profile(ev("email.clicked", at(40)), "pat", "pat@acme.com"),  # 40 days: pat cooled
        ev("email.opened", at(41), lead="pat"),
    ]
    home = {None: "own", "acme.com": "acme"}
    assert two_stores(events, home) == one_store(events)


def test_a_lead_that_changes_account_leaves_the_old_one_in_the_records_of_one_store() -> None:
    events = [
        with_profile(form("case_study_download", at(0)), "pat", "pat@acme.com"),
        with_profile(ev("webinar.attended", at(0, hours=1)), "kim", "kim@acme.com"),
        with_profile(ev("email.clicked", at(2)), "pat", "pat@globex.com"),  # pat changed jobs
        ev("email.opened", at(3), lead="pat"),
    ]
    home = {None: "own", "acme.com": "acme", "globex.com": "globex"}
    records = two_stores(events, home)
    assert records == one_store(events)
    acme = [r.value for r in records if r.topic == "accounts.temperature" and r.key == "acme.com"]
    assert acme[-1]["engaged_stakeholders"] == 1  # the old account lost its stakeholder


def test_a_repeated_event_does_not_move_the_lead() -> None:
    first = with_profile(form("demo_request", at(0)), "pat", "pat@acme.com")
    engine, store = Engine(), MemoryStore()
    engine.apply(parsed(first), store)
    state = store.lead("pat")
    assert state is not None and engine.is_repeat(parsed(first), state)


def test_the_account_after_an_event_is_the_latest_profiles() -> None:
    engine, store = Engine(), MemoryStore()
    engine.apply(parsed(with_profile(ev("email.opened", at(1)), "pat", "pat@acme.com")), store)
    state = store.lead("pat")
    older = with_profile(ev("email.opened", at(0)), "pat", "pat@globex.com")  # late, older
    newer = with_profile(ev("email.opened", at(2)), "pat", "pat@globex.com")
    assert engine.account_after(parsed(ev("email.opened", at(3), lead="pat")), state) == "acme.com"
    assert engine.account_after(parsed(older), state) == "acme.com"
    assert engine.account_after(parsed(newer), state) == "globex.com"
    assert engine.account_after(parsed(newer), None) == "globex.com"


KINDS = ["email.opened", "email.clicked", "webinar.attended", "form.demo_request",
         "form.case_study_download", "email.unsubscribed"]  # fmt: skip
DOMAINS = [None, "acme.com", "globex.com", "gmail.com"]  # None: no profile on the event


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 25))):
        lead = draw(st.sampled_from(["pat", "kim", "lee"]))
        kind = draw(st.sampled_from(KINDS))
        when = at(draw(st.floats(0, 120)))
        e = (form(kind.removeprefix("form."), when, lead=lead) if kind.startswith("form.")
             else ev(kind, when, lead=lead))  # fmt: skip
        e["event_id"] = f"h{i}"
        domain = draw(st.sampled_from(DOMAINS))
        if domain is not None:
            e["lead"] = person(lead, f"{lead}@{domain}")
        out.append(e)
    return out


@given(histories())
@settings(max_examples=200, deadline=None)
def test_any_history_split_over_stores_by_account_gives_the_records_of_one_store(
    events: list[dict[str, Any]],
) -> None:
    home = {None: "own", "acme.com": "acme", "globex.com": "globex"}
    assert two_stores(events, home) == one_store(events)
