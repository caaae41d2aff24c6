"""Prometheus metrics of the worker. Labels take bounded values only: never lead ids or emails."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from streams.plumbing.backoff import counted_backoff

EVENTS = Counter("leadtemp_events_total", "Input events consumed", ["channel", "type"])
DEAD_LETTERS = Counter("leadtemp_dead_letters_total", "Messages dead-lettered", ["reason"])
DUPLICATES = Counter("leadtemp_duplicates_total", "Redelivered events skipped", ["kind"])
BATCH_SIZE = Histogram(
    "leadtemp_batch_size",
    "Events per scoring batch",
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000),
)
BATCH_SECONDS = Histogram(
    "leadtemp_batch_seconds",
    "Time to score and store one batch",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LATENCY = Histogram(
    "leadtemp_end_to_end_seconds",
    "Input record timestamp to output record produced",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TRANSITIONS = Counter("leadtemp_transitions_total", "Lead temperature changes", ["from_", "to"])
ALERTS = Counter("leadtemp_alerts_total", "Alerts raised", ["kind", "priority"])
ALERTS_SUPPRESSED = Counter(
    "leadtemp_alerts_suppressed_total", "Alerts held back by the cooldown", ["kind", "priority"]
)
REDIS_RETRIES = Counter(
    "leadtemp_redis_retries_total",
    "Batches computed again (why=state_not_read: states found missing while computing) or "
    "dropped (why=raced: another worker owns the partition now)",
    ["why"],
)
MOVES = Counter("leadtemp_moves_total", "Leads moved to another partition with their account")
FORWARDED = Counter(
    "leadtemp_forwarded_total", "Items sent on to the partition that owns their state"
)
DUE_BACKLOG = Gauge(
    "leadtemp_due_backlog",
    "Per partition this worker owns: leads and accounts due for a change by time, not done",
    ["partition"],
)
REDIS_ERRORS = Counter("leadtemp_redis_errors_total", "Redis calls that failed")
KAFKA_ERRORS = Counter("leadtemp_kafka_errors_total", "Kafka produce calls that failed")
STATES_REMOVED = Counter(
    "leadtemp_states_removed_total", "States idle past retention removed", ["kind"]
)
DOWNGRADES_BY_TIME = Counter("leadtemp_downgrades_by_time_total", "Decay and window downgrades")
LAG = Gauge(
    "leadtemp_consumer_lag",
    "Per partition this worker holds: input events not yet forwarded, re-keyed ones not applied",
    ["topic", "partition"],
)
STALLED = Gauge(
    "leadtemp_partition_stalled_seconds",
    "Per partition this worker holds: how long it has held messages without progress",
    ["topic", "partition"],
)
STUCK = Gauge(
    "leadtemp_partition_stuck",
    "1 when a partition has held messages without progress for longer than stuck_after_s",
    ["topic", "partition"],
)
LEADS = Gauge("leadtemp_leads", "Leads at each temperature (all workers)", ["temperature"])
LAST_BATCH = Gauge("leadtemp_last_batch_timestamp_seconds", "When the last batch was stored")
RULES = Gauge(
    "leadtemp_rules_info",
    "1 for the rules this worker scores with: their version and the fingerprint of their content",
    ["version", "fingerprint"],
)

# Redis and Kafka calls retried while they fail transiently, each failure counted.
with_backoff = counted_backoff(REDIS_ERRORS, KAFKA_ERRORS)
