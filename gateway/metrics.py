"""Prometheus metrics of the gateway; labels are sources, outcomes and event types, never
people or anything a sender chose freely."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "leadtemp_gateway_requests_total",
    "Requests by source and outcome (accepted, invalid, unauthorized, too_large, unavailable)",
    ["source", "outcome"],
)
EVENTS = Counter(
    "leadtemp_gateway_events_total",
    "Events published, by source and type (a type outside the contract counts as unknown)",
    ["source", "type"],
)
DEAD_LETTERS = Counter(
    "leadtemp_gateway_dead_letters_total", "Parts of requests dead-lettered", ["source", "reason"]
)
ACKNOWLEDGED = Histogram(
    "leadtemp_gateway_ack_seconds",
    "A request's arrival to Kafka acknowledging all its events",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IGNORED = Counter(
    "leadtemp_gateway_ignored_total",
    "Calls valid for their sender that scoring has no use for (an unmapped Segment event name, "
    "an identify call), by source and why",
    ["source", "why"],
)
SIGNATURE_FAILURES = Counter(
    "leadtemp_gateway_signature_failures_total",
    "Requests refused for their provider's signature (missing, stale, invalid)",
    ["source", "why"],
)
