"""Segment's calls as the contract's events, with payloads in the shapes Segment's spec
documents (https://segment.com/docs/connections/spec/: page, track, identify, batch); and the
sources file that turns Segment on, validated with errors naming the key path."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from gateway.bodies import NotJson
from gateway.segment import calls_of_body, contract_event
from gateway.sources import Segment, SourcesError, sources_from_mapping

NOW = "2026-12-02T10:00:00Z"
ENVIRON = {"SEGMENT_WRITE_KEY": "wk-test"}
SOURCES = {"segment": {
    "write_keys": [{"env": "SEGMENT_WRITE_KEY"}],
    "pages": {"/pricing*": "pricing", "/docs/*": "docs", "/academy/*": "docs"},
    "events": {"Demo Requested": {"type": "form.submitted", "form_kind": "demo_request"},
               "Webinar Attended": {"type": "webinar.attended",
                                    "properties": {"webinar_id": "webinarId",
                                                   "minutes_attended": "minutes"}}},
}}  # fmt: skip

# Segment's spec examples (page, track, identify), as documented.
PAGE = {
    "anonymousId": "507f191e810c19729de860ea", "channel": "browser",
    "context": {"ip": "8.8.8.8", "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_5)"},
    "integrations": {"All": True, "Mixpanel": False, "Salesforce": False},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db", "name": "Home",
    "properties": {"title": "Welcome | Initech", "url": "http://www.example.com/pricing/teams"},
    "receivedAt": "2015-02-23T22:28:55.387Z", "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z", "type": "page", "userId": "97980cfea0067",
    "version": "1.1",
}
TRACK = {
    "anonymousId": "23adfd82-aa0f-45a7-a756-24f2a7a4c895",
    "context": {"library": {"name": "analytics.js", "version": "2.11.1"},
                "page": {"path": "/academy/", "referrer": "", "search": "",
                         "title": "Analytics Academy", "url": "https://segment.com/academy/"},
                "traits": {"email": "Peter@Example.com", "name": "Peter Gibbons",
                           "title": "VP Operations", "company": {"name": "Initech"}},
                "ip": "108.0.78.21"},
    "event": "Demo Requested", "integrations": {},
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "properties": {"title": "Intro to Analytics"},
    "receivedAt": "2015-12-12T19:11:01.266Z", "sentAt": "2015-12-12T19:11:01.169Z",
    "timestamp": "2015-12-12T19:11:01.249Z", "type": "track",
    "originalTimestamp": "2015-12-12T19:11:01.152Z",
}
IDENTIFY = {
    "anonymousId": "507f191e810c19729de860ea", "channel": "browser",
    "context": {"ip": "8.8.8.8"}, "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093dc",
    "receivedAt": "2015-02-23T22:28:55.387Z", "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "traits": {"name": "Peter Gibbons", "email": "peter@example.com", "plan": "premium",
               "logins": 5},
    "type": "identify", "userId": "97980cfea0067", "version": "1.1",
}  # fmt: skip


@pytest.fixture
def segment() -> Segment:
    sources = sources_from_mapping(SOURCES, environ=ENVIRON)
    assert sources.segment is not None
    return sources.segment


def changed(call: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(call)
    out.update(changes)
    return out


def test_a_page_call_is_a_page_view_categorised_by_its_path(segment: Segment) -> None:
    assert contract_event(PAGE, segment, NOW) == {
        "event_id": "segment:022bb90c-bbac-11e4-8dfc-aa07a5b093db",
        "occurred_at": "2015-02-23T22:28:55.111Z", "type": "web.page_viewed",
        "page_category": "pricing", "url": "http://www.example.com/pricing/teams",
        "lead": {"id": "97980cfea0067"}, "visitor_id": "507f191e810c19729de860ea",
        "source": "segment",
    }  # fmt: skip


def test_a_page_no_pattern_matches_is_other(segment: Segment) -> None:
    call = changed(PAGE, properties={"url": "https://www.example.com/careers"})
    assert contract_event(call, segment, NOW)["page_category"] == "other"  # type: ignore[index]


def test_an_anonymous_page_view_goes_by_visitor_alone(segment: Segment) -> None:
    call = changed(PAGE)
    del call["userId"]
    event = contract_event(call, segment, NOW)
    assert isinstance(event, dict) and "lead" not in event
    assert event["visitor_id"] == "507f191e810c19729de860ea"


def test_a_mapped_track_call_is_its_contract_event_with_the_lead_by_lowercased_email(
    segment: Segment,
) -> None:
    event = contract_event(TRACK, segment, NOW)
    assert isinstance(event, dict)
    assert (event["type"], event["form_kind"]) == ("form.submitted", "demo_request")
    assert event["lead"] == {"id": "peter@example.com", "email": "Peter@Example.com",
                             "name": "Peter Gibbons", "job_title": "VP Operations",
                             "company": "Initech"}  # fmt: skip
    assert event["occurred_at"] == "2015-12-12T19:11:01.249Z"


def test_a_user_id_wins_over_the_email_as_the_lead_id(segment: Segment) -> None:
    event = contract_event(changed(TRACK, userId="crm-0042"), segment, NOW)
    assert isinstance(event, dict) and event["lead"]["id"] == "crm-0042"


def test_a_track_call_takes_the_properties_its_mapping_names(segment: Segment) -> None:
    call = changed(TRACK, event="Webinar Attended", properties={"webinarId": "w-7", "minutes": 42})
    event = contract_event(call, segment, NOW)
    assert isinstance(event, dict)
    assert (event["type"], event["webinar_id"], event["minutes_attended"]) == (
        "webinar.attended", "w-7", 42)


def test_an_unmapped_track_name_is_ignored_not_dead_lettered(segment: Segment) -> None:
    assert contract_event(changed(TRACK, event="Course Clicked"), segment, NOW) == "unmapped_event"


def test_an_identify_call_is_a_web_identified_with_the_profile_and_the_visitor(
    segment: Segment,
) -> None:
    event = contract_event(IDENTIFY, segment, NOW)
    assert isinstance(event, dict) and event["type"] == "web.identified"
    assert event["lead"] == {"id": "97980cfea0067", "email": "peter@example.com",
                             "name": "Peter Gibbons"}  # fmt: skip
    assert event["visitor_id"] == "507f191e810c19729de860ea"


def test_an_identify_call_naming_nobody_is_ignored(segment: Segment) -> None:
    call = changed(IDENTIFY, traits={"plan": "premium"})
    del call["userId"]
    assert contract_event(call, segment, NOW) == "anonymous_identify"


def test_a_track_call_of_nobody_known_cannot_be_mapped(segment: Segment) -> None:
    call = changed(TRACK, context={})
    body = calls_of_body(orjson.dumps(call), segment, NOW)
    [rejected] = body.rejected
    assert rejected.reason == "invalid_event" and "needs a userId or an email" in rejected.detail


def test_a_batch_is_its_calls_each_on_its_own(segment: Segment) -> None:
    batch = {"batch": [IDENTIFY, PAGE, TRACK, changed(TRACK, event="Course Clicked")],
             "context": {"device": {"type": "phone"}}}  # fmt: skip
    body = calls_of_body(orjson.dumps(batch), segment, NOW)
    assert [e["type"] for e, _ in body.events] == ["web.identified", "web.page_viewed",
                                                   "form.submitted"]  # fmt: skip
    assert body.ignored == {"unmapped_event": 1} and body.rejected == []


def test_a_call_without_a_message_id_cannot_be_mapped(segment: Segment) -> None:
    call = changed(PAGE)
    del call["messageId"]
    [rejected] = calls_of_body(orjson.dumps(call), segment, NOW).rejected
    assert rejected.detail == "call 1: no messageId"


def test_a_body_that_is_not_a_json_object_is_not_json(segment: Segment) -> None:
    with pytest.raises(NotJson):
        calls_of_body(b"[1, 2]", segment, NOW)


def test_a_sources_file_error_names_the_key_path() -> None:
    wrong = copy.deepcopy(SOURCES)
    wrong["segment"]["pages"]["/pricing*"] = "prices"
    with pytest.raises(SourcesError) as e:
        sources_from_mapping(wrong, "sources.yaml", ENVIRON)
    assert str(e.value).startswith("sources.yaml: segment.pages./pricing*: ")


def test_a_mapping_to_a_type_outside_the_contract_is_refused() -> None:
    wrong = copy.deepcopy(SOURCES)
    wrong["segment"]["events"]["Demo Requested"] = {"type": "form.sent"}
    with pytest.raises(SourcesError, match=r"segment\.events\.Demo Requested: .*not a contract"):
        sources_from_mapping(wrong, "sources.yaml", ENVIRON)


def test_a_write_key_from_an_unset_variable_is_refused() -> None:
    with pytest.raises(SourcesError, match=r"segment\.write_keys\.0: .*SEGMENT_WRITE_KEY is not set"):
        sources_from_mapping(SOURCES, "sources.yaml", {})
