"""Deliveries against real HTTP (providers.py) and a real Redis ledger."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
import pytest

from alerts.destinations.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.alerts.conftest import ALERT, SECRETS, alert
from tests.alerts.providers import WEBHOOK_PATH, Providers, Scripted, twilio_error


def only(providers: Providers, path: str, since: float) -> list[Any]:
    return [r for r in providers.accepted(path) if r.at >= since]


def test_slack_webhook_gets_a_block_kit_message(harness: Any, providers: Providers) -> None:
    t0 = time.time()
    harness(crm_url="https://crm.example.com/leads/{lead_id}").handle(alert(101))
    [request] = only(providers, WEBHOOK_PATH, t0)
    body = request.json()
    assert "Lisa Chen" in body["text"] and "P1" in body["text"]
    blocks = orjson.dumps(body["blocks"]).decode()
    for expected in ("VP Operations", "Acme Robotics", "53.2", "demo_request", "Respond by",
                     "https://crm.example.com/leads/lead-101"):  # fmt: skip
        assert expected in blocks


def test_a_redelivered_alert_is_not_sent_again(harness: Any, providers: Providers) -> None:
    h = harness()
    t0 = time.time()
    h.handle(alert(102))
    h.handle(alert(102), alert(102))
    assert len(only(providers, WEBHOOK_PATH, t0)) == 1


def test_p1_reaches_the_rep_and_escalates_to_the_manager(
    harness: Any, providers: Providers
) -> None:
    t0 = time.time()
    harness(routes=[{"match": {"kind": "hot_lead"}, "to": ["rep-sms", "rep-slack"]}]).handle(
        alert(103)
    )
    sms = only(providers, "/Messages.json", t0)
    assert sorted(r.form()["To"] for r in sms) == ["+14155550101", "+14155550102"]
    slack = only(providers, "/api/chat.postMessage", t0)
    assert sorted(r.json()["channel"] for r in slack) == ["U0ANA", "U0MAX"]


def test_p2_goes_to_the_rep_only(harness: Any, providers: Providers) -> None:
    t0 = time.time()
    harness(routes=[{"match": {"priority": "P2"}, "to": ["rep-sms"]}]).handle(
        alert(104, priority="P2")
    )
    assert [r.form()["To"] for r in only(providers, "/Messages.json", t0)] == ["+14155550101"]


def test_sms_respond_by_is_in_the_recipients_timezone(harness: Any, providers: Providers) -> None:
    t0 = time.time()
    harness(routes=[{"match": {}, "to": ["rep-sms"]}], escalate=[]).handle(alert(105))
    [request] = only(providers, "/Messages.json", t0)
    body = request.form()["Body"]
    assert "06:08 PST" in body  # 14:08 UTC in Los Angeles
    assert request.form()["From"] == "+15005550006"


def test_429_waits_for_retry_after(harness: Any, providers: Providers) -> None:
    path = providers.twilio_messages_path
    providers.script(path, Scripted(429, twilio_error(20429, "Too Many Requests", 429),
                                    {"Retry-After": "2"}))  # fmt: skip
    t0 = time.time()
    harness(routes=[{"match": {}, "to": ["rep-sms"]}], escalate=[]).handle(alert(106))
    tries = [r for r in providers.all(path) if r.at >= t0]
    assert [r.status for r in tries] == [429, 201]
    assert tries[1].at - tries[0].at >= 2.0


def test_a_500_storm_is_retried_until_it_recovers(harness: Any, providers: Providers) -> None:
    providers.script(WEBHOOK_PATH, *[Scripted(500, "rollup_error")] * 4)
    t0 = time.time()
    h = harness()
    h.handle(alert(107))
    statuses = [r.status for r in providers.all(WEBHOOK_PATH) if r.at >= t0]
    assert statuses[-1] == 200 and statuses.count(500) == 4
    assert h.dead_letters == []


def test_a_permanent_400_is_dead_lettered_with_the_reason(
    harness: Any, providers: Providers
) -> None:
    path = providers.twilio_messages_path
    providers.script(path, Scripted(400, twilio_error(21211, "The 'To' number is not valid.")))
    h = harness(routes=[{"match": {}, "to": ["rep-sms"]}], escalate=[])
    t0 = time.time()
    h.handle(alert(108))
    assert len([r for r in providers.all(path) if r.at >= t0]) == 1  # not retried
    [(topic, key, value)] = h.dead_letters
    record = orjson.loads(value)
    assert topic == "alerts.deadletter" and key == alert(108)["alert_id"].encode()
    assert record["reason"] == "rejected" and record["status"] == 400
    assert "invalid_to_number" in record["detail"]
    assert record["destination"]["type"] == "twilio_sms"
    assert no_secret_in(value)
    h.handle(alert(108))  # redelivered: not sent, not dead-lettered again
    assert len(h.dead_letters) == 1


def no_secret_in(raw: bytes) -> bool:
    return all(secret.encode() not in raw for secret in SECRETS.values() if secret)


def test_a_timeout_is_retried(harness: Any, providers: Providers) -> None:
    providers.script("/hook", Scripted(200, "ok", delay=3))  # the destination times out at 2 s
    t0 = time.time()
    h = harness(routes=[{"match": {}, "to": ["crm-hook"]}])
    h.handle(alert(109))
    tries = [r for r in providers.all("/hook") if r.at >= t0]
    assert len(tries) == 2 and h.dead_letters == []


def test_retries_exhausted_are_dead_lettered(harness: Any, providers: Providers) -> None:
    providers.script("/hook", *[Scripted(503, "down")] * 6)
    h = harness(routes=[{"match": {}, "to": ["crm-hook"]}])
    h.handle(alert(110))
    [(_, _, value)] = h.dead_letters
    record = orjson.loads(value)
    assert record["reason"] == "retries_exhausted" and record["status"] == 503


def test_webhook_signature_verifies_with_the_shared_secret(
    harness: Any, providers: Providers
) -> None:
    t0 = time.time()
    harness(routes=[{"match": {}, "to": ["crm-hook"]}]).handle(alert(111))
    [r] = only(providers, "/hook", t0)
    headers = {k.lower(): v for k, v in r.headers.items()}
    secret = SECRETS["HOOK_SECRET"]
    ts, sig = headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
    assert verify(secret, ts, r.body, sig)
    assert not verify("another-secret", ts, r.body, sig)
    assert not verify(secret, ts, r.body.replace(b"lead-111", b"lead-999"), sig)
    assert headers[DELIVERY_HEADER.lower()]
    assert r.json()["alert"]["occurred_at"] == "2026-11-20T14:03:11Z"  # as published


def test_mrkdwn_injection_is_rendered_harmless(harness: Any, providers: Providers) -> None:
    evil = {**alert(112)["contact"], "name": "<!channel> @here *Boss*",
            "job_title": "<https://evil.example|click me>", "company": "A & B <!everyone>"}  # fmt: skip
    t0 = time.time()
    harness().handle(alert(112, contact=evil))
    [r] = only(providers, WEBHOOK_PATH, t0)
    text = orjson.dumps(r.json()).decode()
    assert "<!channel>" not in text and "<!everyone>" not in text
    assert "<https://evil" not in text and "@here" not in text
    assert "&lt;!channel&gt;" in text and "A &amp; B" in text


def test_sms_strips_control_characters(harness: Any, providers: Providers) -> None:
    evil = {**alert(113)["contact"], "name": "Lisa\x00\x1b[31m\u202eChen\r\nSTOP"}
    t0 = time.time()
    harness(routes=[{"match": {}, "to": ["rep-sms"]}], escalate=[]).handle(alert(113, contact=evil))
    [r] = only(providers, "/Messages.json", t0)
    body = r.form()["Body"]
    assert not any(ord(c) < 32 or c == "\u202e" for c in body)


def test_a_burst_beyond_the_limit_becomes_one_digest(harness: Any, providers: Providers) -> None:
    dests = {
        "rep-sms": {
            "type": "twilio_sms",
            "account_sid": {"env": "TWILIO_ACCOUNT_SID"},
            "auth_token": {"env": "TWILIO_AUTH_TOKEN"},
            "from": "+15005550006",
            "base_url": providers.url,
            "timeout_seconds": 2,
            "limit": {"messages": 2, "per_minutes": 0.05},
        }
    }  # 3 s window
    h = harness(destinations=dests, default=["rep-sms"], escalate=[])
    t0 = time.time()
    h.handle(*(alert(200 + i) for i in range(6)))
    assert len(only(providers, "/Messages.json", t0)) == 2  # the limit
    assert h.flush() == 0  # not due before the window has passed
    deadline = time.monotonic() + 10
    while h.flush() == 0:
        assert time.monotonic() < deadline, "the digest never became due"
        time.sleep(0.2)
    sent = only(providers, "/Messages.json", t0)
    assert len(sent) == 3
    digest = sent[-1].form()["Body"]
    assert digest.startswith("4 hot alerts held back")
    h.handle(*(alert(200 + i) for i in range(6)))  # redelivered: nothing more
    assert h.flush() == 0 and len(only(providers, "/Messages.json", t0)) == 3


def test_a_slack_digest_of_200_held_alerts_is_accepted_and_counts_them_all(
    harness: Any, providers: Providers
) -> None:
    dests = {"team-slack": {"type": "slack_webhook", "webhook_url": {"env": "SLACK_WEBHOOK_URL"},
                            "timeout_seconds": 2,
                            "limit": {"messages": 1, "per_minutes": 0.02}}}  # fmt: skip
    h = harness(destinations=dests, default=["team-slack"], escalate=[])
    t0 = time.time()
    long_names = (dict(ALERT["contact"], name=f"Person {i} " + "x" * 40) for i in range(201))
    h.handle(*(alert(1000 + i, contact=c) for i, c in enumerate(long_names)))
    deadline = time.monotonic() + 10
    while h.flush() == 0:  # the 200 held back, once the 1.2 s window has passed
        assert time.monotonic() < deadline, "the digest never became due"
        time.sleep(0.2)
    sent = only(providers, WEBHOOK_PATH, t0)
    assert [r.status for r in sent] == [200, 200]  # the imitation refuses over-long blocks
    blocks = sent[-1].json()["blocks"]
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    shown = text.count("(by ")
    more = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert text.startswith("200 hot alerts held back")
    assert shown + sum(int(m.removeprefix("+").split()[0]) for m in more) == 200


def test_quiet_hours_hold_p2_sms_but_not_p1(harness: Any, providers: Providers) -> None:
    # Quiet all day except one minute, so the test does not depend on the hour it runs.
    now = time.gmtime()
    start, end = f"{now.tm_hour:02d}:{now.tm_min:02d}", f"{now.tm_hour:02d}:{now.tm_min:02d}"
    never_quiet_minute = (now.tm_hour * 60 + now.tm_min + 2) % 1440
    end = f"{never_quiet_minute // 60:02d}:{never_quiet_minute % 60:02d}"
    dests = {"rep-sms": {"type": "twilio_sms", "account_sid": {"env": "TWILIO_ACCOUNT_SID"},
                         "auth_token": {"env": "TWILIO_AUTH_TOKEN"}, "from": "+15005550006",
                         "base_url": providers.url, "to": "+14155550199", "timezone": "UTC",
                         "quiet_hours": {"start": start, "end": end}}}  # fmt: skip
    h = harness(destinations=dests, owners=[], default=["rep-sms"])
    t0 = time.time()
    h.handle(alert(301, priority="P2"), alert(302, priority="P1"))
    sent = only(providers, "/Messages.json", t0)
    assert len(sent) == 1 and sent[0].form()["Body"].startswith("P1 hot lead")
    assert h.flush() == 0  # held until the quiet hours end


def test_secrets_never_reach_the_logs(
    harness: Any, providers: Providers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    providers.script(WEBHOOK_PATH, Scripted(500, "rollup_error"), Scripted(404, "no_service"))
    providers.script(providers.twilio_messages_path, Scripted(500, twilio_error(20500, "x", 500)))
    h = harness(routes=[{"match": {}, "to": ["team-slack", "rep-sms", "rep-slack", "crm-hook"]}])
    h.handle(alert(114))
    ours = [r.getMessage() for r in caplog.records if r.name != "aiohttp.access"]  # the fake's log
    text = "\n".join(ours) + "".join(v.decode() for _, _, v in h.dead_letters)
    assert h.dead_letters  # something was logged and dead-lettered
    for secret in [*SECRETS.values(), WEBHOOK_PATH]:
        if secret:
            assert secret not in text


def test_a_failing_destination_does_not_hold_back_the_others(
    harness: Any, providers: Providers
) -> None:
    providers.script("/hook", *[Scripted(503, "down", delay=0.3)] * 4)
    t0 = time.time()
    harness(routes=[{"match": {}, "to": ["crm-hook", "team-slack"]}]).handle(alert(115))
    [slack] = only(providers, WEBHOOK_PATH, t0)
    [hook] = only(providers, "/hook", t0)
    first_failure = min(r.at for r in providers.all("/hook") if r.at >= t0)
    assert slack.at < first_failure + 0.3 < hook.at  # Slack did not wait for the retries
