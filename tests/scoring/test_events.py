"""The input contract: what is accepted, and what is dead-lettered with which reason."""

from __future__ import annotations

import base64
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.events import EVENT_ADAPTER, FormSubmitted, Rejection, _Event, parse_event
from scoring.times import ms_from_rfc3339
from tests.scoring.helpers import FAR_FUTURE, ev, form, page, replay, run_of, temps

NOW = ms_from_rfc3339(FAR_FUTURE)


def parse(event: dict | bytes, now: int = NOW) -> object:
    return parse_event(event if isinstance(event, bytes) else orjson.dumps(event), now)


def rejected(event: dict | bytes, now: int = NOW) -> tuple[str, str]:
    result = parse(event, now)
    assert isinstance(result, Rejection), result
    return result.reason, result.detail


def test_a_valid_event_is_accepted() -> None:
    assert isinstance(parse(form("demo_request")), FormSubmitted)


def test_unknown_extra_fields_are_kept() -> None:
    event = form("demo_request", utm_source="ads")
    event["lead"]["favourite_colour"] = "blue"
    parsed = parse(event)
    assert parsed.model_extra == {"utm_source": "ads"}
    assert parsed.lead.model_extra == {"favourite_colour": "blue"}


def test_occurred_at_with_an_offset_is_accepted() -> None:
    assert parse(ev("email.opened", "2026-10-05T11:00:00+02:00")).at == ms_from_rfc3339(
        "2026-10-05T09:00:00Z"
    )


def test_an_event_validated_without_parse_event_reads_the_same_instant() -> None:
    # Held page views are validated again, not parsed, when their visitor is linked.
    raw = ev("email.opened", "2026-10-05T11:00:00.250+02:00")
    assert EVENT_ADAPTER.validate_python(raw).at == parse(raw).at == 1_791_190_800_250


def test_not_json_is_invalid_json() -> None:
    assert rejected(b'{"event_id": ')[0] == "invalid_json"


def test_unknown_type_is_unknown_type() -> None:
    assert rejected(ev("email.forwarded")) == (
        "unknown_type",
        "type: unknown event type 'email.forwarded'",
    )


def test_over_1_mib_is_too_large() -> None:
    assert rejected(b" " * (1024 * 1024 + 1))[0] == "too_large"


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        ({**ev("email.opened"), "occurred_at": "2026-10-05T09:00:00"}, "occurred_at: missing time zone"),
        ({**ev("email.opened"), "occurred_at": "yesterday"}, "occurred_at: not an RFC 3339 timestamp"),
        ({**ev("email.opened"), "event_id": ""}, "event_id: String should have at least 1 character"),
        ({**ev("email.opened"), "event_id": "x" * 129}, "event_id: String should have at most 128"),
        ({**ev("email.opened"), "event_id": "a\nb"}, "event_id: must be printable characters"),
        ({k: v for k, v in ev("email.opened").items() if k != "event_id"}, "event_id: required"),
        ({k: v for k, v in ev("email.opened").items() if k != "type"}, "type: required"),
        ({**ev("email.opened"), "type": 7}, "type: must be a string"),
        (ev("email.opened", lead=None), "lead: required"),
        ({**ev("email.opened"), "lead": {"email": "a@b.com"}}, "lead.id: required"),
        (page("pricing", lead=None), "lead.id: required (or visitor_id)"),
        ({**page("pricing"), "page_category": None}, "page_category: Input should be"),
        ({**page("pricing"), "page_category": "shop"}, "page_category: Input should be"),
        ({k: v for k, v in page("pricing").items() if k != "page_category"}, "page_category: required"),
        (page("docs", seconds=-1), "duration_seconds: Input should be greater than or equal to 0"),
        ({k: v for k, v in form("other").items() if k != "form_kind"}, "form_kind: required"),
        (form("webinar"), "form_kind: Input should be"),
        (form("other", fields={"budget": {"a": 1}}), "fields.budget"),
        (form("other", message="x" * (64 * 1024 + 1)), "message: "),
        (ev("email.replied", body="é" * (33 * 1024)), "body: longer than 64 KiB"),
        (ev("email.bounced", bounce="medium"), "bounce: Input should be 'hard' or 'soft'"),
        (ev("webinar.attended", minutes_attended=-5), "minutes_attended: Input should be greater"),
        (ev("email.opened", profile={"email": "not-an-address"}), "lead.email: not an email address"),
        (ev("email.opened", profile={"company_size": "1200"}), "lead.company_size: Input should be a valid integer"),
        (ev("email.opened", profile={"company_size": -1}), "lead.company_size: Input should be greater"),
        (ev("email.opened", profile={"annual_revenue": True}), "lead.annual_revenue: Input should be a valid number"),
        (ev("email.opened", visitor_id=""), "visitor_id: String should have at least 1 character"),
        ([1, 2], "event: must be a JSON object"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_contract_violations_are_invalid_event_naming_the_field(event: object, detail: str) -> None:
    reason, got = rejected(orjson.dumps(event))
    assert reason == "invalid_event"
    assert got.startswith(detail)


def test_more_than_5_minutes_ahead_of_the_clock_is_a_future_event() -> None:
    now = ms_from_rfc3339("2026-10-05T09:00:00Z")
    assert rejected(ev("email.opened", "2026-10-05T09:05:01Z"), now)[0] == "future_event"
    assert not isinstance(parse(ev("email.opened", "2026-10-05T09:05:00Z"), now), Rejection)


def test_a_replayed_bad_line_becomes_a_dead_letter_with_its_line_number() -> None:
    bad = b'{"oops"'
    [record] = replay([ev("email.opened"), bad], now="2026-11-01T00:00:00Z")[1:]
    assert record.topic == "events.deadletter"
    v = record.value
    assert (v["reason"], v["topic"], v["partition"], v["offset"], v["key"]) == (
        "invalid_json", None, None, 1, None,
    )  # fmt: skip
    assert base64.b64decode(v["original"]) == bad
    assert v["received_at"] == "2026-11-01T00:00:00Z"


def test_processing_goes_on_after_a_bad_line() -> None:
    records = replay([b"nope", form("demo_request")])
    assert temps(records) == ["hot"]


def test_a_dead_lettered_event_does_not_claim_its_event_id() -> None:
    good = form("demo_request")
    bad = {**good, "occurred_at": "2026-10-05"}
    assert temps(replay([bad, good])) == ["hot"]


def test_a_dead_lettered_event_does_not_move_the_watermark() -> None:
    run = run_of(
        [ev("email.opened"), {**ev("email.opened", "2027-01-01T00:00:00Z"), "type": "x.y"}]
    )
    assert run.watermark == ms_from_rfc3339("2026-10-05T09:00:00Z")


def test_a_repeated_event_id_is_a_duplicate_delivery() -> None:
    event = form("demo_request")
    run = run_of([event, event])
    assert run.summary.duplicates == 1


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (None, "no value (a null message, such as a tombstone)"),
        (b"", "empty message (zero bytes)"),
        ("{}", "not bytes but str"),
        (b"\xff\xfe{", "str is not valid UTF-8"),
    ],
    ids=["null", "empty", "not-bytes", "invalid-utf8"],
)
def test_a_message_with_no_json_in_it_is_invalid_json(raw: object, detail: str) -> None:
    result = parse_event(raw, NOW)
    assert isinstance(result, Rejection)
    assert (result.reason, result.detail[: len(detail)]) == ("invalid_json", detail)


@pytest.mark.parametrize("field", ["lead.id", "lead.account_id", "visitor_id"])
@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\x1b", "\x7f", "\x85"])
def test_an_identifier_with_a_control_character_is_invalid_naming_it(field: str, char: str) -> None:
    event = ev("web.page_viewed", page_category="blog", visitor_id="v-1")
    if field == "visitor_id":
        event["visitor_id"] = f"v{char}1"
    else:
        event["lead"][field.removeprefix("lead.")] = f"x{char}y"
    assert rejected(event) == ("invalid_event", f"{field}: must not contain control characters")


def test_identifiers_may_hold_any_printable_unicode() -> None:
    event = ev("email.opened", lead="Łukasz Kowalski 中文 ✓", profile={"account_id": "a b"})
    assert not isinstance(parse(event), Rejection)


def _json_values(leaves: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                     max_size=5),
        max_leaves=20,
    )  # fmt: skip


TIMESTAMPISH = st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?",
                             fullmatch=True)  # fmt: skip
JSON_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
               allow_infinity=False) | st.text(max_size=30) | TIMESTAMPISH)  # fmt: skip
# Events that are nearly valid: every field present, any of them replaced by anything.
NEARLY_VALID = st.builds(
    lambda base, changes: {**base, **changes},
    st.sampled_from([ev("email.opened"), form("demo_request", message="budget approved"),
                     page("pricing", lead=None, visitor_id="v"), ev("webinar.attended")]),
    st.dictionaries(st.sampled_from(["event_id", "type", "occurred_at", "lead", "visitor_id",
                                     "page_category", "form_kind", "fields", "message",
                                     "duration_seconds"]), _json_values(JSON_LEAVES),
                    max_size=3),
)  # fmt: skip


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_an_event_or_a_rejection(raw: bytes) -> None:
    assert isinstance(parse_event(raw, NOW), Rejection | _Event)


@given(_json_values(JSON_LEAVES) | NEARLY_VALID)
@settings(max_examples=500, deadline=None)
def test_any_json_gives_an_event_or_a_rejection(value: object) -> None:
    # The standard library's encoder: it writes what orjson refuses to (integers past 64 bits).
    raw = json.dumps(value).encode()
    assert isinstance(parse_event(raw, NOW), Rejection | _Event)
