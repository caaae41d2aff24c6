"""Output records (shared/spec/outputs.md) and their deterministic ids."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

LEADS_TEMPERATURE = "leads.temperature"
ALERTS_HOT_LEAD = "alerts.hot-lead"
ACCOUNTS_TEMPERATURE = "accounts.temperature"
ALERTS_HOT_ACCOUNT = "alerts.hot-account"
EVENTS_DEADLETTER = "events.deadletter"
ALERTS_DEADLETTER = "alerts.deadletter"  # written by the notifier (alerts/)
OUTPUT_TOPICS = (LEADS_TEMPERATURE, ALERTS_HOT_LEAD, ACCOUNTS_TEMPERATURE, ALERTS_HOT_ACCOUNT)


@dataclass(slots=True)  # never mutated; __init__ written out for the compiled build (Scores)
class Record:
    """One output record: the default topic it belongs to, its key and its JSON value."""

    topic: str
    key: str | None
    value: dict[str, Any]

    def __init__(self, topic: str, key: str | None, value: dict[str, Any]) -> None:
        self.topic = topic
        self.key = key
        self.value = value

    def as_replay_line(self) -> dict[str, Any]:
        return {"topic": self.topic, "key": self.key, "value": self.value}


def stable_id(*parts: str) -> str:
    """A hash that is the same in every process and every run (unlike Python's hash())."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def change_id(kind: str, key: str, cause: str, to: str) -> str:
    """Id of a temperature change: (lead or account, caused-by event id or crossing time, to)."""
    return stable_id(kind, key, cause, to)


def alert_id(kind: str, key: str, caused_by_event_id: str) -> str:
    return stable_id(kind, key, caused_by_event_id)


def dead_letter(
    reason: str,
    detail: str,
    original: bytes,
    received_at: str,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    key: str | None = None,
) -> Record:
    """A dead-letter record; in an offline replay topic/partition/key are null, offset the line."""
    return Record(
        EVENTS_DEADLETTER,
        key,
        {
            "reason": reason,
            "detail": detail,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key": key,
            "original": base64.b64encode(original).decode(),
            "received_at": received_at,
        },
    )
