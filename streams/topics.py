"""Creating the topics leadtemp reads and writes (idempotent)."""

from __future__ import annotations

import contextlib

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from scoring.records import EVENTS_DEADLETTER
from streams.settings import OUTPUT_TOPICS, REPARTITION_TOPIC, Settings


def all_topics(settings: Settings) -> list[str]:
    """Every topic of a deployment: inputs, the repartition topic, outputs, dead letters."""
    return [
        *settings.input_topics,
        settings.topic(REPARTITION_TOPIC),
        *(settings.topic(t) for t in OUTPUT_TOPICS),
        settings.topic(EVENTS_DEADLETTER),
    ]


def ensure_topics(bootstrap: str, names: list[str], partitions: int) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was quicker
                admin.create_topics(
                    [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in missing]
                )
        return missing
    finally:
        admin.close()
