"""Publishing to Kafka as a request waits for it: every message acknowledged by all in-sync
replicas (streams/plumbing/producers.py) within the timeout, or `Unavailable` (the request
is answered 503, and the sender retries)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from streams.plumbing.backoff import with_backoff
from streams.plumbing.kafka_access import KafkaAccess
from streams.plumbing.producers import PRODUCER_OPTIONS

log = logging.getLogger("leadtemp.gateway")

Message = tuple[str, bytes | None, bytes]  # topic, key, value
BATCH_FROM = 50  # messages in a request from which it is sent as batches of its own


class Unavailable(Exception):
    """Kafka did not acknowledge in time (or refused), or Redis did not answer: nothing may be
    promised, the sender is to retry."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(detail)
        self.service = service  # "kafka" or "redis"


class KafkaSink:
    def __init__(self, kafka: KafkaAccess, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.producer = AIOKafkaProducer(
            **kafka.client_options(), linger_ms=2, max_request_size=4 * 1024 * 1024,
            request_timeout_ms=int(timeout_s * 1000), **PRODUCER_OPTIONS,
        )  # fmt: skip
        self.started = asyncio.Event()
        # Kafka's default partitioner (murmur2 of the key, as Java clients place keyed records).
        self.partitioner = DefaultPartitioner()

    async def start(self) -> None:
        """Start the producer, waiting out a Kafka that is not there yet (requests meanwhile
        are answered 503)."""
        await with_backoff("starting the gateway's producer", self.producer.start, "kafka")
        self.started.set()

    async def stop(self) -> None:
        if self.started.is_set():
            await self.producer.stop()

    async def publish(self, messages: Sequence[Message]) -> None:
        """Every message acknowledged, or Unavailable. A message sent before the timeout may
        still land: a retried request then repeats events, which the worker drops by
        event_id."""
        if not self.started.is_set():
            raise Unavailable("kafka", "Kafka is not connected yet")

        async def send_all() -> None:
            if len(messages) < BATCH_FROM:  # the producer's linger merges these across requests
                await asyncio.gather(*[await self.producer.send(t, v, key=k)
                                       for t, k, v in messages])  # fmt: skip
                return
            # A large request's batches built here, one per partition (filled, then the next),
            # rather than a send() a message, aiokafka's per-message path.
            partitions: dict[str, list[int]] = {}
            batches: dict[tuple[str, int], Any] = {}
            sent = []
            for topic, key, value in messages:
                if topic not in partitions:
                    partitions[topic] = sorted(await self.producer.partitions_for(topic))
                every = partitions[topic]
                partition = self.partitioner(key, every, every)
                batch = batches.get((topic, partition))
                if batch is None:
                    batch = batches[(topic, partition)] = self.producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:  # full
                    sent.append(await self.producer.send_batch(batch, topic, partition=partition))
                    batch = batches[(topic, partition)] = self.producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            for (topic, partition), batch in batches.items():
                sent.append(await self.producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*sent)

        try:
            await asyncio.wait_for(send_all(), self.timeout_s)
        except (KafkaError, TimeoutError) as e:
            log.warning("Kafka did not acknowledge a request's events (%s)", type(e).__name__)
            raise Unavailable("kafka", str(e) or type(e).__name__) from None
