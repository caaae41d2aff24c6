"""The worker's two hops against a real Redis and Kafka, without Faust: input lines forwarded
by the ingest hop, then the re-keyed topic read and scored until it is quiet (what the score
hop sends on to other partitions included)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from scoring import REPARTITION_TOPIC, Engine
from streams.ingest import Forwarder, Router
from streams.messages import Incoming
from streams.plumbing.clients import redis_client
from streams.plumbing.kafka_access import kafka_access
from streams.plumbing.topics import all_topics, ensure_topics
from streams.publish import Publisher
from streams.score import Scorer
from streams.settings import Settings, worker_settings
from streams.store import RedisState
from tests.conftest import Services
from toolkit.produce import route_of


def settings_for(services: Services, prefix: str, partitions: int = 4, **more: Any) -> Settings:
    return worker_settings({"kafka_bootstrap_servers": services.kafka_bootstrap,
                            "redis_url": services.redis_url, "topic_prefix": prefix,
                            "redis_prefix": prefix.replace(".", ":"), "partitions": partitions,
                            **more}, {})  # fmt: skip


class Hops:
    def __init__(
        self, services: Services, prefix: str, engine: Engine | None = None, partitions: int = 4
    ) -> None:
        self.settings = settings_for(services, prefix, partitions)
        self.engine = engine or Engine()
        self.partitions = partitions
        self._offsets: dict[str, int] = {}

    async def __aenter__(self) -> Hops:
        s = self.settings
        await asyncio.to_thread(ensure_topics, kafka_access(s), all_topics(s),
                                self.partitions)  # fmt: skip
        self.redis = redis_client(s)
        self.producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
        await self.producer.start()
        self.state = RedisState(self.redis, s.redis_prefix, self.partitions)
        self.publisher = Publisher(s, self.state, self.send)
        self.scorer = Scorer(s, self.engine, self.state, self.publisher)
        self.forwarder = Forwarder(s, Router(self.engine, self.state.directory, self.partitions),
                                   self.publisher)  # fmt: skip
        rekeyed = s.topic(REPARTITION_TOPIC)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka_bootstrap_servers,
                                         enable_auto_commit=False, group_id=None)  # fmt: skip
        await self.consumer.start()
        self.tps = [TopicPartition(rekeyed, p) for p in range(self.partitions)]
        self.consumer.assign(self.tps)
        starts = await self.scorer.take_over(set(range(self.partitions)))
        for tp in self.tps:
            self.consumer.seek(tp, starts[tp.partition])
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                        ) -> None:  # fmt: skip
        await self.publisher.drain()
        await self.consumer.stop()
        await self.producer.stop()
        await self.redis.aclose()

    async def send(self, topic: str, key: bytes | None, value: bytes, ts: float | None,
                   partition: int | None) -> Any:  # fmt: skip
        return await self.producer.send(topic, value, key=key, partition=partition)

    async def ingest(self, lines: Sequence[bytes | None]) -> None:
        """Forward lines as messages of the input topics (the one their type says)."""
        batch = []
        for line in lines:
            topic = self.settings.topic(route_of(line or b"")[0])
            offset = self._offsets[topic] = self._offsets.get(topic, -1) + 1
            batch.append(Incoming(line, None, topic, 0, offset, None))
        await self.forwarder.ingest(batch)

    async def drain(self, idle_ms: int = 700) -> int:
        """Score the re-keyed topic until nothing more arrives; how many messages."""
        scored = 0
        while True:
            fetched = await self.consumer.getmany(*self.tps, timeout_ms=idle_ms)
            if not fetched:
                await self.publisher.drain()
                fetched = await self.consumer.getmany(*self.tps, timeout_ms=idle_ms)
                if not fetched:
                    return scored
            batch = [Incoming(r.value, r.key, r.topic, r.partition, r.offset, None)
                     for records in fetched.values() for r in records]  # fmt: skip
            await self.scorer.score(batch)
            scored += len(batch)

    async def run(self, lines: Sequence[bytes | None]) -> int:
        await self.ingest(lines)
        return await self.drain()
