"""SendGrid's Event Webhook: payloads in the shape SendGrid documents, mapped to the contract's
email events; signatures made as SendGrid makes them (ECDSA P-256, SHA-256, over the
timestamp and the body), checked with the `sendgrid` package's verifier: valid, tampered,
another key, stale, missing."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.sendgrid import SendGridVerifier, sendgrid_events
from gateway.sources import sources_from_mapping

# SendGrid's documented examples of each event (the fields they show), trimmed of the
# repeated ones.
OPEN = {"email": "Example@Test.com", "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "event": "open",
        "category": "cat facts", "sg_event_id": "FOTFFO0ecsBE-zxFXfs6WA==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "useragent": "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)", "ip": "255.255.255.255",
        "sg_machine_open": False}  # fmt: skip
CLICK = {**OPEN, "event": "click", "sg_event_id": "kCAi1KttyQdEKHhdC-nuEA==",
         "url": "http://www.sendgrid.com/", "url_offset": {"index": 0, "type": "html"}}
BOUNCE = {**OPEN, "event": "bounce", "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
          "reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce"}
BLOCKED = {**BOUNCE, "sg_event_id": "bl0ck3d", "type": "blocked"}
PROCESSED = {**OPEN, "event": "processed", "sg_event_id": "rbtnWrG1DVDGGGFHFyun0A=="}
SPAM = {**OPEN, "event": "spamreport", "sg_event_id": "37nvH5QBz858KGVYCM4uOA=="}
UNSUBSCRIBE = {**OPEN, "event": "unsubscribe", "sg_event_id": "zz_BjPgU_5pS-J8vlfB1sg=="}


def signing_keys() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A key pair; the public half as SendGrid shows its verification key (base64 DER)."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(der).decode()


def signed(private: ec.EllipticCurvePrivateKey, body: bytes, at: int) -> dict[str, str]:
    """The headers SendGrid sends with a signed webhook request."""
    signature = private.sign(str(at).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": str(at)}  # fmt: skip


def verifier(public_key: str) -> SendGridVerifier:
    sources = sources_from_mapping({"sendgrid": {"public_key": {"env": "SENDGRID_KEY"}}},
                                   environ={"SENDGRID_KEY": public_key})  # fmt: skip
    assert sources.sendgrid is not None
    return SendGridVerifier(sources.sendgrid)


def events(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e, _ in sendgrid_events(orjson.dumps(list(items))).events]


def test_an_open_is_an_email_opened_of_the_lead_by_lowercased_email() -> None:
    assert events(OPEN) == [{
        "event_id": "sendgrid:FOTFFO0ecsBE-zxFXfs6WA==", "type": "email.opened",
        "occurred_at": "2017-12-15T00:59:29Z",
        "lead": {"id": "example@test.com", "email": "Example@Test.com"}, "source": "sendgrid",
        "campaign_id": "cat facts",
    }]  # fmt: skip


def test_a_machine_open_is_marked_as_such() -> None:
    [event] = events({**OPEN, "sg_machine_open": True})
    assert event["machine_open"] is True


def test_a_click_carries_its_url() -> None:
    [event] = events(CLICK)
    assert (event["type"], event["url"]) == ("email.clicked", "http://www.sendgrid.com/")


def test_a_bounce_is_hard_and_a_block_soft() -> None:
    assert [e["bounce"] for e in events(BOUNCE, BLOCKED)] == ["hard", "soft"]


def test_unsubscribes_and_spam_reports_are_their_contract_events() -> None:
    assert [e["type"] for e in events(UNSUBSCRIBE, SPAM)] == ["email.unsubscribed",
                                                              "email.spam_reported"]


def test_what_is_not_the_recipients_doing_is_ignored() -> None:
    body = sendgrid_events(orjson.dumps([PROCESSED, {**OPEN, "event": "deferred"}]))
    assert body.events == [] and body.ignored == {"processed": 1, "deferred": 1}


def test_an_event_without_an_email_is_dead_lettered_and_the_rest_goes_on() -> None:
    no_email = {k: v for k, v in OPEN.items() if k != "email"}
    body = sendgrid_events(orjson.dumps([no_email, CLICK]))
    assert [r.detail for r in body.rejected] == ["event 1: no email"] and len(body.events) == 1


def test_a_request_signed_with_the_key_is_sendgrids() -> None:
    private, public = signing_keys()
    body, now = orjson.dumps([OPEN, CLICK]), int(time.time())
    assert verifier(public).refusal(signed(private, body, now), body, now) is None


def test_a_tampered_body_is_refused_as_invalid() -> None:
    private, public = signing_keys()
    body, now = orjson.dumps([OPEN]), int(time.time())
    headers = signed(private, body, now)
    assert verifier(public).refusal(headers, body.replace(b"open", b"click"), now) == "invalid"


def test_a_request_signed_with_another_key_is_refused_as_invalid() -> None:
    private, _ = signing_keys()
    _, other_public = signing_keys()
    body, now = orjson.dumps([OPEN]), int(time.time())
    assert verifier(other_public).refusal(signed(private, body, now), body, now) == "invalid"


def test_a_request_signed_long_ago_is_refused_as_stale() -> None:
    private, public = signing_keys()
    body, now = orjson.dumps([OPEN]), int(time.time())
    headers = signed(private, body, now - 301)
    assert verifier(public).refusal(headers, body, now) == "stale"


@pytest.mark.parametrize("header", ["X-Twilio-Email-Event-Webhook-Signature",
                                    "X-Twilio-Email-Event-Webhook-Timestamp"])  # fmt: skip
def test_a_request_without_the_signature_headers_is_refused_as_missing(header: str) -> None:
    private, public = signing_keys()
    body, now = orjson.dumps([OPEN]), int(time.time())
    headers = signed(private, body, now)
    del headers[header]
    assert verifier(public).refusal(headers, body, now) == "missing"
