"""What a request body holds: the contract's events as one object, an array or NDJSON; what
is not an event object is set aside to dead-letter, and the rest goes on."""

from __future__ import annotations

import orjson
import pytest

from gateway.bodies import NotJson, events_of_body

EVENT = {"event_id": "e1", "type": "web.page_view", "occurred_at": "2026-11-20T14:03:11Z",
         "lead": {"id": "lead-1"}, "page_category": "pricing"}  # fmt: skip


def test_one_object_is_one_event_published_as_sent() -> None:
    sent = orjson.dumps(EVENT) + b"\n"
    body = events_of_body(sent)
    assert body.events == [(EVENT, sent)] and body.rejected == []


def test_an_array_is_its_events() -> None:
    body = events_of_body(orjson.dumps([EVENT, {**EVENT, "event_id": "e2"}]))
    assert [e["event_id"] for e, _ in body.events] == ["e1", "e2"]
    assert orjson.loads(body.events[1][1])["event_id"] == "e2"


def test_ndjson_is_one_event_a_line_blank_lines_skipped() -> None:
    lines = [orjson.dumps({**EVENT, "event_id": f"e{i}"}) for i in range(3)]
    body = events_of_body(b"\n".join(lines[:2]) + b"\n\n" + lines[2] + b"\n")
    assert [raw for _, raw in body.events] == lines


def test_a_line_that_is_not_json_is_set_aside_and_the_others_go_on() -> None:
    body = events_of_body(orjson.dumps(EVENT) + b"\n{not json\n" + orjson.dumps(EVENT))
    assert len(body.events) == 2
    [rejected] = body.rejected
    assert (rejected.reason, rejected.detail, rejected.original) == (
        "invalid_json", "line 2 is not JSON", b"{not json")


def test_an_item_that_is_not_an_object_is_set_aside_as_an_invalid_event() -> None:
    body = events_of_body(orjson.dumps([EVENT, 42]))
    [rejected] = body.rejected
    assert (rejected.reason, rejected.detail) == ("invalid_event",
                                                  "item 2 is a JSON number, not an event object")


@pytest.mark.parametrize("sent", [b"", b"{oops", b"\xff\xfe"])
def test_a_body_with_nothing_that_parses_is_not_json(sent: bytes) -> None:
    with pytest.raises(NotJson):
        events_of_body(sent)
