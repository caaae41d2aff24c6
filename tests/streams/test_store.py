"""RedisState: a partition's batches, its fence, its outbox and its re-index, on a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from scoring import ACCOUNT, LEAD, VISITOR, AccountState, Engine, LeadState, Record, VisitorState
from scoring.rules import rules_from_mapping
from scoring.state import Member
from streams.batch import BatchStore, Outgoing, due_member
from streams.plumbing.clients import redis_client
from streams.plumbing.settings import Connections
from streams.store import Fenced, RedisState
from tests.conftest import Services

pytestmark = pytest.mark.services
DAY = 86_400_000
PARTITIONS = 4


async def connected(services: Services, prefix: str) -> tuple[Any, RedisState]:
    redis = redis_client(Connections(redis_url=services.redis_url))
    return redis, RedisState(redis, prefix, PARTITIONS)


def nothing(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
    return [], []


def passes_over(services: Services, prefix: str, first_key: tuple[str, str]) -> list[set[str]]:
    """Run one batch that reads `first_key` and what it points at; the accounts each pass saw."""
    passes: list[set[str]] = []

    def compute(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
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
        return [], []

    async def go() -> None:
        redis, state = await connected(services, prefix)
        try:
            k = state.keys
            await redis.set(k.state(0, VISITOR, "v-1"), VisitorState(lead="lead-1").to_bytes())
            await redis.set(k.state(0, LEAD, "lead-1"), LeadState(clock=1, account="acme.com").to_bytes())
            await redis.set(k.state(0, ACCOUNT, "acme.com"), AccountState(clock=1).to_bytes())
            epoch = await state.take_over(0)
            await state.run_batch(0, epoch, compute, [first_key], 1)
        finally:
            await redis.aclose()

    asyncio.run(go())
    return passes


def test_a_batch_reads_a_stored_leads_account_before_computing(
    services: Services, redis_prefix: str
) -> None:
    assert passes_over(services, redis_prefix, (LEAD, "lead-1")) == [{"acme.com"}]


def test_a_batch_reads_a_linked_visitors_lead_and_account_before_computing(
    services: Services, redis_prefix: str
) -> None:
    assert passes_over(services, redis_prefix, (VISITOR, "v-1")) == [{"acme.com"}]


def test_a_batch_of_an_earlier_owner_is_refused_and_writes_nothing(
    services: Services, redis_prefix: str
) -> None:
    def writes(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
        store.put_lead("lead-1", LeadState(clock=5))
        return [], []

    async def go() -> tuple[bool, int]:
        redis, state = await connected(services, redis_prefix)
        try:
            old = await state.take_over(3)
            await state.take_over(3)  # a new owner
            try:
                await state.run_batch(3, old, writes, [(LEAD, "lead-1")], 4)
            except Fenced:
                return True, await state.applied_offset(3)
            return False, await state.applied_offset(3)
        finally:
            await redis.aclose()

    assert asyncio.run(go()) == (True, -1)


def test_all_of_a_partitions_keys_share_one_cluster_slot_and_partitions_spread() -> None:
    from redis.crc import key_slot

    from streams.keys import Keys

    keys = Keys("lt:", 64)
    names = [keys.state(5, LEAD, "pat"), keys.state(5, ACCOUNT, "acme.com"), keys.due(5),
             keys.applied(5), keys.epoch(5), keys.outbox(5, "b1"), keys.outboxes(5),
             keys.moved(5, "pat"), keys.temperatures(5)]  # fmt: skip
    assert len({key_slot(n.encode()) for n in names}) == 1
    assert len({key_slot(keys.due(p).encode()) for p in range(64)}) == 64


def test_an_outbox_entry_gives_back_its_message() -> None:
    for message in (Outgoing("leads.temperature", b"pat", b'{"a":1}'),
                    Outgoing("leadtemp.events-by-lead", None, b"\x00\xff", 3)):  # fmt: skip
        assert Outgoing.from_bytes(message.to_bytes()) == message


def test_pending_outboxes_come_back_oldest_first_until_done(
    services: Services, redis_prefix: str
) -> None:
    def publishing(n: int) -> Any:
        def compute(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
            return [], [Outgoing("leads.temperature", None, f"{n}".encode())]

        return compute

    async def go() -> tuple[list[bytes], list[bytes]]:
        redis, state = await connected(services, redis_prefix)
        try:
            epoch = await state.take_over(1)
            first = await state.run_batch(1, epoch, publishing(1), [], 0)
            await state.run_batch(1, epoch, publishing(2), [], 1)  # (the same millisecond?)
            before = [o.value for _, out in await state.pending_outboxes(1) for o in out]
            assert first.outbox is not None
            await state.outbox_done(1, first.outbox)
            after = [o.value for _, out in await state.pending_outboxes(1) for o in out]
            return before, after
        finally:
            await redis.aclose()

    assert asyncio.run(go()) == ([b"1", b"2"], [b"2"])


def with_window(days: float) -> Engine:
    return Engine(rules_from_mapping({"accounts": {"stakeholder_window_days": days}}))


async def reschedule_under(
    services: Services, write_prefix: str, read_prefix: str, window_days: float
) -> tuple[tuple[int, int], float | None, AccountState]:
    """Store an account scheduled under a 30-day window at `write_prefix`, re-index
    `read_prefix` under `window_days`; (counts, its due time, the stored account)."""
    redis, writer = await connected(services, write_prefix)
    try:
        account = AccountState(clock=0, temp="warm", next_check=30 * DAY,
                               members={"a": Member(0, False, "warm", False)})  # fmt: skip
        await redis.set(writer.keys.state(0, ACCOUNT, "acme.com"), account.to_bytes())
        await redis.zadd(writer.keys.due(0), {due_member(ACCOUNT, "acme.com"): 30 * DAY})
        reader = RedisState(redis, read_prefix, PARTITIONS)
        counts = await reader.reschedule(0, await reader.take_over(0), with_window(window_days),
                                         "fp")  # fmt: skip
        due = await redis.zscore(writer.keys.due(0), due_member(ACCOUNT, "acme.com"))
        stored = AccountState.from_bytes(await redis.get(writer.keys.state(0, ACCOUNT, "acme.com")))
        return counts, due, stored
    finally:
        await redis.aclose()


def test_re_indexing_moves_an_accounts_window_end_to_the_new_rules(
    services: Services, redis_prefix: str
) -> None:
    counts, due, stored = asyncio.run(reschedule_under(services, redis_prefix, redis_prefix, 7))
    assert counts == (1, 1) and due == 7 * DAY and stored.next_check == 7 * DAY


def test_re_indexing_under_the_same_rules_moves_nothing(
    services: Services, redis_prefix: str
) -> None:
    counts, due, _ = asyncio.run(reschedule_under(services, redis_prefix, redis_prefix, 30))
    assert counts == (1, 0) and due == 30 * DAY


def test_re_indexing_reads_only_its_own_prefix_even_with_pattern_characters_in_it(
    services: Services, redis_prefix: str
) -> None:
    counts, due, _ = asyncio.run(
        reschedule_under(services, redis_prefix, redis_prefix.replace(":", "*:"), 7)
    )
    assert counts == (0, 0) and due == 30 * DAY
