"""Creating the topics leadtemp reads and writes (idempotent)."""

from __future__ import annotations

import contextlib
import time

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from scoring import (
    ALERTS_DEADLETTER,
    EVENTS_DEADLETTER,
    INPUT_TOPICS,
    OUTPUT_TOPICS,
    REPARTITION_TOPIC,
)
from streams.plumbing.settings import Connections


def all_topics(settings: Connections) -> list[str]:
    """Every topic of a deployment: inputs, the repartition topic, outputs, dead letters."""
    return [
        settings.topic(t)
        for t in (*INPUT_TOPICS, REPARTITION_TOPIC, *OUTPUT_TOPICS, EVENTS_DEADLETTER,
                  ALERTS_DEADLETTER)
    ]  # fmt: skip


def ensure_topics(
    bootstrap: str, names: list[str], partitions: int, timeout: float = 60.0
) -> list[str]:
    """Create the topics that do not exist yet and wait until the broker serves them all
    (a consumer group that joins before a new topic is in its metadata is not assigned it
    until its metadata next expires, minutes later). Returns the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was quicker
                admin.create_topics(
                    [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in missing]
                )
        deadline = time.monotonic() + timeout
        while not _all_served(admin, names):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics not served after {timeout:.0f}s: {', '.join(names)}")
            time.sleep(0.2)
        return missing
    finally:
        admin.close()


def _all_served(admin: KafkaAdminClient, names: list[str]) -> bool:
    """Every topic exists, with leaders for all its partitions."""
    try:
        described = admin.describe_topics(names)
    except KafkaError:
        return False
    return len(described) == len(names) and all(
        t["error_code"] == 0
        and t["partitions"]
        and all(p["leader_id"] >= 0 for p in t["partitions"])
        for t in described
    )


def partition_count(bootstrap: str, name: str) -> int:
    """How many partitions a topic has (it may predate the partitions setting)."""
    return partition_counts(bootstrap, [name])[name]


def partition_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    """How many partitions each of the topics that exist has."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        existing = set(admin.list_topics())
        # One topic a request: what names a description changed between kafka-python 2 and 3.
        return {n: len(admin.describe_topics([n])[0]["partitions"]) for n in names
                if n in existing}  # fmt: skip
    finally:
        admin.close()


def create_all(settings: Connections) -> list[tuple[str, bool]]:
    """`leadtemp topics create`: every topic of the deployment, and whether it was created."""
    names = all_topics(settings)
    created = ensure_topics(settings.kafka_bootstrap_servers, names, settings.partitions)
    return [(name, name in created) for name in names]
