"""Removing a lead (a privacy deletion, or retention): what the engine does with its state and
its account."""

from __future__ import annotations

from scoring.engine import Engine
from scoring.store import MemoryStore
from tests.scoring.helpers import at, ev, form, parsed


def applied(*events: dict) -> tuple[Engine, MemoryStore]:
    engine, store = Engine(), MemoryStore()
    for e in events:
        engine.apply(parsed(e), store)
    return engine, store


def opened(lead: str, email: str, when: str) -> dict:
    e = ev("email.opened", when, lead=None)
    e["lead"] = {"id": lead, "email": email}
    return e


def test_a_forgotten_lead_has_no_state_and_nothing_due() -> None:
    assert applied(form("demo_request", lead="pat"))[1].pop_due(2**62) is not None  # a drop due
    engine, store = applied(form("demo_request", lead="pat"))

    records, removed = engine.forget("pat", store)

    assert removed is not None and removed.temp is not None
    assert store.lead("pat") is None and store.pop_due(2**62) is None
    assert records == []  # no account


def test_a_forgotten_lead_leaves_its_account_which_is_evaluated_again_without_it() -> None:
    engine, store = applied(opened("a", "a@acme.com", at()), opened("b", "b@acme.com", at(minutes=1)))
    assert store.account("acme.com").temp == "warm"  # two engaged stakeholders

    records, _ = engine.forget("b", store)

    assert list(store.account("acme.com").members) == ["a"]
    (change,) = [r.value for r in records if r.topic == "accounts.temperature"]
    assert (change["from"], change["to"], change["engaged_stakeholders"]) == ("warm", "cold", 1)
    assert change["reasons"][-1] == "lead_removed" and change["caused_by_event_id"] is None


def test_forgetting_a_lead_never_seen_changes_nothing() -> None:
    engine, store = applied(opened("a", "a@acme.com", at()))
    assert engine.forget("nobody", store) == ([], None)
    assert list(store.account("acme.com").members) == ["a"]
