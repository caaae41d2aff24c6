"""What a request body holds: one JSON event, a JSON array of them, or NDJSON (one a line).
Pure. The events are checked against the contract by the worker, in one place, which
dead-letters what breaks it; here only what is not a JSON object at all is set aside."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON_TYPES = {str: "string", int: "number", float: "number", bool: "boolean", list: "array",
              type(None): "null"}  # fmt: skip


class NotJson(ValueError):
    """The body is neither JSON nor NDJSON: the caller's fault (400)."""


@dataclass
class Rejected:
    reason: str  # a dead-letter reason of the contract (events.md: "Bad input")
    detail: str
    original: bytes


@dataclass
class Body:
    events: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)  # (event, bytes)
    rejected: list[Rejected] = field(default_factory=list)
    # Calls valid in their sender's terms that mean nothing to scoring (a Segment `track` of a
    # name the sources file does not map): counted by why, not dead-lettered.
    ignored: dict[str, int] = field(default_factory=dict)
    # The answer, where the sender expects one of its own (Zoom's URL validation), and what to
    # do once Kafka acknowledged the events (forget what they were made from).
    reply: dict[str, Any] | None = None
    after: Callable[[], Awaitable[None]] | None = None


def events_of_body(body: bytes) -> Body:
    """The events of a body, each with the bytes to publish, and the parts that are not event
    objects (to dead-letter: the rest goes on). NotJson when nothing in it parses."""
    out = Body()
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        lines = [line for line in body.splitlines() if line.strip()]
        if len(lines) < 2:
            raise NotJson("the body is not JSON (one event, an array, or NDJSON)") from None
        for n, line in enumerate(lines, 1):
            try:
                _add(out, orjson.loads(line), line, f"line {n}")
            except orjson.JSONDecodeError:
                out.rejected.append(Rejected("invalid_json", f"line {n} is not JSON", line))
        return out
    items = parsed if isinstance(parsed, list) else [parsed]
    for n, item in enumerate(items, 1):
        _add(out, item, body if items is not parsed else orjson.dumps(item), f"item {n}")
    return out


def _add(out: Body, value: Any, raw: bytes, where: str) -> None:
    if isinstance(value, dict):
        out.events.append((value, raw))
    else:
        what = JSON_TYPES.get(type(value), "value")
        out.rejected.append(Rejected("invalid_event", f"{where} is a JSON {what}, not an event "
                                     "object", raw))  # fmt: skip
