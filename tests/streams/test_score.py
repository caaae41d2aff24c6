"""The score hop against a real Redis and Kafka, without Faust: state owned by partitions,
leads and visitors crossing from one owner to another, the fence, and what a failure costs."""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from scoring import LEAD, Engine, Rules, rules_fingerprint
from scoring.engine import Outcome
from scoring.events import Event
from scoring.rules import rules_from_mapping
from scoring.times import ms_from_rfc3339, rfc3339_from_ms
from streams.bundles import EVENT, Item, bundle
from streams.messages import PROCESSING_ERROR, Incoming
from streams.placement import partition_of
from streams.reindex import reindex
from streams.score import Scorer
from streams.store import RedisState
from streams.timer import Timer
from tests.conftest import Services
from tests.live import outputs
from tests.scoring.helpers import replay
from tests.streams.hops import Hops

pytestmark = pytest.mark.services
P = 4


def on(p: int, stem: str, taken: tuple[str, ...] = ()) -> str:
    """An id placed on partition `p`."""
    return next(i for n in itertools.count() if (i := f"{stem}{n}") not in taken
                and partition_of(i, P) == p)  # fmt: skip


def event(event_id: str, lead: str | None, when: str = "2026-10-05T09:00:00Z",
          kind: str = "email.opened", **more: Any) -> bytes:  # fmt: skip
    body: dict[str, Any] = {"event_id": event_id, "type": kind, "occurred_at": when, **more}
    if lead is not None:
        body["lead"] = {"id": lead, **body.pop("profile", {})}
    return orjson.dumps(body)


def by_key(records: list[tuple[str | None, dict[str, Any]]], id_field: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for key, value in records:
        out.setdefault(str(key), []).append(value[id_field])
    return out


def same_as_replay(services: Services, prefix: str, lines: list[bytes]) -> None:
    """The hops' records, per key and in order, are replay's (repeats dropped: at-least-once)."""
    expected = replay(lines)
    got = outputs(services.kafka_bootstrap, prefix)
    for topic, id_field in (("leads.temperature", "change_id"), ("alerts.hot-lead", "alert_id"),
                            ("accounts.temperature", "change_id")):  # fmt: skip
        want = by_key([(r.key, r.value) for r in expected if r.topic == topic], id_field)
        have = {k: list(dict.fromkeys(v)) for k, v in by_key(got[topic], id_field).items()}
        assert have == want, topic


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ------------------------------------------------------------------------------ ownership


def test_a_lead_that_finds_its_account_on_another_partition_moves_there_with_its_state(
    services: Services, topic_prefix: str
) -> None:
    account = "acct0.example.com"
    lead = on((partition_of(account, P) + 1) % P, "pat")  # placed by its own id at first
    lines = [
        event("e1", lead, kind="form.submitted", form_kind="demo_request"),
        event("e2", lead, "2026-10-05T09:01:00Z", profile={"email": f"pat@{account}"}),
        event("e3", lead, "2026-10-05T09:02:00Z", kind="email.clicked"),
    ]

    async def go() -> tuple[Any, Any, float]:
        before = REGISTRY.get_sample_value("leadtemp_moves_total") or 0.0
        async with Hops(services, topic_prefix) as hops:
            await hops.run(lines)
            placed = await hops.state.directory.leads([lead])
            return (placed[lead], await hops.state.get(LEAD, lead),
                    (REGISTRY.get_sample_value("leadtemp_moves_total") or 0.0) - before)  # fmt: skip

    placed, state, moves = run(go())
    assert placed == (partition_of(account, P), 1) and moves == 1
    assert state.account == account and state.moves == 1 and len(state.seen) == 3
    same_as_replay(services, topic_prefix, lines)


def test_a_lead_that_changes_account_leaves_the_old_one_and_joins_the_new(
    services: Services, topic_prefix: str
) -> None:
    old, new = "acme.com", "globex.com"  # on partitions 0 and 2
    lines = [
        event("a1", "kim", profile={"email": f"kim@{old}"}, kind="webinar.attended"),
        event("a2", "pat", "2026-10-05T09:01:00Z", profile={"email": f"pat@{old}"},
              kind="webinar.attended"),
        event("a3", "pat", "2026-10-06T09:00:00Z", profile={"email": f"pat@{new}"}),
        event("a4", "pat", "2026-10-06T09:01:00Z", kind="email.clicked"),
    ]  # fmt: skip
    run(_run(services, topic_prefix, lines))
    same_as_replay(services, topic_prefix, lines)
    accounts = outputs(services.kafka_bootstrap, topic_prefix)["accounts.temperature"]
    assert [v["engaged_stakeholders"] for k, v in accounts if k == old][-1] == 1


async def _run(services: Services, prefix: str, lines: list[bytes]) -> None:
    async with Hops(services, prefix) as hops:
        await hops.run(lines)


def test_a_visitor_linked_by_a_lead_on_another_partition_is_credited_to_it(
    services: Services, topic_prefix: str
) -> None:
    visitor = on(1, "v-")
    lead = on(3, "lead-")
    views = [event(f"pv{i}", None, f"2026-10-05T09:0{i}:00Z", "web.page_viewed",
                   visitor_id=visitor, page_category="pricing") for i in range(3)]  # fmt: skip
    link = event("sign-up", lead, "2026-10-05T09:05:00Z", "form.submitted",
                 form_kind="content_download", visitor_id=visitor)  # fmt: skip
    after = event("pv9", None, "2026-10-05T09:06:00Z", "web.page_viewed", visitor_id=visitor,
                  page_category="pricing")  # fmt: skip

    async def go() -> tuple[Any, Any]:
        async with Hops(services, topic_prefix) as hops:
            await hops.run(views)
            await hops.run([link])
            await hops.run([after])  # routed by the directory, straight to the lead
            return (await hops.state.directory.visitors([visitor]),
                    await hops.state.get(LEAD, lead))  # fmt: skip

    linked, state = run(go())
    assert linked == {visitor: lead}
    assert len(state.seen) == 5  # three held views, the sign-up, the view after
    same_as_replay(services, topic_prefix, [*views, link, after])


def test_an_event_routed_before_its_lead_moved_is_sent_on_to_it(
    services: Services, topic_prefix: str
) -> None:
    lead = on(1, "pat")
    moved = event("m1", lead, profile={"email": "pat@acme.com"})  # acme.com: partition 0
    late = event("m2", lead, "2026-10-05T09:01:00Z", kind="email.clicked")

    async def go() -> Any:
        async with Hops(services, topic_prefix) as hops:
            await hops.run([moved])
            # A message routed to the lead's first partition (a directory read before it moved).
            await hops.producer.send_and_wait(
                hops.tps[0].topic, bundle([Item(None, EVENT, late)]), partition=1
            )
            await hops.drain()
            return await hops.state.get(LEAD, lead)

    state = run(go())
    assert state.account == "acme.com" and len(state.seen) == 2
    same_as_replay(services, topic_prefix, [moved, late])


def test_a_worker_that_lost_its_partition_cannot_commit_a_batch_of_it(
    services: Services, topic_prefix: str
) -> None:
    lead = on(2, "lead-")
    msg = Incoming(event("f1", lead), None, "rekeyed", 2, 0, None)

    async def go() -> tuple[Any, float]:
        before = REGISTRY.get_sample_value("leadtemp_redis_retries_total", {"why": "raced"}) or 0
        async with Hops(services, topic_prefix) as hops:
            await hops.state.take_over(2)  # another worker was assigned partition 2
            await hops.scorer.score([msg])
            after = REGISTRY.get_sample_value("leadtemp_redis_retries_total", {"why": "raced"})
            return await hops.state.get(LEAD, lead), (after or 0) - before

    state, raced = run(go())
    assert state is None and raced == 1


# ------------------------------------------------------------------------------ failures


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


def message(i: int, event_id: str, offset: int, lead: str = "lead-1") -> Incoming:
    """A single event on the partition its lead is placed on."""
    return Incoming(event(event_id, lead, f"2026-10-05T09:0{i}:00Z"), lead.encode(), "rekeyed",
                    partition_of(lead, P), offset, None)  # fmt: skip


async def scored(services: Services, prefix: str, engine: Engine, batch: list[Incoming],
                 state_class: type[RedisState] = RedisState) -> tuple[Any, int]:  # fmt: skip
    async with Hops(services, prefix, engine) as hops:
        if state_class is not RedisState:
            hops.scorer.state = hops.publisher.state = state_class(
                hops.redis, hops.state.keys.prefix, hops.partitions
            )
        await hops.scorer.score(batch)
        await hops.publisher.drain()
        return await hops.state.get(LEAD, "lead-1"), await hops.state.applied_offset(0)


def test_an_event_the_engine_fails_on_is_dead_lettered_and_the_rest_applied(
    services: Services, topic_prefix: str
) -> None:
    batch = [message(1, "ok-1", 10), message(2, "boom", 11), message(3, "ok-2", 12)]
    lead, applied = run(scored(services, topic_prefix, FailsOn("boom"), batch))
    assert applied == 12
    assert len(lead.seen) == 2 and "garbage!" not in lead.seen  # nothing of the failed event
    letters = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)["events.deadletter"]]
    assert [(v["reason"], v["offset"]) for v in letters] == [(PROCESSING_ERROR, 11)]
    assert letters[0]["detail"] == "ZeroDivisionError: division by zero"


class StateThatFailsOn(RedisState):
    """A store with a bug outside the engine: batches that touch one lead fail to commit."""

    bad_lead = "lead-3"  # on partition 0, as lead-1

    async def run_batch(self, p: int, epoch: str, compute: Any, first_keys: Any, *args: Any,
                        **kwargs: Any) -> Any:  # fmt: skip
        if ("lead", self.bad_lead) in set(first_keys):
            raise ValueError("cannot encode this state")
        return await super().run_batch(p, epoch, compute, first_keys, *args, **kwargs)


def test_a_failure_outside_the_engine_dead_letters_only_the_events_that_cause_it(
    services: Services, topic_prefix: str
) -> None:
    # One bundle of four events; the store fails on every batch holding lead-3's event.
    leads = ["lead-1", "lead-3", on(0, "kim"), on(0, "lee")]
    items = [Item(None, EVENT, event(f"e{i}", lead)) for i, lead in enumerate(leads)]
    one = Incoming(bundle(items), None, "rekeyed", 0, 9, None)

    async def go() -> tuple[list[Any], int]:
        async with Hops(services, topic_prefix) as hops:
            hops.scorer.state = StateThatFailsOn(hops.redis, hops.state.keys.prefix, hops.partitions)
            await hops.scorer.score([one])
            await hops.publisher.drain()
            return ([await hops.state.get(LEAD, lead) for lead in leads],
                    await hops.state.applied_offset(0))  # fmt: skip

    states, applied = run(go())
    assert [s is not None for s in states] == [True, False, True, True] and applied == 9
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

    lines = [event(f"f{i}", f"lead-{i}") for i in range(6)]
    forwarded: list[bytes] = []

    async def go() -> None:
        async with Hops(services, topic_prefix) as hops:
            send = hops.publisher.send

            async def refusing(topic: str, key: Any, value: bytes, *rest: Any) -> Any:
                if topic == hops.forwarder.repartition_topic:
                    events = [item.value for item in unbundle(value) or []]
                    if any(b'"f4"' in v for v in events):
                        raise MessageSizeTooLargeError()  # a broker's answer: not an outage
                    forwarded.extend(events)
                return await send(topic, key, value, *rest)

            hops.publisher.send = refusing
            await hops.ingest(lines)

    run(go())
    # (some more than once: bundles sent before the failing one are sent again with their
    # half; the score hop drops such repeats by event id)
    assert set(forwarded) == {line for line in lines if b'"f4"' not in line}
    letters = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)["events.deadletter"]]
    assert [(v["reason"], v["detail"][:24]) for v in letters] == [
        (PROCESSING_ERROR, "MessageSizeTooLargeError")
    ]


# ------------------------------------------------------------------------------ batches


def test_a_batch_already_applied_changes_nothing(services: Services, topic_prefix: str) -> None:
    batch = [message(1, "a", 5), message(2, "b", 6)]
    first, _ = run(scored(services, topic_prefix, Engine(), batch))
    again, applied = run(scored(services, topic_prefix, Engine(), batch))
    assert again == first and applied == 6
    assert len(outputs(services.kafka_bootstrap, topic_prefix)["leads.temperature"]) == 1


def test_lead_counts_by_temperature_are_kept_with_the_state(
    services: Services, topic_prefix: str
) -> None:
    moved = [event("c1", on(1, "pat")), event("c2", on(1, "pat"), "2026-10-05T09:01:00Z",
                                              profile={"email": "pat@acme.com"})]  # fmt: skip

    async def go() -> dict[str, int]:
        async with Hops(services, topic_prefix) as hops:
            await hops.run([event("c0", "lead-1"), *moved])
            return await hops.state.temperature_counts()

    assert run(go()) == {"cold": 2}  # the moved lead counted once, where it lives


def test_a_bundle_is_applied_whole_and_its_offset_is_the_fence(
    services: Services, topic_prefix: str
) -> None:
    items = [Item(None, EVENT, message(i, f"b{i}", 0).value or b"") for i in range(1, 4)]
    one = Incoming(bundle(items), None, "rekeyed", 0, 7, None)
    lead, applied = run(scored(services, topic_prefix, Engine(), [one]))
    assert applied == 7 and len(lead.seen) == 3
    again, _ = run(scored(services, topic_prefix, Engine(), [one]))
    assert again == lead  # redelivered: nothing applied twice


def test_alerts_held_back_by_the_cooldown_are_counted_by_kind_and_priority(
    services: Services, topic_prefix: str
) -> None:
    # A 6-hour automatic-SQL window: the lead cools and asks again within the 24 h cooldown.
    engine = Engine(rules_from_mapping({"thresholds": {"auto_sql_days": 0.25}}))
    demos = [
        Incoming(event(f"demo-{hour}", "lead-1", f"2026-10-05T{hour:02d}:00:00Z",
                       "form.submitted", form_kind="demo_request"), b"lead-1", "rekeyed", 0,
                 offset, None)
        for offset, hour in enumerate((1, 13))
    ]  # fmt: skip
    labels = {"kind": "alerts.hot-lead", "priority": "P1"}
    before = REGISTRY.get_sample_value("leadtemp_alerts_suppressed_total", labels) or 0.0
    run(scored(services, topic_prefix, engine, demos))
    assert REGISTRY.get_sample_value("leadtemp_alerts_suppressed_total", labels) == before + 1


# ------------------------------------------------------------------------------ rules


def test_a_worker_started_with_new_rules_downgrades_at_once_a_lead_they_no_longer_hold(
    services: Services, topic_prefix: str
) -> None:
    # Warm at a total of 24 a week ago: under the default rules it stays warm until the
    # total falls below 19, in ≈10 days; with warm_total 23 it left warm (below 21) days ago.
    week_ago = int(time.time() * 1000) - 7 * 86_400_000
    webinars = [
        Incoming(event(f"w{i}", "lead-1", rfc3339_from_ms(week_ago + i * 60_000),
                       "webinar.attended", profile={"email": "pat@gmail.com"}), b"lead-1",
                 "rekeyed", 0, i, None)
        for i in range(3)
    ]  # fmt: skip
    stricter = rules_from_mapping({"thresholds": {"warm_total": 23}})

    async def go() -> tuple[int, int, Any]:
        async with Hops(services, topic_prefix) as first:
            await reindex(first.scorer, first.engine, Rules())
            await first.scorer.score(webinars)
            assert await Timer(first.scorer).tick() == 0  # nothing due under the rules it runs
        async with Hops(services, topic_prefix, Engine(stricter)) as restarted:
            await reindex(restarted.scorer, restarted.engine, stricter)
            due = await Timer(restarted.scorer).tick()
        async with Hops(services, topic_prefix, Engine(stricter)) as again:
            await reindex(again.scorer, again.engine, stricter)
            return due, await Timer(again.scorer).tick(), await again.state.get(LEAD, "lead-1")

    due, due_after_second_restart, lead = run(go())
    assert (due, due_after_second_restart, lead.temp) == (1, 0, "cold")
    changes = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)["leads.temperature"]]
    assert [(c["from"], c["to"]) for c in changes] == [(None, "cold"), ("cold", "warm"),
                                                        ("warm", "cold")]  # fmt: skip
    assert changes[-1]["scores"]["total"] == pytest.approx(21, abs=0.01)
    assert ms_from_rfc3339(changes[-1]["occurred_at"]) < week_ago + 6 * 86_400_000


def test_a_tick_with_nothing_due_does_not_wait_for_a_batch_in_progress(
    services: Services, topic_prefix: str
) -> None:
    async def go() -> int:
        async with Hops(services, topic_prefix) as hops:
            await hops.run([event("k1", "kim")])
            async with hops.scorer.lock, asyncio.timeout(10):  # a batch holds the lock
                return await Timer(hops.scorer).tick()

    assert run(go()) == 0


def test_each_partition_records_the_rules_its_due_times_were_set_under(
    services: Services, topic_prefix: str
) -> None:
    rules = rules_from_mapping({"thresholds": {"warm_total": 23}})

    async def go() -> list[str | None]:
        async with Hops(services, topic_prefix, Engine(rules)) as hops:
            await reindex(hops.scorer, hops.engine, rules)
            return [await hops.state.rules_fingerprint(p) for p in range(P)]

    assert run(go()) == [rules_fingerprint(rules)] * P


def test_a_partition_kept_through_a_rebalance_resumes_after_what_is_applied(
    services: Services, topic_prefix: str
) -> None:
    async def go() -> tuple[dict[int, int], dict[int, int]]:
        async with Hops(services, topic_prefix) as hops:
            await hops.run([event("k1", "kim"), event("k2", "kim", "2026-10-05T09:01:00Z")])
            p = partition_of("kim", P)
            applied = await hops.state.applied_offset(p)
            return await hops.scorer.resume_points({p}), {p: applied + 1}

    resumed, after_applied = run(go())
    assert resumed == after_applied


def test_a_refused_commit_leaves_an_epoch_taken_again_meanwhile() -> None:
    scorer = Scorer.__new__(Scorer)
    scorer.epochs = {2: "7"}  # taken over again (epoch 7) while a batch under 6 was in flight
    scorer.fenced(2, "6")
    assert scorer.epochs == {2: "7"}
    scorer.fenced(2, "7")
    assert scorer.epochs == {}
