"""The topic catalogue: every Kafka topic leadtemp reads or writes, by its default name
(a deployment prefixes them all with LEADTEMP_TOPIC_PREFIX)."""

from __future__ import annotations

from typing import Any

# The input contract (events.md): one topic per channel.
EVENTS_EMAIL = "events.email"
EVENTS_WEB = "events.web"
EVENTS_WEBINAR = "events.webinar"
EVENTS_FORM = "events.form"
INPUT_TOPICS = (EVENTS_EMAIL, EVENTS_WEB, EVENTS_WEBINAR, EVENTS_FORM)

# The worker's own: input events re-keyed by lead, in bundles (streams/bundles.py).
REPARTITION_TOPIC = "leadtemp.events-by-lead"

# The output contract (outputs.md).
LEADS_TEMPERATURE = "leads.temperature"
ALERTS_HOT_LEAD = "alerts.hot-lead"
ACCOUNTS_TEMPERATURE = "accounts.temperature"
ALERTS_HOT_ACCOUNT = "alerts.hot-account"
OUTPUT_TOPICS = (LEADS_TEMPERATURE, ALERTS_HOT_LEAD, ACCOUNTS_TEMPERATURE, ALERTS_HOT_ACCOUNT)
# Beyond the contract: leads forgotten on request (`leadtemp forget`), for the systems
# downstream to forget them too.
LEADS_FORGOTTEN = "leads.forgotten"

# Dead letters: input the worker could not process; alerts the notifier could not deliver.
EVENTS_DEADLETTER = "events.deadletter"
ALERTS_DEADLETTER = "alerts.deadletter"

ALL_TOPICS = (*INPUT_TOPICS, REPARTITION_TOPIC, *OUTPUT_TOPICS, LEADS_FORGOTTEN,
              EVENTS_DEADLETTER, ALERTS_DEADLETTER)  # fmt: skip


def input_topic_of(event: Any) -> tuple[str, str | None]:
    """The contract's topic of a (parsed) event, by its type's channel, and its key (the lead
    id, else the visitor id). What is not an event goes to `events.form`, where the worker
    dead-letters it with the reason."""
    if not isinstance(event, dict):
        return EVENTS_FORM, None
    kind = event.get("type")
    topic = f"events.{kind.split('.')[0]}" if isinstance(kind, str) else EVENTS_FORM
    lead = event.get("lead")
    key = (lead.get("id") if isinstance(lead, dict) else None) or event.get("visitor_id")
    return (topic if topic in INPUT_TOPICS else EVENTS_FORM), key if isinstance(key, str) else None
