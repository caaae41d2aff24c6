"""`leadtemp tail`: the output topics as they are written, handed on record by record (one
readable, coloured line each: toolkit/views/records.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from scoring import (
    ACCOUNTS_TEMPERATURE,
    ALERTS_DEADLETTER,
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
    EVENTS_DEADLETTER,
    LEADS_TEMPERATURE,
)
from streams.plumbing.kafka_access import KafkaAccess, kafka_access
from streams.plumbing.settings import Connections

TAILED = (LEADS_TEMPERATURE, ALERTS_HOT_LEAD, ACCOUNTS_TEMPERATURE, ALERTS_HOT_ACCOUNT,
          EVENTS_DEADLETTER, ALERTS_DEADLETTER)  # fmt: skip


async def follow(
    kafka: KafkaAccess,
    topics: list[str],
    show: Callable[[str, dict[str, Any]], None],
    from_beginning: bool,
    stop: Callable[[], bool],
    topic_prefix: str = "",
) -> None:
    """Call `show(topic, value)` for every new record until `stop()`."""
    consumer = AIOKafkaConsumer(
        *(topic_prefix + t for t in topics),
        **kafka.client_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        while not stop():
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    try:
                        value = orjson.loads(r.value or b"null")
                    except orjson.JSONDecodeError:
                        value = {"reason": "not_json", "detail": repr(r.value[:80])}
                    if isinstance(value, dict):
                        show(r.topic[len(topic_prefix) :], value)
    finally:
        await consumer.stop()


def tail(
    settings: Connections,
    topics: list[str],
    show: Callable[[str, dict[str, Any]], None],
    from_beginning: bool,
    stop: Callable[[], bool],
) -> None:
    """`leadtemp tail`: `follow` the topics (default: every output and dead-letter topic)."""
    asyncio.run(follow(kafka_access(settings), topics or list(TAILED), show,
                       from_beginning, stop, settings.topic_prefix))  # fmt: skip
