"""Kafka clients that wait between failed metadata updates.

While a partition has no known leader (its broker is restarting), aiokafka 0.14's producer
asks for a metadata update and waits for nothing but that update, which fails at once while
the broker is down: a busy loop. With the worker's broker stopped, the worker spent its
main thread on it and logged ~2,000 ERROR lines a second (`Unable connect to node`, `Unable
to update metadata`; aio-libs/aiokafka#1155 reports the same missing backoff in the
consumer's fetcher). A client that spaces failed updates by its `retry_backoff_ms` (100 ms
by default) bounds every loop that waits on them, whichever it is.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient


class MetadataBackoffClient(AIOKafkaClient):  # type: ignore[misc]
    """aiokafka's client; a metadata update within retry_backoff of a failed one waits."""

    _failed_at = -math.inf  # monotonic time of the last failed update

    async def _metadata_update(self, cluster_metadata: Any, topics: Any) -> bool:
        wait = self._failed_at + self._retry_backoff - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        updated = bool(await super()._metadata_update(cluster_metadata, topics))
        self._failed_at = -math.inf if updated else time.monotonic()
        return updated


def with_metadata_backoff(client: AIOKafkaClient) -> AIOKafkaClient:
    """The client an aiokafka producer or consumer built itself, made a MetadataBackoffClient
    (same state: the subclass only overrides a method), before it starts."""
    client.__class__ = MetadataBackoffClient
    return client


class MetadataBackoffProducer(AIOKafkaProducer):  # type: ignore[misc]
    """aiokafka's producer with a MetadataBackoffClient."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with_metadata_backoff(self.client)
