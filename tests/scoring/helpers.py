"""Building events and running them through the engine, for specification-style tests."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from scoring.engine import Engine
from scoring.events import Event, Rejection, parse_event
from scoring.records import Record
from scoring.replay import Replay
from scoring.rules import Rules, rules_from_mapping
from scoring.times import MS_PER_DAY, ms_from_rfc3339, rfc3339_from_ms

T0 = "2026-10-05T09:00:00Z"
T0_MS = ms_from_rfc3339(T0)
FAR_FUTURE = "2030-01-01T00:00:00Z"
_ids = itertools.count()


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> str:
    """A time relative to T0."""
    return rfc3339_from_ms(round(T0_MS + days * MS_PER_DAY + hours * 3_600_000 + minutes * 60_000))


def ev(kind: str, when: str = T0, lead: str | None = "lead-1", profile: dict[str, Any] | None = None,
       event_id: str | None = None, **fields: Any) -> dict[str, Any]:  # fmt: skip
    """An event object of the input contract."""
    event: dict[str, Any] = {
        "event_id": event_id or f"e{next(_ids)}",
        "type": kind,
        "occurred_at": when,
    }
    if lead is not None or profile:
        event["lead"] = {**({"id": lead} if lead is not None else {}), **(profile or {})}
    event.update(fields)
    return event


def form(form_kind: str, when: str = T0, lead: str = "lead-1", **fields: Any) -> dict[str, Any]:
    return ev("form.submitted", when, lead, form_kind=form_kind, **fields)


def page(category: str, when: str = T0, lead: str | None = "lead-1", seconds: float = 0,
         **fields: Any) -> dict[str, Any]:  # fmt: skip
    return ev("web.page_viewed", when, lead, page_category=category, duration_seconds=seconds,
              **fields)  # fmt: skip


def parsed(event: dict[str, Any]) -> Event:
    """A valid event, validated as the engine receives it."""
    result = parse_event(orjson.dumps(event), ms_from_rfc3339(FAR_FUTURE))
    assert not isinstance(result, Rejection), result
    return result


def rules(**overrides: Any) -> Rules:
    return rules_from_mapping(overrides)


def replay(events: list[dict[str, Any] | bytes], until: str | None = None,
           rules: Rules | None = None, now: str = FAR_FUTURE) -> list[Record]:  # fmt: skip
    """Every record a replay of the events produces, in order."""
    run = Replay(Engine(rules), ms_from_rfc3339(now))
    out: list[Record] = []
    for i, e in enumerate(events):
        out += run.feed(e if isinstance(e, bytes) else orjson.dumps(e), i)
    out += run.finish(ms_from_rfc3339(until) if until else None)
    return out


def run_of(events: list[dict[str, Any]], until: str | None = None,
           rules: Rules | None = None) -> Replay:  # fmt: skip
    """The replay itself, to look at state after the events."""
    run = Replay(Engine(rules), ms_from_rfc3339(FAR_FUTURE))
    for i, e in enumerate(events):
        run.feed(orjson.dumps(e), i)
    run.finish(ms_from_rfc3339(until) if until else None)
    return run


def lead_changes(records: list[Record], lead: str | None = None) -> list[dict[str, Any]]:
    return [r.value for r in records
            if r.topic == "leads.temperature" and (lead is None or r.key == lead)]  # fmt: skip


def temps(records: list[Record], lead: str = "lead-1") -> list[str]:
    """The temperatures a lead went through."""
    return [c["to"] for c in lead_changes(records, lead)]


def last(records: list[Record], lead: str = "lead-1") -> dict[str, Any]:
    """The lead's latest temperature change."""
    return lead_changes(records, lead)[-1]


def of_topic(records: list[Record], topic: str, key: str | None = None) -> list[dict[str, Any]]:
    return [r.value for r in records if r.topic == topic and (key is None or r.key == key)]


def state_of(events: list[dict[str, Any]], lead: str = "lead-1",
             rules: Rules | None = None) -> Any:  # fmt: skip
    """The lead's state after the events."""
    return run_of(events, rules=rules).store.leads[lead]


def scores(events: list[dict[str, Any]], when: str | None = None, lead: str = "lead-1",
           rules: Rules | None = None) -> Any:  # fmt: skip
    """The lead's scores after the events, at `when` (default: the lead's clock)."""
    from scoring.model import Model
    from scoring.temperature import scores_at

    run = run_of(events, rules=rules)
    state = run.store.leads[lead]
    return scores_at(state, ms_from_rfc3339(when) if when else state.clock, Model(rules or Rules()))
