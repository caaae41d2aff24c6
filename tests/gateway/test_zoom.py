"""Zoom's webinar webhooks, in the shapes Zoom documents: the endpoint URL validation
challenge, signatures (valid, tampered, another secret, stale, missing), and a participant's
minutes from its join/leave pairs, published once when the webinar ends: pure, and over real
HTTP with the attendance in a real Redis and the event on a real broker."""

from __future__ import annotations

import copy
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.sources import sources_from_mapping
from gateway.zoom import Challenge, Ended, Presence, ZoomVerifier, zoom_call
from tests.conftest import Services
from tests.gateway.test_gateway import post, started
from tests.live import read_topics, run

SECRET = "zoom-secret-token-0123456789"
SOURCES = sources_from_mapping({"zoom": {"secret_token": {"env": "ZOOM_SECRET_TOKEN"}}},
                               environ={"ZOOM_SECRET_TOKEN": SECRET})  # fmt: skip
assert SOURCES.zoom is not None
VERIFIER = ZoomVerifier(SOURCES.zoom)

VALIDATION = {"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680,
              "event": "endpoint.url_validation"}  # fmt: skip
WEBINAR = {"id": "1234567890", "uuid": "4444AAAiAAAAAiAiAiiAii==", "host_id": "x1yCzABCDEfg23HiJKl4mN",
           "topic": "My Webinar", "type": 5, "start_time": "2021-07-13T21:44:51Z",
           "timezone": "America/Los_Angeles", "duration": 60}  # fmt: skip
PARTICIPANT = {"user_id": "1234567890", "user_name": "Jill Chill", "id": "iFxeBPYun6SAiWUzBcEkX",
               "email": "JChill@example.com", "registrant_id": "abcdefghij0-klmnopq23456",
               "participant_user_id": "rstuvwxyz789-ABCDEFGHI"}  # fmt: skip


def joined(at: str, webinar: dict[str, Any] = WEBINAR) -> dict[str, Any]:
    return {"event": "webinar.participant_joined", "event_ts": 1626230691572, "payload": {
        "account_id": "AAAAAABBBB",
        "object": {**webinar, "participant": {**PARTICIPANT, "join_time": at}}}}


def left(at: str, webinar: dict[str, Any] = WEBINAR) -> dict[str, Any]:
    return {"event": "webinar.participant_left", "event_ts": 1626230691572, "payload": {
        "account_id": "AAAAAABBBB", "object": {**webinar, "participant": {
            **PARTICIPANT, "leave_time": at, "leave_reason": "left the webinar"}}}}


def ended(at: str, webinar: dict[str, Any] = WEBINAR) -> dict[str, Any]:
    return {"event": "webinar.ended", "event_ts": 1626230691572,
            "payload": {"account_id": "AAAAAABBBB", "object": {**webinar, "end_time": at}}}


def zoom_signed(body: bytes, at: int, secret: str = SECRET) -> dict[str, str]:
    message = f"v0:{at}:".encode() + body
    return {"x-zm-signature": "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
            "x-zm-request-timestamp": str(at)}  # fmt: skip


def test_the_url_validation_challenge_is_answered_with_the_tokens_hmac() -> None:
    call = zoom_call(orjson.dumps(VALIDATION))
    assert isinstance(call, Challenge)
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert VERIFIER.validation_answer(call.plain_token) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


def test_joins_and_leaves_are_presences_and_the_end_is_the_webinars() -> None:
    join = zoom_call(orjson.dumps(joined("2021-07-13T21:44:51Z")))
    assert join == Presence("4444AAAiAAAAAiAiAiiAii==", "1234567890", "JChill@example.com",
                            "Jill Chill", True, 1626212691000)  # fmt: skip
    assert isinstance(zoom_call(orjson.dumps(left("2021-07-13T21:54:51Z"))), Presence)
    assert isinstance(zoom_call(orjson.dumps(ended("2021-07-13T22:44:51Z"))), Ended)


def test_a_guest_without_an_email_is_ignored() -> None:
    guest = joined("2021-07-13T21:44:51Z")
    del guest["payload"]["object"]["participant"]["email"]
    assert zoom_call(orjson.dumps(guest)).why == "no_email"  # type: ignore[union-attr]


def test_a_zoom_signature_is_checked_for_secret_freshness_and_presence() -> None:
    body, now = orjson.dumps(joined("2021-07-13T21:44:51Z")), int(time.time())
    assert VERIFIER.refusal(zoom_signed(body, now), body, now) is None
    assert VERIFIER.refusal(zoom_signed(body, now, "another"), body, now) == "invalid"
    assert VERIFIER.refusal(zoom_signed(body, now), body.replace(b"Jill", b"Jack"), now) == \
        "invalid"  # fmt: skip
    assert VERIFIER.refusal(zoom_signed(body, now - 600), body, now) == "stale"
    assert VERIFIER.refusal({}, body, now) == "missing"


@pytest.mark.services
def test_minutes_from_join_and_leave_pairs_are_published_once_when_the_webinar_ends(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("zoom: {secret_token: {env: ZOOM_SECRET_TOKEN}}\n")
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_SOURCES=str(sources),
                      ZOOM_SECRET_TOKEN=SECRET)  # fmt: skip
    port = gateway.metrics_ports[0]
    webinar = {**WEBINAR, "uuid": f"{topic_prefix}webinar=="}

    def send(call: dict[str, Any]) -> tuple[int, Any]:
        body = orjson.dumps(call)
        status, answer, _ = post(port, body, "/v1/zoom/events", zoom_signed(body, int(time.time())))
        return status, answer

    try:
        status, answer = send(VALIDATION)
        assert status == 200 and answer["plainToken"] == "qgg8vlvZRS6UYooatFL8Aw"
        # In 10 minutes, out 10, in again 10 minutes until the end: 20 minutes attended.
        for call in (joined("2026-12-01T10:00:00Z", webinar), left("2026-12-01T10:10:00Z", webinar),
                     joined("2026-12-01T10:20:00Z", webinar)):  # fmt: skip
            assert send(call)[0] == 200
        assert post(port, orjson.dumps(ended("x")), "/v1/zoom/events")[0] == 401  # unsigned
        status, answer = send(ended("2026-12-01T10:30:00Z", webinar))
        assert status == 200 and answer == {"accepted": 1, "dead_lettered": 0}
        assert send(copy.deepcopy(ended("2026-12-01T10:30:00Z", webinar)))[1]["accepted"] == 0
        [record] = run(read_topics(services.kafka_bootstrap, [f"{topic_prefix}events.webinar"]))
        event = orjson.loads(record.value)
        assert (event["type"], event["minutes_attended"], event["lead"]["id"]) == (
            "webinar.attended", 20.0, "jchill@example.com")
        assert event["event_id"] == f"zoom:{topic_prefix}webinar==:jchill@example.com"
    finally:
        gateway.stop_all()
