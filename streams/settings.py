"""Worker settings from flags and the environment, validated at start-up (errors name the key)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

INPUT_TOPICS = ("events.email", "events.web", "events.webinar", "events.form")
REPARTITION_TOPIC = "leadtemp.events-by-lead"

# Environment variable -> setting name.
CONNECTION_ENVIRONMENT = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
    "REDIS_URL": "redis_url",
    "LEADTEMP_TOPIC_PREFIX": "topic_prefix",
    "LEADTEMP_REDIS_PREFIX": "redis_prefix",
    "LEADTEMP_PARTITIONS": "partitions",
}
ENVIRONMENT = {
    **CONNECTION_ENVIRONMENT,
    "LEADTEMP_RULES": "rules_path",
    "LEADTEMP_BATCH_SIZE": "batch_size",
    "LEADTEMP_BATCH_WITHIN_MS": "batch_within_ms",
    "LEADTEMP_GROUP_ID": "group_id",
    "LEADTEMP_METRICS_PORT": "metrics_port",
    "LEADTEMP_TIMER_INTERVAL_MS": "timer_interval_ms",
    "LEADTEMP_CLOCK": "clock",
    "LEADTEMP_STUCK_AFTER_S": "stuck_after_s",
}


S = TypeVar("S", bound="Connections")


class SettingsError(ValueError):
    """Start-up stops with this: which setting (and variable) is wrong, and why."""


class Connections(BaseModel):
    """Where Kafka and Redis are and how names are prefixed: shared by worker and notifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=1)
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", min_length=1)
    topic_prefix: str = ""
    # One hash tag for every key: batches are multi-key transactions, which Redis Cluster
    # allows within one slot, so the keyspace moves to a cluster unchanged.
    redis_prefix: str = "{lt}:"
    partitions: int = Field(default=4, ge=1, le=1024)  # of the topics it creates

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().removeprefix("kafka://").rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return value

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def broker_url(self) -> str:
        return ";".join(
            f"kafka://{s.strip().removeprefix('kafka://')}"
            for s in self.kafka_bootstrap_servers.split(",")
        )


class Settings(Connections):
    """Everything the worker needs to know; defaults suit `leadtemp dev up`."""

    rules_path: str | None = None
    batch_size: int = Field(default=500, ge=1, le=100_000)
    # How long the ingest agent waits for a batch to fill. 20 rather than 50 ms: p50 41-57
    # against 62-87 ms and p99 69-92 against 101-151 ms at 1,000 events/s on a warm broker,
    # for more, smaller batches (docs/performance.md: "The ingest window").
    batch_within_ms: int = Field(default=20, ge=1, le=60_000)
    group_id: str = Field(default="leadtemp-worker", min_length=1)
    metrics_port: int = Field(default=9108, ge=0, le=65535)  # 0: no HTTP server
    timer_interval_ms: int = Field(default=1000, ge=10, le=3_600_000)
    # "wall": decay downgrades when the wall clock passes them (production). "event": when the
    # latest occurred_at seen passes them, as `leadtemp replay` does — for feeding history
    # through the live pipeline and getting exactly the replay's records.
    clock: Literal["wall", "event"] = "wall"
    # A partition holding messages without progress for longer than this is stuck: /readyz
    # and /livez fail, leadtemp_partition_stuck is 1 (a healthy batch takes well under 1 s).
    stuck_after_s: float = Field(default=60.0, gt=0, le=86_400)

    @property
    def input_topics(self) -> list[str]:
        return [self.topic(t) for t in INPUT_TOPICS]


def settings_from(
    flags: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    model: type[S] = Settings,  # type: ignore[assignment]
    variables: Mapping[str, str] = ENVIRONMENT,
) -> S:
    """Flags win over the environment, which wins over defaults; SettingsError names the key."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {
        name: environ[var] for var, name in variables.items() if var in environ
    }
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return model.model_validate(values)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "(settings)"
        var = next((v for v, n in variables.items() if n == name), None)
        where = f"{name} ({var})" if var else name
        raise SettingsError(f"setting {where}: {first['msg']}") from None
