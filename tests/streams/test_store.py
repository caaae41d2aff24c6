"""RedisState's batches against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from scoring.engine import Engine
from scoring.records import Record
from scoring.rules import rules_from_mapping
from scoring.state import ACCOUNT, LEAD, AccountState, LeadState, Member, VisitorState
from streams.store import VISITOR, BatchStore, RedisState, due_member
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


DAY = 86_400_000


def with_window(days: float) -> Engine:
    return Engine(rules_from_mapping({"accounts": {"stakeholder_window_days": days}}))


async def reschedule_under(
    services: Services, write_prefix: str, read_prefix: str, window_days: float
) -> tuple[tuple[int, int], float | None, AccountState]:
    """Store an account scheduled under a 30-day window at `write_prefix`, re-index
    `read_prefix` under `window_days`; (counts, its due time, the stored account)."""
    redis = Redis.from_url(services.redis_url)
    try:
        written, read = RedisState(redis, write_prefix), RedisState(redis, read_prefix)
        # one lead engaged on day 1, scheduled under a 30-day window
        account = AccountState(clock=DAY, members={"lead-1": Member(last_scored=DAY, temp="warm")})
        with_window(30).reschedule(account)
        await redis.set(written.keys.state(ACCOUNT, "acme.com"), account.to_bytes())
        await redis.zadd(written.keys.due, {due_member(ACCOUNT, "acme.com"): account.next_check})
        counts = await read.reschedule_all(with_window(window_days), "fingerprint")
        assert await read.rules_fingerprint() == "fingerprint"
        due = await redis.zscore(written.keys.due, due_member(ACCOUNT, "acme.com"))
        return counts, due, await written.get(ACCOUNT, "acme.com")
    finally:
        await redis.aclose()


def test_re_indexing_moves_an_accounts_window_end_to_the_new_rules(
    services: Services, topic_prefix: str
) -> None:
    counts, due, account = asyncio.run(reschedule_under(services, topic_prefix, topic_prefix, 10))
    assert counts == (1, 1)
    assert due == account.next_check == 11 * DAY


def test_re_indexing_under_the_same_rules_moves_nothing(
    services: Services, topic_prefix: str
) -> None:
    counts, due, _ = asyncio.run(reschedule_under(services, topic_prefix, topic_prefix, 30))
    assert counts == (1, 0) and due == 31 * DAY


def test_re_indexing_reads_only_its_own_prefix_even_with_pattern_characters_in_it(
    services: Services, topic_prefix: str
) -> None:
    # Unescaped, the pattern of "…[a]:" would match the keys of "…a:".
    counts, due, _ = asyncio.run(
        reschedule_under(services, f"{topic_prefix}a:", f"{topic_prefix}[a]:", 10)
    )
    assert counts == (0, 0) and due == 31 * DAY


def test_one_worker_at_a_time_claims_the_re_index_for_a_set_of_rules(
    services: Services, topic_prefix: str
) -> None:
    async def claims() -> list[bool]:
        redis = Redis.from_url(services.redis_url)
        try:
            state = RedisState(redis, topic_prefix)
            first = await state.claim_reschedule("aaaa")
            second = await state.claim_reschedule("aaaa")
            other_rules = await state.claim_reschedule("bbbb")
            await state.release_reschedule("aaaa")
            return [first, second, other_rules, await state.claim_reschedule("aaaa")]
        finally:
            await redis.aclose()

    assert asyncio.run(claims()) == [True, False, True, True]
