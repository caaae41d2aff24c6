"""The worker's settings: flags over the environment over defaults, validated at start-up (an
error names the setting and its variable; streams/plumbing/settings.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr

from scoring import INPUT_TOPICS
from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections, settings_from

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
    "LEADTEMP_ROLE": "role",
    "LEADTEMP_HTTP_HOST": "http_host",
    "LEADTEMP_API_TOKEN": "api_token",
    "LEADTEMP_STATE_RETENTION_DAYS": "state_retention_days",
}


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
    http_host: str = Field(default="0.0.0.0", min_length=1)  # the interface it listens on
    # When set, /leads/ID and /accounts/ID (personal data) answer only requests bearing it;
    # /metrics and the probes stay open.
    api_token: SecretStr | None = Field(default=None, min_length=16)
    timer_interval_ms: int = Field(default=1000, ge=10, le=3_600_000)
    # "wall": decay downgrades when the wall clock passes them (production). "event": when the
    # latest occurred_at seen passes them, as `leadtemp replay` does — for feeding history
    # through the live pipeline and getting exactly the replay's records.
    clock: Literal["wall", "event"] = "wall"
    # A partition holding messages without progress for longer than this is stuck: /readyz
    # and /livez fail, leadtemp_partition_stuck is 1 (a healthy batch takes well under 1 s).
    stuck_after_s: float = Field(default=60.0, gt=0, le=86_400)
    # Which hops this process runs: the stateless ingest hop scales with the input
    # partitions, the score hop with the re-keyed topic's; "all" runs both in one process.
    role: Literal["all", "ingest", "score"] = "all"
    # How long a lead, account or visitor with no event is kept in Redis (streams/retention.py):
    # unset, the rules' longest window plus a margin; 0 keeps every state forever.
    state_retention_days: float | None = Field(default=None, ge=0)

    @property
    def ingests(self) -> bool:
        return self.role in ("all", "ingest")

    @property
    def scores(self) -> bool:
        return self.role in ("all", "score")

    @property
    def input_topics(self) -> list[str]:
        return [self.topic(t) for t in INPUT_TOPICS]


def worker_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """The worker's settings from its flags and the environment (SettingsError names the key)."""
    return settings_from(flags, environ, Settings, ENVIRONMENT)
