"""Output records (shared/spec/outputs.md): their deterministic ids, and each kind of record
built from the state that decided it."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from scoring import accounts as acc
from scoring.alerting import (
    ACCOUNT_ALERT_PRIORITY,
    contact_of,
    lead_priority,
    respond_by,
    routing_of,
    top_signals,
)
from scoring.events import Event
from scoring.model import Model
from scoring.state import ACCOUNT, LEAD, LeadState
from scoring.temperature import SALES_ACTION, Scores
from scoring.times import rfc3339_from_ms
from scoring.topics import (
    ACCOUNTS_TEMPERATURE,
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
    EVENTS_DEADLETTER,
    LEADS_FORGOTTEN,
    LEADS_TEMPERATURE,
)


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
    source: str | None = None,
) -> Record:
    """A dead-letter record; in an offline replay topic/partition/key are null, offset the line.
    `source`: where input that never was a Kafka message came from (`gateway:<source>`)."""
    extra = {} if source is None else {"source": source}
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
            **extra,
        },
    )


def lead_change(
    lead_id: str,
    state: LeadState,
    previous: str | None,
    temp: str,
    reasons: list[str],
    scores: Scores,
    event: Event | None,
    crossing: int | None,
    model: Model,
) -> Record:
    """A `leads.temperature` record."""
    cause, occurred_at, caused_by = _cause(event, crossing)
    return Record(LEADS_TEMPERATURE, lead_id, {
        "change_id": change_id(LEAD, lead_id, cause, temp),
        "lead_id": lead_id,
        "account_id": state.account,
        "from": previous,
        "to": temp,
        "occurred_at": occurred_at,
        "caused_by_event_id": caused_by,
        "scores": scores.as_record(),
        "reasons": reasons,
        "sales_action": SALES_ACTION[temp],
        "rules_version": model.version,
    })  # fmt: skip


def lead_alert(
    lead_id: str, state: LeadState, reasons: list[str], scores: Scores, event: Event, model: Model
) -> Record:
    """An `alerts.hot-lead` record."""
    priority = lead_priority(reasons, scores.bant)
    return Record(ALERTS_HOT_LEAD, lead_id, {
        "alert_id": alert_id(LEAD, lead_id, event.event_id),
        "lead_id": lead_id,
        "account_id": state.account,
        "priority": priority,
        "occurred_at": event.occurred_at,
        "respond_by": rfc3339_from_ms(respond_by(event.at, priority, model)),
        "caused_by_event_id": event.event_id,
        "scores": scores.as_record(),
        "reasons": reasons,
        "top_signals": top_signals(state, state.clock, model),
        "contact": contact_of(state),
        "routing": routing_of(state, model),
        "rules_version": model.version,
    })  # fmt: skip


def account_change(
    account_id: str,
    previous: str | None,
    temp: str,
    reasons: list[str],
    view: acc.AccountView,
    event: Event | None,
    crossing: int | None,
    model: Model,
) -> Record:
    """An `accounts.temperature` record."""
    cause, occurred_at, caused_by = _cause(event, crossing)
    value: dict[str, Any] = {
        "change_id": change_id(ACCOUNT, account_id, cause, temp),
        "account_id": account_id,
        "from": previous,
        "to": temp,
        "occurred_at": occurred_at,
        "caused_by_event_id": caused_by,
        **view.as_record(),
        "reasons": reasons,
        "sales_action": SALES_ACTION[temp],
        "rules_version": model.version,
    }
    return Record(ACCOUNTS_TEMPERATURE, account_id, value)


def account_alert(
    account_id: str,
    reasons: list[str],
    view: acc.AccountView,
    event: Event,
    lead: LeadState,
    model: Model,
) -> Record:
    """An `alerts.hot-account` record."""
    return Record(ALERTS_HOT_ACCOUNT, account_id, {
        "alert_id": alert_id(ACCOUNT, account_id, event.event_id),
        "account_id": account_id,
        "priority": ACCOUNT_ALERT_PRIORITY,
        "occurred_at": event.occurred_at,
        "respond_by": rfc3339_from_ms(respond_by(event.at, ACCOUNT_ALERT_PRIORITY, model)),
        "caused_by_event_id": event.event_id,
        **view.as_record(),
        "reasons": reasons,
        "top_signals": top_signals(lead, lead.clock, model),
        "routing": routing_of(lead, model),
        "rules_version": model.version,
    })  # fmt: skip


def lead_forgotten(
    lead_id: str, state: LeadState | None, request_id: str, requested_at: int
) -> Record:
    """A lead forgotten on request: which, and that it was; nothing of what was known."""
    return Record(LEADS_FORGOTTEN, lead_id, {
        "forgotten_id": stable_id("forgotten", lead_id, request_id),
        "lead_id": lead_id,
        "account_id": None if state is None else state.account,
        "request_id": request_id,
        "requested_at": rfc3339_from_ms(requested_at, millis=True),
        "state_held": state is not None,
    })  # fmt: skip


def _cause(event: Event | None, crossing: int | None) -> tuple[str, str, str | None]:
    """(what the change id hashes, occurred_at, caused_by_event_id) of a change: the event's,
    or for a change by time the crossing instant (to the millisecond) and no event."""
    if event is not None:
        return event.event_id, event.occurred_at, event.event_id
    assert crossing is not None
    occurred_at = rfc3339_from_ms(crossing, millis=True)
    return occurred_at, occurred_at, None
