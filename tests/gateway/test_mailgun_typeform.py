"""Mailgun's and Typeform's webhooks: payloads in the shapes their documentation shows, mapped to
the contract's events; signatures made as each provider makes them, valid, tampered, with
another key, stale (Mailgun signs a timestamp; Typeform does not), missing."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import time
from typing import Any

import orjson

from gateway.mailgun import MailgunVerifier, mailgun_events
from gateway.sources import sources_from_mapping
from gateway.typeform import TypeformVerifier, typeform_events

MAILGUN_KEY = "key-mailgun-signing-0123456789"
TYPEFORM_SECRET = "typeform-secret-0123456789"
ENVIRON = {"MAILGUN_KEY": MAILGUN_KEY, "TYPEFORM_SECRET": TYPEFORM_SECRET}
SOURCES = sources_from_mapping({
    "mailgun": {"signing_key": {"env": "MAILGUN_KEY"}},
    "typeform": {"secret": {"env": "TYPEFORM_SECRET"}, "lead_id_hidden": "crm_id",
                 "forms": {"lT4Z3j": {"form_kind": "demo_request", "answers": {
                     "email": "readable_ref_email", "name": "readable_ref_name",
                     "budget": "readable_ref_budget", "message": "readable_ref_long_text"}}}},
}, environ=ENVIRON)  # fmt: skip
assert SOURCES.mailgun is not None and SOURCES.typeform is not None
MAILGUN, TYPEFORM = SOURCES.mailgun, SOURCES.typeform

# Mailgun's documented webhook body (an "opened" event), with the signature to be filled in.
MAILGUN_OPENED: dict[str, Any] = {
    "signature": {"timestamp": "", "token": "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
                  "signature": ""},
    "event-data": {
        "event": "opened", "timestamp": 1529006854.329574, "id": "DACSsAdVSeGpLid7TN03WA",
        "recipient": "Alice@Example.com", "tags": ["my_tag_1", "my_tag_2"],
        "user-variables": {"my_var_1": "Mailgun Variable #1", "my-var-2": "awesome"},
        "client-info": {"client-name": "Chrome", "client-os": "Linux", "device-type": "desktop",
                        "client-type": "browser"},
        "geolocation": {"country": "US", "region": "CA", "city": "San Francisco"},
        "message": {"headers": {"message-id": "20130503182626.18666.16540@example.com"}},
        "campaigns": [], "log-level": "info",
    },
}  # fmt: skip

# Typeform's documented form_response payload (trimmed of the definition's titles).
TYPEFORM_RESPONSE: dict[str, Any] = {
    "event_id": "LtWXD3crgy", "event_type": "form_response",
    "form_response": {
        "form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15",
        "submitted_at": "2018-01-18T18:17:02Z", "landed_at": "2018-01-18T18:07:02Z",
        "hidden": {"crm_id": "crm-9001"},
        "answers": [
            {"type": "text", "text": "Our line stops twice a week",
             "field": {"id": "DlXFaesGBpoF", "type": "long_text", "ref": "readable_ref_long_text"}},
            {"type": "email", "email": "Laura@Example.com",
             "field": {"id": "SMEUb7VJz92Q", "type": "email", "ref": "readable_ref_email"}},
            {"type": "text", "text": "Laura Diaz",
             "field": {"id": "JwWggjAKtOkA", "type": "short_text", "ref": "readable_ref_name"}},
            {"type": "choice", "choice": {"label": "approved"},
             "field": {"id": "k6TP9oLGgHjl", "type": "multiple_choice",
                       "ref": "readable_ref_budget"}},
        ],
    },
}  # fmt: skip


def mailgun_signed(body: dict[str, Any], at: int, key: str = MAILGUN_KEY) -> bytes:
    signed = copy.deepcopy(body)
    token = signed["signature"]["token"]
    signed["signature"]["timestamp"] = str(at)
    signed["signature"]["signature"] = hmac.new(key.encode(), f"{at}{token}".encode(),
                                                hashlib.sha256).hexdigest()  # fmt: skip
    return orjson.dumps(signed)


def typeform_signature(body: bytes, secret: str = TYPEFORM_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}


def test_a_mailgun_open_is_an_email_opened_of_the_lowercased_recipient() -> None:
    [(event, _)] = mailgun_events(mailgun_signed(MAILGUN_OPENED, 1529006854)).events
    assert event == {
        "event_id": "mailgun:DACSsAdVSeGpLid7TN03WA", "type": "email.opened",
        "occurred_at": "2018-06-14T20:07:34.329Z",
        "lead": {"id": "alice@example.com", "email": "Alice@Example.com"}, "source": "mailgun",
        "campaign_id": "my_tag_1",
    }  # fmt: skip


def test_a_mailgun_permanent_failure_is_a_hard_bounce_and_a_temporary_one_soft() -> None:
    bounces = []
    for severity in ("permanent", "temporary"):
        body = copy.deepcopy(MAILGUN_OPENED)
        body["event-data"].update(event="failed", severity=severity)
        [(event, _)] = mailgun_events(orjson.dumps(body)).events
        bounces.append((event["type"], event["bounce"]))
    assert bounces == [("email.bounced", "hard"), ("email.bounced", "soft")]


def test_a_mailgun_complaint_is_a_spam_report_and_an_accepted_message_is_ignored() -> None:
    complained, accepted = copy.deepcopy(MAILGUN_OPENED), copy.deepcopy(MAILGUN_OPENED)
    complained["event-data"]["event"] = "complained"
    accepted["event-data"]["event"] = "accepted"
    [(event, _)] = mailgun_events(orjson.dumps(complained)).events
    assert event["type"] == "email.spam_reported"
    assert mailgun_events(orjson.dumps(accepted)).ignored == {"accepted": 1}


def test_a_mailgun_signature_is_checked_for_key_freshness_and_presence() -> None:
    now = int(time.time())
    verifier = MailgunVerifier(MAILGUN)
    assert verifier.refusal(mailgun_signed(MAILGUN_OPENED, now), now) is None
    assert verifier.refusal(mailgun_signed(MAILGUN_OPENED, now, "another-key"), now) == "invalid"
    assert verifier.refusal(mailgun_signed(MAILGUN_OPENED, now - 600), now) == "stale"
    assert verifier.refusal(orjson.dumps(MAILGUN_OPENED["event-data"]), now) == "missing"
    tampered = mailgun_signed(MAILGUN_OPENED, now).replace(b"a8ce0edb", b"b8ce0edb")
    assert verifier.refusal(tampered, now) == "invalid"


def test_a_typeform_response_is_a_form_submission_with_its_mapped_answers() -> None:
    [(event, _)] = typeform_events(orjson.dumps(TYPEFORM_RESPONSE), TYPEFORM).events
    assert event == {
        "event_id": "typeform:a3a12ec67a1365927098a606107fac15", "type": "form.submitted",
        "occurred_at": "2018-01-18T18:17:02Z", "form_kind": "demo_request",
        "lead": {"id": "crm-9001", "email": "Laura@Example.com", "name": "Laura Diaz"},
        "source": "typeform", "fields": {"budget": "approved"},
        "message": "Our line stops twice a week",
    }  # fmt: skip


def test_without_the_crm_id_the_typeform_lead_is_the_lowercased_email() -> None:
    body = copy.deepcopy(TYPEFORM_RESPONSE)
    del body["form_response"]["hidden"]
    [(event, _)] = typeform_events(orjson.dumps(body), TYPEFORM).events
    assert event["lead"]["id"] == "laura@example.com"


def test_a_typeform_form_the_sources_file_does_not_name_is_ignored() -> None:
    body = copy.deepcopy(TYPEFORM_RESPONSE)
    body["form_response"]["form_id"] = "other"
    assert typeform_events(orjson.dumps(body), TYPEFORM).ignored == {"unmapped_form": 1}


def test_a_typeform_signature_is_checked_over_the_body_as_sent() -> None:
    body = orjson.dumps(TYPEFORM_RESPONSE)
    verifier = TypeformVerifier(TYPEFORM)
    assert verifier.refusal(typeform_signature(body), body) is None
    assert verifier.refusal(typeform_signature(body, "wrong"), body) == "invalid"
    assert verifier.refusal(typeform_signature(body), body.replace(b"Laura", b"Maura")) == \
        "invalid"  # fmt: skip
    assert verifier.refusal({}, body) == "missing"
