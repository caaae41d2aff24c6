"""The worker's batch logic against real Redis and Kafka, without Faust."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from scoring.engine import Engine, Outcome
from scoring.events import Event
from scoring.rules import Rules, rules_fingerprint, rules_from_mapping
from scoring.times import ms_from_rfc3339, rfc3339_from_ms
from streams.bundles import bundle
from streams.pipeline import PROCESSING_ERROR, Incoming, Pipeline
from streams.reindex import reschedule_if_rules_changed
from streams.settings import worker_settings
from streams.store import RedisState
from tests.conftest import Services
from tests.live import outputs

pytestmark = pytest.mark.services


class FailsOn(Engine):
    """An engine with a bug that shows on one event."""

    def __init__(self, event_id: str) -> None:
        super().__init__()
        self.bad = event_id

    def apply(self, event: Event, store: Any) -> Outcome:
        if event.event_id == self.bad:
            store.lead("lead-1").seen.append("garbage!")  # half-changed state, then the bug
            raise ZeroDivisionError("division by zero")
        return super().apply(event, store)


def message(i: int, event_id: str, offset: int) -> Incoming:
    value = orjson.dumps({"event_id": event_id, "type": "email.opened",
                          "occurred_at": f"2026-10-05T09:0{i}:00Z", "lead": {"id": "lead-1"}})  # fmt: skip
    return Incoming(value, b"lead-1", "by-lead", 0, offset, None)


@asynccontextmanager
async def connected(services: Services, prefix: str) -> AsyncIterator[Callable[[Engine], Pipeline]]:
    """Pipelines over real Redis and Kafka, one per engine asked for (as worker restarts)."""
    settings = worker_settings({"kafka_bootstrap_servers": services.kafka_bootstrap,
                              "redis_url": services.redis_url, "topic_prefix": prefix,
                              "redis_prefix": prefix}, {})  # fmt: skip
    redis = Redis.from_url(services.redis_url)
    producer = AIOKafkaProducer(bootstrap_servers=services.kafka_bootstrap)
    await producer.start()

    async def send(topic: str, key: bytes | None, value: bytes, ts: float | None,
                   partition: int | None) -> Any:  # fmt: skip
        return await producer.send(topic, key=key, value=value, partition=partition)

    try:
        yield lambda engine: Pipeline(settings, engine, RedisState(redis, prefix), send)
    finally:
        await producer.stop()
        await redis.aclose()


async def score_with(services: Services, prefix: str, engine: Engine, batch: list[Incoming]) -> Any:
    async with connected(services, prefix) as pipeline_of:
        pipeline = pipeline_of(engine)
        await pipeline.score(batch)
        await pipeline.drain()
        state = pipeline.state
        return await state.get("lead", "lead-1"), await state.applied_offsets(["by-lead:0"])


def test_an_event_the_engine_fails_on_is_dead_lettered_and_the_rest_applied(
    services: Services, topic_prefix: str
) -> None:
    batch = [message(1, "ok-1", 10), message(2, "boom", 11), message(3, "ok-2", 12)]
    lead, applied = asyncio.run(score_with(services, topic_prefix, FailsOn("boom"), batch))
    assert applied == {"by-lead:0": 12}
    assert len(lead.seen) == 2 and "garbage!" not in lead.seen  # nothing of the failed event
    letters = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)["events.deadletter"]]
    assert [(v["reason"], v["offset"]) for v in letters] == [(PROCESSING_ERROR, 11)]
    assert letters[0]["detail"] == "ZeroDivisionError: division by zero"


class StateThatFailsOn(RedisState):
    """A store with a bug outside the engine: batches that touch one lead fail to commit."""

    bad_lead = "lead-bad"

    async def run_batch(self, compute: Any, first_keys: Any, *args: Any, **kwargs: Any) -> Any:
        if ("lead", self.bad_lead) in set(first_keys):
            raise ValueError("cannot encode this state")
        return await super().run_batch(compute, first_keys, *args, **kwargs)


def opened(lead: str, event_id: str) -> bytes:
    return orjson.dumps({"event_id": event_id, "type": "email.opened",
                         "occurred_at": "2026-10-05T09:00:00Z", "lead": {"id": lead}})  # fmt: skip


def test_a_failure_outside_the_engine_dead_letters_only_the_events_that_cause_it(
    services: Services, topic_prefix: str
) -> None:
    # One bundle of four events; the store fails on every batch holding lead-bad's event.
    items = [(None, opened(lead, f"e{i}")) for i, lead in
             enumerate(["lead-1", "lead-bad", "lead-2", "lead-3"])]  # fmt: skip
    one = Incoming(bundle(items), None, "by-lead", 0, 9, None)

    async def run() -> tuple[Any, dict[str, int]]:
        async with connected(services, topic_prefix) as pipeline_of:
            pipeline = pipeline_of(Engine())
            pipeline.state = StateThatFailsOn(pipeline.state.redis, topic_prefix)
            await pipeline.score([one])
            await pipeline.drain()
            state = pipeline.state
            leads = {lead: await state.get("lead", lead) for lead in ("lead-1", "lead-2", "lead-3")}
            return leads, await state.applied_offsets(["by-lead:0"])

    leads, applied = asyncio.run(run())
    assert all(leads.values()) and applied == {"by-lead:0": 9}
    letters = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)["events.deadletter"]]
    assert [(v["reason"], v["detail"], v["offset"]) for v in letters] == [
        (PROCESSING_ERROR, "ValueError: cannot encode this state", 9)
    ]
    assert orjson.loads(base64.b64decode(letters[0]["original"]))["event_id"] == "e1"


def test_a_message_whose_forwarding_fails_is_dead_lettered_and_the_rest_forwarded(
    services: Services, topic_prefix: str
) -> None:
    from aiokafka.errors import MessageSizeTooLargeError

    from streams.bundles import unbundle

    batch = [Incoming(opened(f"lead-{i}", f"f{i}"), b"k", "events.email", 0, i, None)
             for i in range(6)]  # fmt: skip
    forwarded: list[bytes] = []

    async def run() -> None:
        async with connected(services, topic_prefix) as pipeline_of:
            pipeline = pipeline_of(Engine())
            send = pipeline.send

            async def refusing(topic: str, key: Any, value: bytes, *rest: Any) -> Any:
                if topic == pipeline.repartition_topic:
                    events = [v for _, v in unbundle(value) or []]
                    if any(b'"f4"' in v for v in events):
                        raise MessageSizeTooLargeError()  # a broker's answer: not an outage
                    forwarded.extend(events)
                return await send(topic, key, value, *rest)

            pipeline.send = refusing
            await pipeline.ingest(batch)

    asyncio.run(run())
    # (some more than once: bundles sent before the failing one are sent again with their
    # half; the score hop drops such repeats by event id)
    assert set(forwarded) == {m.value for m in batch if b'"f4"' not in m.value}
    letters = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)["events.deadletter"]]
    assert [(v["reason"], v["offset"], v["detail"][:24]) for v in letters] == [
        (PROCESSING_ERROR, 4, "MessageSizeTooLargeError")
    ]


def test_a_batch_already_applied_changes_nothing(services: Services, topic_prefix: str) -> None:
    batch = [message(1, "a", 5), message(2, "b", 6)]
    first, _ = asyncio.run(score_with(services, topic_prefix, Engine(), batch))
    again, applied = asyncio.run(score_with(services, topic_prefix, Engine(), batch))
    assert again == first and applied == {"by-lead:0": 6}
    assert len(outputs(services.kafka_bootstrap, topic_prefix)["leads.temperature"]) == 1


def test_lead_counts_by_temperature_are_kept_with_the_state(
    services: Services, topic_prefix: str
) -> None:
    batch = [message(1, "a", 5), message(2, "b", 6)]
    asyncio.run(score_with(services, topic_prefix, Engine(), batch))

    async def counts() -> dict[str, int]:
        redis = Redis.from_url(services.redis_url)
        try:
            return await RedisState(redis, topic_prefix).temperature_counts()
        finally:
            await redis.aclose()

    assert asyncio.run(counts()) == {"cold": 1}


def test_a_bundle_is_applied_whole_and_its_offset_is_the_fence(
    services: Services, topic_prefix: str
) -> None:
    events = [message(i, f"b{i}", 0).value for i in range(1, 4)]
    one = Incoming(bundle([(None, v) for v in events]), None, "by-lead", 0, 7, None)
    lead, applied = asyncio.run(score_with(services, topic_prefix, Engine(), [one]))
    assert applied == {"by-lead:0": 7} and len(lead.seen) == 3
    again, _ = asyncio.run(score_with(services, topic_prefix, Engine(), [one]))
    assert again == lead  # redelivered: nothing applied twice


def test_alerts_held_back_by_the_cooldown_are_counted_by_kind_and_priority(
    services: Services, topic_prefix: str
) -> None:
    # A 6-hour automatic-SQL window: the lead cools and asks again within the 24 h cooldown.
    engine = Engine(rules_from_mapping({"thresholds": {"auto_sql_days": 0.25}}))
    demos = [
        Incoming(orjson.dumps({"event_id": f"demo-{hour}", "type": "form.submitted",
                               "occurred_at": f"2026-10-05T{hour:02d}:00:00Z",
                               "lead": {"id": "lead-1"}, "form_kind": "demo_request"}),
                 b"lead-1", "by-lead", 0, offset, None)
        for offset, hour in enumerate((1, 13))
    ]  # fmt: skip
    labels = {"kind": "alerts.hot-lead", "priority": "P1"}
    before = REGISTRY.get_sample_value("leadtemp_alerts_suppressed_total", labels) or 0.0
    asyncio.run(score_with(services, topic_prefix, engine, demos))
    assert REGISTRY.get_sample_value("leadtemp_alerts_suppressed_total", labels) == before + 1


def test_a_worker_started_with_new_rules_downgrades_at_once_a_lead_they_no_longer_hold(
    services: Services, topic_prefix: str
) -> None:
    # Warm at a total of 24 a week ago: under the default rules it stays warm until the
    # total falls below 19, in ≈10 days; with warm_total 23 it left warm (below 21) days ago.
    week_ago = int(time.time() * 1000) - 7 * 86_400_000
    webinars = [
        Incoming(orjson.dumps({"event_id": f"w{i}", "type": "webinar.attended",
                               "occurred_at": rfc3339_from_ms(week_ago + i * 60_000),
                               "lead": {"id": "lead-1", "email": "pat@gmail.com"}}),
                 b"lead-1", "by-lead", 0, i, None)
        for i in range(3)
    ]  # fmt: skip
    stricter = rules_from_mapping({"thresholds": {"warm_total": 23}})

    async def run() -> tuple[int, int, Any]:
        async with connected(services, topic_prefix) as pipeline_of:
            first = pipeline_of(Engine())
            await reschedule_if_rules_changed(first.state, first.engine, Rules())
            await first.score(webinars)
            assert await first.tick() == 0  # nothing due under the rules it runs
            await first.drain()
            restarted = pipeline_of(Engine(stricter))
            await reschedule_if_rules_changed(restarted.state, restarted.engine, stricter)
            due = await restarted.tick()
            await restarted.drain()
            again = pipeline_of(Engine(stricter))
            await reschedule_if_rules_changed(again.state, again.engine, stricter)
            return due, await again.tick(), await again.state.get("lead", "lead-1")

    due, due_after_second_restart, lead = asyncio.run(run())
    assert (due, due_after_second_restart, lead.temp) == (1, 0, "cold")
    labels = {"version": "default", "fingerprint": rules_fingerprint(stricter)}
    assert REGISTRY.get_sample_value("leadtemp_rules_info", labels) == 1
    changes = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)["leads.temperature"]]
    assert [(c["from"], c["to"]) for c in changes] == [(None, "cold"), ("cold", "warm"),
                                                        ("warm", "cold")]  # fmt: skip
    assert changes[-1]["scores"]["total"] == pytest.approx(21, abs=0.01)
    assert ms_from_rfc3339(changes[-1]["occurred_at"]) < week_ago + 6 * 86_400_000


def test_a_worker_takes_over_the_re_index_when_the_claimant_dies_before_finishing(
    services: Services, topic_prefix: str
) -> None:
    rules = rules_from_mapping({"thresholds": {"warm_total": 23}})
    fingerprint = rules_fingerprint(rules)

    async def run() -> tuple[float, str | None]:
        async with connected(services, topic_prefix) as pipeline_of:
            pipeline = pipeline_of(Engine(rules))
            # Another worker claimed it, then died: its claim lapses after a second.
            assert await pipeline.state.claim_reschedule(fingerprint, seconds=1)
            claimed = time.monotonic()
            await asyncio.wait_for(
                reschedule_if_rules_changed(pipeline.state, pipeline.engine, rules, poll_s=0.1),
                timeout=30,
            )
            return time.monotonic() - claimed, await pipeline.state.rules_fingerprint()

    waited, recorded = asyncio.run(run())
    assert recorded == fingerprint
    assert waited >= 0.9  # not before the claim lapsed
