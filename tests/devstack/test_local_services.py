"""The services the suite runs against are real: a Kafka broker and a Redis server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from devstack.kafka_broker import kafka_answers, start_kafka
from devstack.processes import free_port, pid_alive
from devstack.redis_server import redis_answers, start_redis
from tests.conftest import Services

pytestmark = pytest.mark.services


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


async def produce_and_consume(bootstrap: str, topic: str, n: int) -> list[tuple[bytes, bytes, int]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(n):
            await producer.send(topic, key=f"lead-{i % 7}".encode(), value=f"v{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        group_id=f"g-{uuid.uuid4().hex[:8]}", enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    got: list[tuple[bytes, bytes, int]] = []
    try:
        async with asyncio.timeout(60):
            while len(got) < n:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    got.extend((r.key, r.value, r.partition) for r in records)
    finally:
        await consumer.stop()
    return got


def test_broker_round_trip_keeps_every_message_and_its_key(
    services: Services, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}roundtrip"
    create_topic(services.kafka_bootstrap, topic, partitions=4)
    got = asyncio.run(produce_and_consume(services.kafka_bootstrap, topic, 70))
    assert sorted(v for _, v, _ in got) == sorted(f"v{i}".encode() for i in range(70))
    assert all(k == f"lead-{int(v[1:]) % 7}".encode() for k, v, _ in got)


def test_broker_sends_one_key_to_one_partition_and_uses_several(
    services: Services, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}partitions"
    create_topic(services.kafka_bootstrap, topic, partitions=4)
    got = asyncio.run(produce_and_consume(services.kafka_bootstrap, topic, 70))
    partitions_of_key: dict[bytes, set[int]] = {}
    for key, _, partition in got:
        partitions_of_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_of_key.values())
    assert len({p for ps in partitions_of_key.values() for p in ps}) > 1


def test_redis_round_trip(services: Services, redis_prefix: str) -> None:
    client = redis.Redis.from_url(services.redis_url)
    try:
        client.hset(f"{redis_prefix}lead", mapping={"temp": "hot", "score": "53.2"})
        assert client.hgetall(f"{redis_prefix}lead") == {b"temp": b"hot", b"score": b"53.2"}
    finally:
        client.close()


def test_local_services_start_from_nothing_and_stop_leaving_nothing(tmp_path: Path) -> None:
    redis_p = start_redis(tmp_path / "redis", free_port())
    kafka_p = start_kafka(tmp_path / "kafka", free_port())
    try:
        assert redis_answers(redis_p.address)
        assert kafka_answers(kafka_p.address)
    finally:
        kafka_p.stop()
        redis_p.stop()
    assert not pid_alive(kafka_p.proc.pid) and not pid_alive(redis_p.proc.pid)
    assert not redis_answers(redis_p.address)
    assert not kafka_answers(kafka_p.address)
