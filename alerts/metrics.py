"""Prometheus metrics of the notifier; labels are destination types and outcomes, never people."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "leadtemp_notifier_deliveries_total",
    "Deliveries by destination type and outcome (delivered, held, dead_letter)",
    ["destination", "outcome"],
)
LATENCY = Histogram(
    "leadtemp_notifier_delivery_seconds",
    "Alert occurred_at to the provider accepting the message",
    ["destination"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
RETRIES = Counter(
    "leadtemp_notifier_retries_total", "Send attempts retried", ["destination", "why"]
)
DUPLICATES = Counter(
    "leadtemp_notifier_duplicates_total",
    "Redelivered alerts not sent again (already delivered, held or dead-lettered)",
    ["destination"],
)
HELD = Counter(
    "leadtemp_notifier_held_total",
    "Alerts held for a digest, by why (rate_limit, quiet_hours)",
    ["destination", "why"],
)
DIGESTS = Counter("leadtemp_notifier_digests_total", "Digest messages sent", ["destination"])
DEAD_LETTERS = Counter(
    "leadtemp_notifier_dead_letters_total", "Deliveries dead-lettered", ["destination", "reason"]
)
INVALID = Counter("leadtemp_notifier_invalid_alerts_total", "Messages that were not alerts")
REDIS_ERRORS = Counter("leadtemp_notifier_redis_errors_total", "Redis calls that failed")
KAFKA_ERRORS = Counter("leadtemp_notifier_kafka_errors_total", "Kafka calls that failed")
