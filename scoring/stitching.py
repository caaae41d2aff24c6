"""Identity stitching: a visitor's anonymous page views are held until an event names both
the visitor and a lead; then the unexpired ones are credited to the lead with their own
times (events.md, web)."""

from __future__ import annotations

from typing import Any

from scoring.events import EVENT_ADAPTER, Event
from scoring.state import HELD_PER_VISITOR, VisitorState, event_fingerprint
from scoring.times import MS_PER_DAY, ms_from_rfc3339

VISITOR_HOLD_MS = 30 * MS_PER_DAY


def hold(event: Event, visitor: VisitorState) -> bool:
    """Hold an anonymous page view against its (unlinked) visitor; False for a repeat."""
    fingerprint = event_fingerprint(event.event_id)
    if fingerprint in visitor.seen:
        return False
    visitor.clock = max(visitor.clock, event.at)
    visitor.held.append(event.model_dump(mode="json", exclude_none=True))
    visitor.held = [h for h in visitor.held if _held_at(h) + VISITOR_HOLD_MS > visitor.clock][
        -HELD_PER_VISITOR:
    ]
    visitor.seen.append(fingerprint)
    return True


def link(event: Event, visitor: VisitorState, lead_id: str) -> tuple[VisitorState, list[Event]]:
    """The visitor linked to `lead_id` by `event`, and its held page views still unexpired at
    the event's time, oldest first, to be credited to the lead."""
    held = [
        EVENT_ADAPTER.validate_python(h)
        for h in visitor.held
        if _held_at(h) + VISITOR_HOLD_MS > event.at
    ]
    return VisitorState(lead=lead_id, clock=visitor.clock), sorted(held, key=lambda e: e.at)


def _held_at(held: dict[str, Any]) -> int:
    return ms_from_rfc3339(held["occurred_at"])
