"""Publishing to Kafka as a request waits for it: every message acknowledged by all in-sync
replicas (streams/plumbing/producers.py) within the timeout, or `Unavailable` (the request
is answered 503, and the sender retries)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.plumbing.backoff import with_backoff
from streams.plumbing.kafka_access import KafkaAccess
from streams.plumbing.producers import PRODUCER_OPTIONS

log = logging.getLogger("leadtemp.gateway")

Message = tuple[str, bytes | None, bytes]  # topic, key, value


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
            sent = [await self.producer.send(t, v, key=k) for t, k, v in messages]
            await asyncio.gather(*sent)

        try:
            await asyncio.wait_for(send_all(), self.timeout_s)
        except (KafkaError, TimeoutError) as e:
            log.warning("Kafka did not acknowledge a request's events (%s)", type(e).__name__)
            raise Unavailable("kafka", str(e) or type(e).__name__) from None
