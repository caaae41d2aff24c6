"""`leadtemp rebuild`: the workers' state in Redis recomputed from the input topics, after Redis
lost it (no append-only file, a new cluster), with the workers stopped.

- What is recomputed: every event the ingest hop had routed (the input topics up to its
  consumer group's committed offsets), in the order `leadtemp export` gives, by the engine
  `leadtemp replay` runs, then the downgrades due by now. The states are written where the
  workers look for them (streams/keys.py: each on its owner's partition, the directory, the
  due index, the temperature counts), the re-keyed topic's partitions marked applied up to
  their ends, and the layout last (a rebuild cut short leaves no layout: run it again with
  `--replace`).
- Handing over: the workers, started again, score the re-keyed topic from its end and the
  ingest hop routes from its committed offsets, so every event is applied once: those the
  rebuild covered are not read again, the rest are routed as usual.
- What is published: only what the outputs do not reflect yet. Ids are deterministic, so per
  key (lead, account) and output topic the records after the last one the topic holds are
  the ones the lost Redis had not published (its outbox went with it); alerts older than the
  alert topics' retention are not raised again. Records already out are never sent twice,
  so the notifier (whose ledger was in the lost Redis too) delivers nothing twice.
- Leads forgotten on request (`leads.forgotten`) stay forgotten: a lead with no event after
  its request is removed again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from scoring import (
    ACCOUNT,
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
    EVENTS_DEADLETTER,
    LEAD,
    LEADS_FORGOTTEN,
    OUTPUT_TOPICS,
    REPARTITION_TOPIC,
    VISITOR,
    Engine,
    MemoryStore,
    Record,
    Replay,
    Rules,
    ms_from_rfc3339,
    rules_fingerprint,
)
from streams.batch import due_member
from streams.ingest import committed_offsets, ingest_group
from streams.keys import Keys, glob_escape
from streams.layout import ensure_layout, layout_of
from streams.placement import partition_of
from streams.plumbing.clients import redis_client
from streams.plumbing.clock import now_ms
from streams.plumbing.kafka_access import KafkaAccess, kafka_access
from streams.plumbing.producers import PRODUCER_OPTIONS
from streams.plumbing.topics import ALERT_RETENTION_DAYS, DAY_MS, group_members, partition_counts
from streams.settings import Settings
from toolkit.export import assigned_consumer, export_events

WRITES_AT_ONCE = 1000


class RebuildRefused(RuntimeError):
    """The rebuild would not be safe now (workers running, state in Redis): why."""


@dataclass
class Rebuilt:
    events: int = 0
    states: Counter[str] = field(default_factory=Counter)  # by kind
    published: Counter[str] = field(default_factory=Counter)  # by output topic
    already_out: int = 0  # records the outputs held already


async def rebuild(settings: Settings, rules: Rules, replace: bool = False) -> Rebuilt:
    kafka = kafka_access(settings)
    await _refuse_while_workers_run(kafka, [settings.group_id, ingest_group(settings)])
    rekeyed = settings.topic(REPARTITION_TOPIC)
    counts = await asyncio.to_thread(partition_counts, kafka, [rekeyed])
    if rekeyed not in counts:
        raise RebuildRefused(f"topic {rekeyed} does not exist: no worker ever ran here")
    partitions = counts[rekeyed]
    redis = redis_client(settings, timeout_s=30)
    try:
        await _make_room(redis, settings.redis_prefix, replace)
        routed = await committed_offsets(settings, ingest_group(settings))
        until = {(tp.topic, tp.partition): o for tp, o in routed.items()}
        lines: list[bytes] = []
        await export_events(kafka, settings.input_topics, lines.append, until=until)
        now = now_ms()
        replay = Replay(Engine(rules), now + 10 * 60_000)  # the worker's allowance for clocks
        records = replay.feed_lines(list(enumerate(lines, 1)))
        records += replay.finish(now if settings.clock == "wall" else None)
        summary = Rebuilt(events=replay.summary.events)
        prefix = settings.topic_prefix
        published = await _published(kafka, [settings.topic(t) for t in OUTPUT_TOPICS], prefix)
        forgotten = await _published(kafka, [settings.topic(LEADS_FORGOTTEN)], prefix)
        _forget_again(replay.engine, replay.store, forgotten)
        fresh = unpublished([r for r in records if r.topic != EVENTS_DEADLETTER], published, now)
        summary.already_out = sum(r.topic in OUTPUT_TOPICS for r in records) - len(fresh)
        ends = await _end_offsets(kafka, rekeyed)
        summary.states = await _write_states(
            redis, settings.redis_prefix, partitions, replay.store, ends, rules_fingerprint(rules)
        )
        await _publish(kafka, settings, fresh)
        summary.published = Counter(r.topic for r in fresh)
        return summary
    finally:
        await redis.aclose()


# ------------------------------------------------------------------ what is published


@dataclass
class Published:
    """What an output topic holds: the ids, and per key the last record's id and time."""

    ids: set[str] = field(default_factory=set)
    last: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    values: list[dict[str, Any]] = field(default_factory=list)


def record_id(value: dict[str, Any]) -> str:
    return str(value.get("change_id") or value.get("alert_id") or value.get("forgotten_id"))


def unpublished(records: Iterable[Record], published: Published, now: int) -> list[Record]:
    """The records the outputs do not reflect: per (topic, key), those after the last one the
    topic holds (by id; when that id is not among them, those that occurred after it), none
    already out; and no alert older than the alert topics' retention."""
    oldest_alert = now - ALERT_RETENTION_DAYS * DAY_MS
    by_key: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        by_key.setdefault((r.topic, str(r.key)), []).append(r)
    fresh: list[Record] = []
    for key, rs in by_key.items():
        last = published.last.get(key)
        ids = [record_id(r.value) for r in rs]
        if last is None:
            after = rs
        elif last[0] in ids:
            after = rs[len(ids) - ids[::-1].index(last[0]) :]
        else:
            after = [r for r in rs if ms_from_rfc3339(r.value["occurred_at"]) > last[1]]
        fresh += [r for r in after if record_id(r.value) not in published.ids and not (
            r.topic in (ALERTS_HOT_LEAD, ALERTS_HOT_ACCOUNT)
            and ms_from_rfc3339(r.value["occurred_at"]) < oldest_alert)]  # fmt: skip
    order = {id(r): i for i, r in enumerate(records)}
    return sorted(fresh, key=lambda r: order[id(r)])


async def _published(kafka: KafkaAccess, topics: list[str], prefix: str) -> Published:
    """Every record the topics hold now, read up to their ends."""
    out = Published()
    async with assigned_consumer(kafka, topics) as (consumer, partitions):
        if not partitions:
            return out
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, starts[tp])
        unread = {tp for tp in partitions if starts[tp] < ends[tp]}
        while unread:
            for tp, batch in (await consumer.getmany(*unread, timeout_ms=1000)).items():
                for r in batch:
                    if r.offset >= ends[tp] or r.value is None:
                        continue
                    value = orjson.loads(r.value)
                    rid = record_id(value)
                    out.ids.add(rid)
                    out.values.append(value)
                    at = ms_from_rfc3339(value.get("occurred_at") or value["requested_at"])
                    key = r.key.decode() if r.key is not None else "None"
                    out.last[(tp.topic[len(prefix) :], key)] = (rid, at)
            unread = {tp for tp in unread if await consumer.position(tp) < ends[tp]}
    return out


def _forget_again(engine: Engine, store: MemoryStore, forgotten: Published) -> None:
    """Leads forgotten on request that had no event since: forgotten again."""
    for value in forgotten.values:
        lead = store.lead(value["lead_id"])
        if lead is not None and lead.clock <= ms_from_rfc3339(value["requested_at"]):
            engine.forget(value["lead_id"], store)
            for visitor_id, visitor in list(store.visitors.items()):
                if visitor.lead == value["lead_id"]:
                    del store.visitors[visitor_id]


async def _publish(kafka: KafkaAccess, settings: Settings, records: list[Record]) -> None:
    if not records:
        return
    producer = AIOKafkaProducer(**kafka.client_options(), linger_ms=5, **PRODUCER_OPTIONS)
    await producer.start()
    try:
        for r in records:
            await producer.send(settings.topic(r.topic), orjson.dumps(r.value),
                                key=r.key.encode() if r.key is not None else None)  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()


# ------------------------------------------------------------------ Redis


async def _make_room(redis: Any, prefix: str, replace: bool) -> None:
    """Refuse to write over state, unless `replace`: then delete the workers' keys."""
    patterns = [glob_escape("{" + prefix + kind) + "*" for kind in ("p", "d")]
    if not replace:
        if await layout_of(redis, prefix) is not None:
            raise RebuildRefused(
                f"Redis holds leadtemp state under {prefix!r}: rebuild writes only into an empty "
                "one (--replace deletes the workers' keys there first)"
            )
        return
    keys = Keys(prefix, 1)
    await redis.delete(keys.layout)
    for pattern in patterns:
        names: list[Any] = []
        async for name in redis.scan_iter(match=pattern, count=1000):
            names.append(name)
            if len(names) >= WRITES_AT_ONCE:
                await _delete(redis, names)
                names = []
        await _delete(redis, names)


async def _delete(redis: Any, names: list[Any]) -> None:
    if names:
        pipe = redis.pipeline(transaction=False)
        for name in names:
            pipe.delete(name)
        await pipe.execute()


async def _write_states(
    redis: Any, prefix: str, partitions: int, store: MemoryStore, ends: dict[int, int],
    fingerprint: str,
) -> Counter[str]:  # fmt: skip
    keys = Keys(prefix, partitions)
    writes: list[tuple[str, tuple[Any, ...]]] = []
    temperatures: dict[int, Counter[str]] = {p: Counter() for p in range(partitions)}
    for lead_id, lead in store.leads.items():
        p = partition_of(lead.account or lead_id, partitions)
        writes += [("set", (keys.state(p, LEAD, lead_id), lead.to_bytes())),
                   ("set", (keys.directory(LEAD, lead_id), f"{p}|{lead.moves}"))]  # fmt: skip
        if lead.next_drop is not None:
            writes.append(("zadd", (keys.due(p), {due_member(LEAD, lead_id): lead.next_drop})))
        if lead.temp is not None:
            temperatures[p][lead.temp] += 1
    for account_id, account in store.accounts.items():
        p = partition_of(account_id, partitions)
        writes.append(("set", (keys.state(p, ACCOUNT, account_id), account.to_bytes())))
        if account.next_check is not None:
            due = {due_member(ACCOUNT, account_id): account.next_check}
            writes.append(("zadd", (keys.due(p), due)))
    for visitor_id, visitor in store.visitors.items():
        p = partition_of(visitor_id, partitions)
        writes.append(("set", (keys.state(p, VISITOR, visitor_id), visitor.to_bytes())))
        if visitor.lead is not None:
            writes.append(("set", (keys.directory(VISITOR, visitor_id), visitor.lead)))
    for p in range(partitions):
        if ends.get(p, 0) > 0:
            writes.append(("set", (keys.applied(p), ends[p] - 1)))
        writes.append(("set", (keys.rules(p), fingerprint)))
        if temperatures[p]:
            writes.append(("hset", (keys.temperatures(p), None, None, dict(temperatures[p]))))
    for i in range(0, len(writes), WRITES_AT_ONCE):
        pipe = redis.pipeline(transaction=False)
        for command, args in writes[i : i + WRITES_AT_ONCE]:
            getattr(pipe, command)(*args)
        await pipe.execute()
    await ensure_layout(redis, prefix, partitions)  # last: the state is complete
    return Counter({LEAD: len(store.leads), ACCOUNT: len(store.accounts),
                    VISITOR: len(store.visitors)})  # fmt: skip


# ------------------------------------------------------------------ Kafka


async def _refuse_while_workers_run(kafka: KafkaAccess, groups: list[str]) -> None:
    members = await asyncio.to_thread(group_members, kafka, groups)
    for group, n in members.items():
        if n:
            raise RebuildRefused(
                f"consumer group {group} has {n} members: stop every worker before rebuilding "
                "(a running one would write into the state being rebuilt)"
            )


async def _end_offsets(kafka: KafkaAccess, topic: str) -> dict[int, int]:
    async with assigned_consumer(kafka, [topic]) as (consumer, partitions):
        return {tp.partition: o for tp, o in (await consumer.end_offsets(partitions)).items()}


def rebuild_state(settings: Settings, rules: Rules, replace: bool = False) -> Rebuilt:
    return asyncio.run(rebuild(settings, rules, replace))
