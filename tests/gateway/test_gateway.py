"""`leadtemp gateway` as a real process, over real HTTP, onto a real broker: events accepted
only once Kafka acknowledged them, scored by the worker as if produced directly; what is not
an event dead-lettered with its source; 503 with Retry-After while Kafka is away, and the
retried request then accepted with nothing lost."""

from __future__ import annotations

import base64
import dataclasses
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import Services
from tests.live import OwnKafka, Worker, http_json, outputs, read_topics, run, wait_for
from tests.streams.test_worker import per_key, replay_records

pytestmark = [pytest.mark.services, pytest.mark.timeout(300)]

TOKEN = "gateway-test-token-0123456789"


def post(port: int, body: bytes, path: str = "/v1/events",
         headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, orjson.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read() or b"null"), dict(e.headers)


def started(services: Services, prefix: str, tmp_path: Path, **env: str) -> Worker:
    gateway = Worker(services, prefix, tmp_path, command="gateway", **env)
    gateway.start()
    port = gateway.metrics_ports[0]
    wait_for(lambda: http_json(port, "/readyz")[0] == 200, 60, "the gateway ready")
    return gateway


def dead_letters(services: Services, prefix: str) -> list[dict[str, Any]]:
    return [v for _, v in outputs(services.kafka_bootstrap, prefix)["events.deadletter"]]


def test_events_through_the_gateway_are_scored_as_replay_scores_them(
    services: Services, topic_prefix: str, tmp_path: Path, examples: Path
) -> None:
    lines = (examples / "personas.jsonl").read_bytes().splitlines()
    gateway = started(services, topic_prefix, tmp_path)
    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_CLOCK="event")
    try:
        worker.start()
        # As one NDJSON request: the gateway keeps each event's bytes, topic and key.
        status, answer, _ = post(gateway.metrics_ports[0], b"\n".join(lines))
        assert status == 200 and answer == {"accepted": len(lines) - 1, "dead_lettered": 1}
        want = [(r.key, r.value) for r in replay_records(lines) if r.topic == "leads.temperature"]
        got = wait_for(lambda: (o := outputs(services.kafka_bootstrap, topic_prefix))
                       and len(o["leads.temperature"]) >= len(want) and o, 90,
                       "every lead record")  # fmt: skip
        # (Events of one lead on different channels may be read in another order than sent:
        # what each lead went through is compared, as for any producer.)
        assert per_key(got["leads.temperature"], "to").keys() == per_key(want, "to").keys()
    finally:
        worker.stop_all()
        gateway.stop_all()


def test_a_body_that_is_not_json_is_refused_400_and_dead_lettered_with_its_source(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    gateway = started(services, topic_prefix, tmp_path)
    try:
        status, answer, _ = post(gateway.metrics_ports[0], b"<xml>not json</xml>")
        assert status == 400 and answer["error"] == "invalid_json"
        [letter] = wait_for(lambda: dead_letters(services, topic_prefix), 30, "the dead letter")
        assert (letter["reason"], letter["source"]) == ("invalid_json", "gateway:events")
        assert base64.b64decode(letter["original"]) == b"<xml>not json</xml>"
    finally:
        gateway.stop_all()


def test_an_item_that_is_not_an_event_is_dead_lettered_and_the_rest_accepted(
    services: Services, topic_prefix: str, tmp_path: Path, examples: Path
) -> None:
    event = orjson.loads((examples / "personas.jsonl").read_bytes().splitlines()[0])
    gateway = started(services, topic_prefix, tmp_path)
    try:
        status, answer, _ = post(gateway.metrics_ports[0], orjson.dumps([event, "hello"]))
        assert status == 200 and answer == {"accepted": 1, "dead_lettered": 1}
        [letter] = wait_for(lambda: dead_letters(services, topic_prefix), 30, "the dead letter")
        assert letter["reason"] == "invalid_event" and "item 2 is a JSON string" in \
            letter["detail"]  # fmt: skip
    finally:
        gateway.stop_all()


def test_a_body_over_the_limit_is_refused_413(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_GATEWAY_MAX_BODY_BYTES="2048")
    try:
        status, answer, _ = post(gateway.metrics_ports[0], b"[" + b" " * 4096 + b"]")
        assert status == 413 and answer["max_bytes"] == 2048
        metrics = gateway.metrics()
        assert 'leadtemp_gateway_requests_total{outcome="too_large",source="events"} 1.0' in \
            metrics  # fmt: skip
    finally:
        gateway.stop_all()


def test_with_a_token_set_requests_without_it_are_refused_401(
    services: Services, topic_prefix: str, tmp_path: Path, examples: Path
) -> None:
    line = (examples / "personas.jsonl").read_bytes().splitlines()[0]
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_GATEWAY_TOKEN=TOKEN)
    port = gateway.metrics_ports[0]
    try:
        assert post(port, line)[0] == 401
        assert post(port, line, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert post(port, line, headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
        assert http_json(port, "/healthz")[0] == 200  # the probes stay open
    finally:
        gateway.stop_all()


def test_while_kafka_is_away_requests_get_503_and_a_retry_afterwards_loses_nothing(
    services: Services, topic_prefix: str, tmp_path: Path, examples: Path
) -> None:
    own = OwnKafka(tmp_path / "kafka")
    mine = dataclasses.replace(services, kafka_bootstrap=own.address)
    lines = (examples / "personas.jsonl").read_bytes().splitlines()[:5]
    gateway = started(mine, topic_prefix, tmp_path, LEADTEMP_GATEWAY_KAFKA_TIMEOUT_S="3")
    port = gateway.metrics_ports[0]
    try:
        assert post(port, lines[0])[0] == 200
        own.brokers[-1].stop()
        status, answer, headers = post(port, b"\n".join(lines[1:]))
        assert (status, answer["error"], headers["Retry-After"]) == (503, "kafka_unavailable",
                                                                     "5")  # fmt: skip
        own.brokers.append(own._start())  # the same data and ports
        # The sender retries the same request, as Segment and webhook senders do.
        wait_for(lambda: post(port, b"\n".join(lines[1:]))[0] == 200, 90, "the retry accepted")
        topics = [f"{topic_prefix}events.{c}" for c in ("email", "web", "webinar", "form")]
        sent = {orjson.loads(line)["event_id"] for line in lines}
        arrived = [orjson.loads(r.value)["event_id"]
                   for r in run(read_topics(own.address, topics))]  # fmt: skip
        # Each event at least once (a send cut short may have landed too: the worker drops a
        # repeated event_id), none missing.
        assert set(arrived) == sent
    finally:
        gateway.stop_all()
        own.stop()


# ---------------------------------------------------------------- Segment


def segment_gateway(services: Services, prefix: str, tmp_path: Path) -> Worker:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "segment:\n  write_keys: [{env: SEGMENT_WRITE_KEY}]\n"
        "  pages: {'/pricing*': pricing}\n"
        "  events: {Demo Requested: {type: form.submitted, form_kind: demo_request}}\n"
    )
    return started(services, prefix, tmp_path, LEADTEMP_SOURCES=str(sources),
                   SEGMENT_WRITE_KEY=WRITE_KEY)  # fmt: skip


WRITE_KEY = "segment-write-key-1"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}


def segment_batch(now: str) -> bytes:
    """A pricing-page view and a demo request of one user, as Segment's batch API sends them."""
    common = {"userId": "crm-0042", "anonymousId": "anon-7f3a", "timestamp": now,
              "context": {"traits": {"email": "dana@initech.example", "name": "Dana Scully",
                                     "title": "VP Operations", "company": {"name": "Initech"}}}}
    return orjson.dumps({"batch": [
        {**common, "type": "page", "messageId": "m-page-1", "name": "Pricing",
         "properties": {"url": "https://initech.example/pricing", "path": "/pricing"}},
        {**common, "type": "track", "messageId": "m-track-1", "event": "Demo Requested",
         "properties": {"plan": "enterprise"}},
        {**common, "type": "identify", "messageId": "m-identify-1"},
    ]})  # fmt: skip


def test_a_segment_batch_makes_a_hot_lead_and_its_retry_changes_nothing(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    from scoring import rfc3339_from_ms
    from streams.plumbing.clock import now_ms

    gateway = segment_gateway(services, topic_prefix, tmp_path)
    worker = Worker(services, topic_prefix, tmp_path)
    port = gateway.metrics_ports[0]
    batch = segment_batch(rfc3339_from_ms(now_ms() - 60_000))
    try:
        worker.start()
        assert post(port, batch, "/v1/batch")[0] == 401  # no write key
        status, answer, _ = post(port, batch, "/v1/batch", BASIC)
        assert status == 200
        assert answer == {"success": True, "accepted": 3, "dead_lettered": 0, "ignored": 0}
        alerts = wait_for(lambda: outputs(services.kafka_bootstrap, topic_prefix)
                          ["alerts.hot-lead"], 90, "the hot-lead alert")  # fmt: skip
        [(key, alert)] = alerts
        assert key == "crm-0042" and "auto_sql:demo_request" in alert["reasons"]
        assert alert["caused_by_event_id"] == "segment:m-track-1"
        # Segment retries a batch it got no answer for: the same messageIds, dropped as repeats.
        assert post(port, batch, "/v1/batch", BASIC)[0] == 200
        wait_for(lambda: 'leadtemp_duplicates_total{kind="event_id"} 3.0' in worker.metrics(), 60,
                 "the three repeats dropped")  # fmt: skip
        assert len(outputs(services.kafka_bootstrap, topic_prefix)["alerts.hot-lead"]) == 1
    finally:
        worker.stop_all()
        gateway.stop_all()


def test_a_segment_write_key_in_the_body_is_accepted_and_a_wrong_one_refused(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    gateway = segment_gateway(services, topic_prefix, tmp_path)
    port = gateway.metrics_ports[0]
    call = {"type": "page", "messageId": "m-1", "anonymousId": "anon-1",
            "properties": {"path": "/pricing"}, "timestamp": "2026-12-01T10:00:00Z"}  # fmt: skip
    try:
        assert post(port, orjson.dumps({**call, "writeKey": WRITE_KEY}), "/v1/page")[0] == 200
        assert post(port, orjson.dumps({**call, "writeKey": "nope"}), "/v1/page")[0] == 401
        wrong = {"Authorization": "Basic " + base64.b64encode(b"nope:").decode()}
        assert post(port, orjson.dumps(call), "/v1/page", wrong)[0] == 401
    finally:
        gateway.stop_all()


# ---------------------------------------------------------------- SendGrid


def test_a_signed_sendgrid_batch_of_1000_events_is_accepted_and_a_tampered_one_refused(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    from tests.gateway.test_sendgrid import OPEN, signed, signing_keys

    private, public = signing_keys()
    sources = tmp_path / "sources.yaml"
    sources.write_text("sendgrid:\n  public_key: {env: SENDGRID_WEBHOOK_KEY}\n")
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_SOURCES=str(sources),
                      SENDGRID_WEBHOOK_KEY=public)  # fmt: skip
    port = gateway.metrics_ports[0]
    now = int(time.time())
    batch = orjson.dumps([{**OPEN, "email": f"reader{i}@example.com", "sg_event_id": f"sg-{i}",
                           "timestamp": now - 60} for i in range(1000)])  # fmt: skip
    try:
        tampered = batch.replace(b"reader7@", b"reader8@")
        assert post(port, tampered, "/v1/sendgrid/events", signed(private, batch, now))[0] == 401
        status, answer, _ = post(port, batch, "/v1/sendgrid/events", signed(private, batch, now))
        assert status == 200 and answer == {"accepted": 1000, "dead_lettered": 0}
        arrived = run(read_topics(services.kafka_bootstrap, [f"{topic_prefix}events.email"]))
        assert sorted(orjson.loads(r.value)["event_id"] for r in arrived) == sorted(
            f"sendgrid:sg-{i}" for i in range(1000))
        assert 'leadtemp_gateway_signature_failures_total{source="sendgrid",why="invalid"} 1.0' \
            in gateway.metrics()  # fmt: skip
    finally:
        gateway.stop_all()


# ---------------------------------------------------------------- Mailgun and Typeform


def test_signed_mailgun_and_typeform_requests_land_and_unsigned_ones_are_refused(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    from tests.gateway.test_mailgun_typeform import (
        ENVIRON,
        MAILGUN_OPENED,
        TYPEFORM_RESPONSE,
        mailgun_signed,
        typeform_signature,
    )

    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "mailgun: {signing_key: {env: MAILGUN_KEY}}\n"
        "typeform:\n  secret: {env: TYPEFORM_SECRET}\n  lead_id_hidden: crm_id\n"
        "  forms: {lT4Z3j: {form_kind: demo_request, answers: {email: readable_ref_email}}}\n"
    )
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_SOURCES=str(sources),
                      **ENVIRON)  # fmt: skip
    port = gateway.metrics_ports[0]
    response = orjson.dumps(TYPEFORM_RESPONSE)
    try:
        assert post(port, orjson.dumps(MAILGUN_OPENED), "/v1/mailgun/events")[0] == 401
        assert post(port, response, "/v1/typeform/responses")[0] == 401
        opened = mailgun_signed(MAILGUN_OPENED, int(time.time()))
        assert post(port, opened, "/v1/mailgun/events")[0] == 200
        assert post(port, response, "/v1/typeform/responses", typeform_signature(response))[0] \
            == 200  # fmt: skip
        topics = [f"{topic_prefix}events.email", f"{topic_prefix}events.form"]
        arrived = {orjson.loads(r.value)["event_id"]
                   for r in run(read_topics(services.kafka_bootstrap, topics))}  # fmt: skip
        assert arrived == {"mailgun:DACSsAdVSeGpLid7TN03WA",
                           "typeform:a3a12ec67a1365927098a606107fac15"}  # fmt: skip
    finally:
        gateway.stop_all()


# ---------------------------------------------------------------- forms of your own


def test_a_form_of_your_own_posted_as_html_forms_post_becomes_a_submission_once(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "forms:\n  contact-us:\n    token: {env: CONTACT_FORM_TOKEN}\n"
        "    form_kind: contact_sales\n"
        "    answers: {email: work_email, name: full_name, budget: budget, message: message}\n"
    )
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_SOURCES=str(sources),
                      CONTACT_FORM_TOKEN="form-token-123")  # fmt: skip
    port = gateway.metrics_ports[0]
    body = b"work_email=Ana%40Acme.example&full_name=Ana+Ruiz&budget=approved&message=Call+me"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        assert post(port, body, "/v1/forms/contact-us", form)[0] == 401
        assert post(port, body, "/v1/forms/unknown?token=form-token-123", form)[0] == 401
        for _ in range(2):  # a sender's retry of the same submission
            assert post(port, body, "/v1/forms/contact-us?token=form-token-123", form)[0] == 200
        [first, second] = run(read_topics(services.kafka_bootstrap,
                                          [f"{topic_prefix}events.form"]))  # fmt: skip
        event = orjson.loads(first.value)
        assert event["event_id"] == orjson.loads(second.value)["event_id"]  # dropped as a repeat
        assert (event["form_kind"], event["lead"], event["fields"], event["message"]) == (
            "contact_sales", {"id": "ana@acme.example", "email": "Ana@Acme.example",
                              "name": "Ana Ruiz"}, {"budget": "approved"}, "Call me")
    finally:
        gateway.stop_all()


def test_over_the_rate_limit_requests_get_429_with_retry_after(
    services: Services, topic_prefix: str, tmp_path: Path, examples: Path
) -> None:
    line = (examples / "personas.jsonl").read_bytes().splitlines()[0]
    gateway = started(services, topic_prefix, tmp_path, LEADTEMP_GATEWAY_SOURCE_LIMIT="3/minute")
    port = gateway.metrics_ports[0]
    try:
        assert [post(port, line)[0] for _ in range(3)] == [200, 200, 200]
        status, answer, headers = post(port, line)
        assert (status, answer["error"]) == (429, "rate_limited")
        assert 1 <= int(headers["Retry-After"]) <= 61
    finally:
        gateway.stop_all()


def test_simulate_through_the_gateway_sends_every_event_it_makes(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    gateway = started(services, topic_prefix, tmp_path)
    url = f"http://127.0.0.1:{gateway.metrics_ports[0]}"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cli", "simulate", "--count", "300", "--rate", "3000",
             "--gateway", url], env={**os.environ, "LEADTEMP_TOPIC_PREFIX": topic_prefix},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "sent 300 events" in done.stderr
        topics = [f"{topic_prefix}{t}" for t in ("events.email", "events.web", "events.webinar",
                                                  "events.form", "events.deadletter")]  # fmt: skip
        # The simulator's trickle of malformed messages become the gateway's dead letters.
        assert len(run(read_topics(services.kafka_bootstrap, topics))) == 300
    finally:
        gateway.stop_all()


def test_simulate_as_providers_sends_segment_and_signed_sendgrid_payloads_nothing_lost(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from devstack.demo import provider_environment

    env = provider_environment(tmp_path)
    gateway = started(services, topic_prefix, tmp_path, **env)
    url = f"http://127.0.0.1:{gateway.metrics_ports[0]}"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cli", "simulate", "--count", "300", "--rate", "3000",
             "--gateway", url, "--as-providers"],
            env={**os.environ, **env, "LEADTEMP_TOPIC_PREFIX": topic_prefix},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        topics = [f"{topic_prefix}{t}" for t in ("events.email", "events.web", "events.webinar",
                                                  "events.form", "events.deadletter")]  # fmt: skip
        arrived = [orjson.loads(r.value) for r in run(read_topics(services.kafka_bootstrap,
                                                                   topics))]  # fmt: skip
        assert len(arrived) == 300  # one message a simulated line, each by its own path
        sources = {e.get("source") for e in arrived}
        assert {"sendgrid", "segment", "simulator"} <= sources
        # One person, one lead: every provider names a lead by its email.
        assert all("@" in e["lead"]["id"] for e in arrived if isinstance(e.get("lead"), dict))
        metrics = gateway.metrics()
        assert 'leadtemp_gateway_requests_total{outcome="accepted",source="sendgrid"}' in metrics
        assert 'leadtemp_gateway_requests_total{outcome="accepted",source="segment"}' in metrics
    finally:
        gateway.stop_all()
