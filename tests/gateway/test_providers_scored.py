"""One lead's journey through the tools a B2B team runs, every payload in its provider's
documented shape and signed as the provider signs it: a Mailgun open, a SendGrid click, a
Segment pricing-page view, 20 minutes of a Zoom webinar and a Typeform demo request. The
worker scores them as one lead, by its email, and the demo request makes it hot."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from scoring import rfc3339_from_ms
from tests.conftest import Services
from tests.gateway.test_gateway import BASIC, WRITE_KEY, post, started
from tests.gateway.test_mailgun_typeform import (
    MAILGUN_KEY,
    MAILGUN_OPENED,
    TYPEFORM_RESPONSE,
    TYPEFORM_SECRET,
    mailgun_signed,
    typeform_signature,
)
from tests.gateway.test_sendgrid import CLICK, signed, signing_keys
from tests.gateway.test_zoom import SECRET as ZOOM_SECRET
from tests.gateway.test_zoom import WEBINAR, ended, joined, left, zoom_signed
from tests.live import Worker, http_json, outputs, wait_for

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]

EMAIL = "Dana@Initech.example"
LEAD = EMAIL.lower()


def minutes_ago(n: float) -> int:
    return int(time.time() * 1000 - n * 60_000)


def test_every_providers_payload_is_scored_for_one_lead_and_the_demo_request_makes_it_hot(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    private, public = signing_keys()
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "segment:\n  write_keys: [{env: SEGMENT_WRITE_KEY}]\n  pages: {'/pricing*': pricing}\n"
        "sendgrid: {public_key: {env: SENDGRID_WEBHOOK_KEY}}\n"
        "mailgun: {signing_key: {env: MAILGUN_KEY}}\n"
        "zoom: {secret_token: {env: ZOOM_SECRET_TOKEN}}\n"
        "typeform:\n  secret: {env: TYPEFORM_SECRET}\n"
        "  forms: {lT4Z3j: {form_kind: demo_request, answers: {email: readable_ref_email}}}\n"
    )
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_SOURCES=str(sources),
                      SEGMENT_WRITE_KEY=WRITE_KEY, SENDGRID_WEBHOOK_KEY=public,
                      MAILGUN_KEY=MAILGUN_KEY, ZOOM_SECRET_TOKEN=ZOOM_SECRET,
                      TYPEFORM_SECRET=TYPEFORM_SECRET)  # fmt: skip
    worker = Worker(services, topic_prefix, tmp_path)
    port = gateway.metrics_ports[0]
    now = int(time.time())

    def accepted(path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        status, answer, _ = post(port, body, path, headers)
        assert status == 200, (path, answer)

    try:
        worker.start()
        opened = copy.deepcopy(MAILGUN_OPENED)
        opened["event-data"].update(recipient=EMAIL, timestamp=minutes_ago(50) / 1000)
        accepted("/v1/mailgun/events", mailgun_signed(opened, now))
        click = orjson.dumps([{**CLICK, "email": EMAIL, "timestamp": minutes_ago(40) // 1000}])
        accepted("/v1/sendgrid/events", click, signed(private, click, now))
        page = {"type": "page", "messageId": f"{topic_prefix}page", "anonymousId": "anon-dana",
                "timestamp": rfc3339_from_ms(minutes_ago(30)), "context": {"traits": {"email": EMAIL}},
                "properties": {"url": "https://initech.example/pricing", "path": "/pricing"}}  # fmt: skip
        accepted("/v1/page", orjson.dumps(page), BASIC)
        webinar = {**WEBINAR, "uuid": f"{topic_prefix}webinar=="}
        for call in (joined(rfc3339_from_ms(minutes_ago(25)), webinar),
                     left(rfc3339_from_ms(minutes_ago(5)), webinar),
                     ended(rfc3339_from_ms(minutes_ago(5)), webinar)):  # fmt: skip
            for participant in [call["payload"]["object"].get("participant")]:
                if participant is not None:
                    participant["email"] = EMAIL
            body = orjson.dumps(call)
            accepted("/v1/zoom/events", body, zoom_signed(body, now))
        response: dict[str, Any] = copy.deepcopy(TYPEFORM_RESPONSE)
        response["form_response"].update(token=f"{topic_prefix}response", hidden={},
                                         submitted_at=rfc3339_from_ms(minutes_ago(1)))  # fmt: skip
        response["form_response"]["answers"][1]["email"] = EMAIL
        form = orjson.dumps(response)
        accepted("/v1/typeform/responses", form, typeform_signature(form))

        [(key, alert)] = wait_for(lambda: outputs(services.kafka_bootstrap, topic_prefix)
                                  ["alerts.hot-lead"], 90, "the hot-lead alert")  # fmt: skip
        assert key == LEAD and "auto_sql:demo_request" in alert["reasons"]
        # The events reach the worker on four topics, in any order: once all are in, the
        # lead's engagement is each provider's points (decayed a little): the demo request 15,
        # the webinar 8, the pricing page 5, the click 3 and the open 1 (the sixth signal,
        # beyond the five the report lists).
        wanted = {"demo_request", "webinar.attended", "web.pricing_page_viewed", "email.clicked"}

        def report() -> dict[str, Any]:
            status, body = http_json(worker.metrics_ports[0], f"/leads/{LEAD}")
            return body if status == 200 else {"top_signals": [], "scores": {"engagement": 0}}

        state = wait_for(lambda: (r := report())["scores"]["engagement"] > 31.5 and r, 60,
                         "every provider's points in the lead's state")  # fmt: skip
        assert wanted == {s["signal"] for s in state["top_signals"]}
        assert state["scores"]["engagement"] == pytest.approx(32, abs=0.1)
        changes = outputs(services.kafka_bootstrap, topic_prefix)["leads.temperature"]
        assert {k for k, _ in changes} == {LEAD}  # one lead, whatever the provider
    finally:
        worker.stop_all()
        gateway.stop_all()
