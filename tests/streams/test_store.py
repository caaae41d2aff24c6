"""RedisState's batches against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from scoring.engine import ACCOUNT, LEAD
from scoring.records import Record
from scoring.state import AccountState, LeadState, VisitorState
from streams.store import VISITOR, BatchStore, RedisState
from tests.conftest import Services

pytestmark = pytest.mark.services


def passes_over(services: Services, prefix: str, first_key: tuple[str, str]) -> list[set[str]]:
    """Run one batch that reads `first_key` and what it points at; the accounts each pass saw."""
    passes: list[set[str]] = []

    def compute(store: BatchStore, applied: dict[str, int]) -> list[Record]:
        kind, key = first_key
        lead_id = key
        if kind == VISITOR:
            visitor = store.visitor(key)
            assert visitor is not None and visitor.lead is not None
            lead_id = visitor.lead
        lead = store.lead(lead_id)
        seen = set()
        if lead is not None and lead.account is not None:
            seen = {lead.account} if store.account(lead.account) is not None else set()
        passes.append(seen)
        return []

    async def run() -> None:
        redis = Redis.from_url(services.redis_url)
        try:
            state = RedisState(redis, prefix)
            await redis.set(
                state.keys.state(VISITOR, "v-1"), VisitorState(lead="lead-1").to_bytes()
            )
            lead = LeadState(clock=1, account="acme.com")
            await redis.set(state.keys.state(LEAD, "lead-1"), lead.to_bytes())
            await redis.set(state.keys.state(ACCOUNT, "acme.com"), AccountState(clock=1).to_bytes())
            await state.run_batch(compute, [first_key], {"by-lead:0": 1})
        finally:
            await redis.aclose()

    asyncio.run(run())
    return passes


def test_a_batch_reads_a_stored_leads_account_before_computing(
    services: Services, topic_prefix: str
) -> None:
    assert passes_over(services, topic_prefix, (LEAD, "lead-1")) == [{"acme.com"}]


def test_a_batch_reads_a_linked_visitors_lead_and_account_before_computing(
    services: Services, topic_prefix: str
) -> None:
    assert passes_over(services, topic_prefix, (VISITOR, "v-1")) == [{"acme.com"}]
