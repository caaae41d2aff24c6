"""Which partition owns which state."""

from __future__ import annotations

import orjson

from scoring import Engine, LeadState, parse_event
from streams.placement import lead_partition, partition_of


def event(profile: dict[str, str] | None = None) -> object:
    body = {"event_id": "e", "type": "email.opened", "occurred_at": "2026-10-05T09:00:00Z",
            "lead": {"id": "pat", **(profile or {})}}  # fmt: skip
    return parse_event(orjson.dumps(body), 2_000_000_000_000)


def test_an_owner_always_lands_on_the_same_partition_and_owners_spread() -> None:
    assert partition_of("acme.com", 8) == partition_of("acme.com", 8)
    assert {partition_of(f"acct{i}.example.com", 8) for i in range(100)} == set(range(8))


def test_a_lead_with_an_account_lives_on_the_accounts_partition() -> None:
    placed = lead_partition(Engine(), event({"email": "pat@acme.com"}), None, "pat", 8)  # type: ignore[arg-type]
    assert placed == partition_of("acme.com", 8)


def test_a_lead_without_an_account_lives_on_its_own() -> None:
    for e in (event(), event({"email": "pat@gmail.com"})):
        assert lead_partition(Engine(), e, None, "pat", 8) == partition_of("pat", 8)  # type: ignore[arg-type]


def test_a_lead_of_a_known_account_keeps_it_on_an_event_without_a_profile() -> None:
    state = LeadState(profile={"email": ["pat@acme.com", 0]})
    assert lead_partition(Engine(), event(), state, "pat", 8) == partition_of("acme.com", 8)  # type: ignore[arg-type]
