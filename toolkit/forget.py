"""`leadtemp forget LEAD`: a privacy deletion. The request travels the pipeline as a FORGET
item (streams/bundles.py) to the partition that owns the lead, so the one writer of that state
removes it in order with the lead's events, in its transaction: the lead's state, its due
time, its place in its account; and, on their partitions, the visitors linked to it and the
pointers it left when it moved. Its owner then writes a record on `leads.forgotten` (the
lead's id and its account's, nothing of its profile), which this waits for."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from scoring import LEAD, LEADS_FORGOTTEN, REPARTITION_TOPIC, VISITOR
from streams.bundles import FORGET, Item, bundle
from streams.directory import mget
from streams.keys import Keys, glob_escape
from streams.layout import layout_of
from streams.placement import partition_of
from streams.plumbing.clients import redis_client
from streams.plumbing.kafka_access import kafka_access
from streams.plumbing.producers import PRODUCER_OPTIONS
from streams.plumbing.settings import Connections

SCAN_CHUNK = 1000


class NothingDeployed(RuntimeError):
    """No worker ever ran against this Redis: there is nothing to forget, nor an owner to ask."""


@dataclass(frozen=True)
class Request:
    lead_id: str
    request_id: str
    partition: int
    visitors: list[str]
    pointers: list[int]


async def linked_visitors(redis: Any, keys: Keys, lead_id: str) -> list[str]:
    """The visitors the directory links to the lead (a scan of the directory's visitor
    entries: a privacy deletion is rare, and no index of them per lead is worth its upkeep)."""
    pattern = glob_escape("{" + keys.prefix + "d") + "*}:" + VISITOR + ":*"
    found: list[str] = []
    names: list[bytes] = []

    async def check() -> None:
        values = await mget(redis, [n.decode() for n in names])
        mine = lead_id.encode()
        found.extend(n.decode().rsplit(f":{VISITOR}:", 1)[1]
                     for n, v in zip(names, values, strict=True) if v == mine)  # fmt: skip
        names.clear()

    async for name in redis.scan_iter(match=pattern, count=SCAN_CHUNK):
        names.append(name)
        if len(names) == SCAN_CHUNK:
            await check()
    if names:
        await check()
    return sorted(found)


async def request_of(settings: Connections, lead_id: str) -> Request:
    """Where the lead's state and what is linked to it are, as Redis says now."""
    redis = redis_client(settings)
    try:
        layout = await layout_of(redis, settings.redis_prefix)
        if layout is None:
            raise NothingDeployed(f"no leadtemp state under {settings.redis_prefix!r} in Redis")
        keys = Keys(settings.redis_prefix, layout.partitions)
        placed = await redis.get(keys.directory(LEAD, lead_id))
        partition = (int(placed.decode().split("|")[0]) if placed is not None
                     else partition_of(lead_id, layout.partitions))  # fmt: skip
        pointers = [p for p in range(layout.partitions)
                    if await redis.exists(keys.moved(p, lead_id))]  # fmt: skip
        visitors = await linked_visitors(redis, keys, lead_id)
    finally:
        await redis.aclose()
    return Request(lead_id, uuid.uuid4().hex, partition, visitors, pointers)


async def forget(settings: Connections, lead_id: str, wait_s: float = 60.0) -> dict[str, Any]:
    """Send the request to the lead's owner and return the `leads.forgotten` record it wrote;
    TimeoutError when no worker wrote it within `wait_s` (the request stays queued: a worker
    that starts later carries it out)."""
    request = await request_of(settings, lead_id)
    kafka = kafka_access(settings)
    out_topic = settings.topic(LEADS_FORGOTTEN)
    # Read from the start: the topic is compacted (one record per lead forgotten), and no
    # position is to be resolved before the request is sent.
    consumer = AIOKafkaConsumer(out_topic, **kafka.client_options(), group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    try:
        await _send(settings, request)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    value = orjson.loads(r.value or b"null")
                    if isinstance(value, dict) and value.get("request_id") == request.request_id:
                        return value
    finally:
        await consumer.stop()
    raise TimeoutError(
        f"no worker confirmed forgetting lead {lead_id!r} within {wait_s:g} s (request "
        f"{request.request_id} is queued on partition {request.partition} of the re-keyed topic)"
    )


async def _send(settings: Connections, request: Request) -> None:
    attachment = {"request": request.request_id, "at": int(time.time() * 1000),
                  "visitors": request.visitors, "pointers": request.pointers}  # fmt: skip
    item = Item(time.time(), FORGET, request.lead_id.encode(), attachment)
    producer = AIOKafkaProducer(**kafka_access(settings).client_options(), **PRODUCER_OPTIONS)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic(REPARTITION_TOPIC), bundle([item]),
                                     partition=request.partition)  # fmt: skip
    finally:
        await producer.stop()


def forget_lead(settings: Connections, lead_id: str, wait_s: float = 60.0) -> dict[str, Any]:
    return asyncio.run(forget(settings, lead_id, wait_s))

