"""What alerts say: Slack escaping, SMS length and encoding, HTTP outcomes, signatures."""

from __future__ import annotations

import time

from alerts.alert import alert_from
from alerts.destinations.base import Delivered, Failed, Retry, outcome_of_status, seconds_until
from alerts.destinations.slack import digest_message
from alerts.destinations.webhook import signature, verify
from alerts.messages import MAX_SMS_SEGMENTS, mrkdwn, sms_body, sms_digest, sms_segments
from tests.alerts.conftest import ALERT, alert


def test_mrkdwn_escapes_control_characters_of_slack() -> None:
    assert mrkdwn("A & B <x>") == "A &amp; B &lt;x&gt;"


def test_mrkdwn_defuses_broadcast_mentions() -> None:
    out = mrkdwn("hi @here and @channel")
    assert "@here" not in out and "@channel" not in out


def test_mrkdwn_keeps_email_addresses_readable() -> None:
    assert mrkdwn("lisa@acme.com") == "lisa@acme.com"


def test_gsm7_text_takes_160_characters_per_single_segment() -> None:
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3


def test_non_gsm_text_takes_70_characters_per_single_segment() -> None:
    assert sms_segments("ł" * 70) == 1 and sms_segments("ł" * 71) == 2


def test_an_sms_fits_two_segments_even_with_a_very_long_name() -> None:
    long = alert(1, contact={"name": "Ł" * 400, "job_title": "VP " * 50, "company": "X" * 80})
    body = sms_body(alert_from("hot_lead", long), "UTC", "https://crm.example.com/leads/1")
    assert sms_segments(body) <= MAX_SMS_SEGMENTS
    assert "Respond by 14:08 UTC" in body


def test_an_sms_carries_who_why_and_the_deadline() -> None:
    body = sms_body(alert_from("hot_lead", alert(1)), "Europe/Berlin", None)
    assert body == ("P1 hot lead: Lisa Chen, VP Operations at Acme Robotics. "
                    "Why: demo_request. Respond by 15:08 CET.")  # fmt: skip


def test_an_sms_digest_fits_two_segments_and_counts_every_alert() -> None:
    alerts = [alert_from("hot_lead", alert(i)) for i in range(30)]
    body = sms_digest(alerts, "UTC")
    assert sms_segments(body) <= MAX_SMS_SEGMENTS and body.startswith("30 hot alerts")


def test_a_slack_digest_keeps_every_section_and_the_block_count_within_slacks_limits() -> None:
    names = (dict(ALERT["contact"], name=f"Person {i} " + "y" * 60) for i in range(2000))
    alerts = [alert_from("hot_lead", alert(i, contact=c)) for i, c in enumerate(names)]
    _, blocks = digest_message(alerts)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(blocks) <= 50 and all(len(t) <= 3000 for t in sections)
    assert blocks[-1]["type"] == "context"  # 2,000 do not fit: the rest are counted
    more = int(blocks[-1]["elements"][0]["text"].removeprefix("+").split()[0])
    assert sum(t.count("(by ") for t in sections) + more == 2000


def test_a_short_slack_digest_is_one_section() -> None:
    _, blocks = digest_message([alert_from("hot_lead", alert(i)) for i in range(3)])
    assert [b["type"] for b in blocks] == ["section"]


def test_2xx_is_delivered() -> None:
    assert outcome_of_status(201, "") == Delivered()


def test_429_is_retried_after_the_retry_after_seconds() -> None:
    assert outcome_of_status(429, "", "7") == Retry("rate_limited", 429, 7.0)


def test_5xx_is_retried() -> None:
    assert isinstance(outcome_of_status(503, "down"), Retry)


def test_other_4xx_are_permanent() -> None:
    assert outcome_of_status(404, "channel_not_found") == Failed("channel_not_found", 404)


def test_retry_after_may_be_an_http_date() -> None:
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (seconds_until(later) or 0) <= 31


def test_a_signature_older_than_five_minutes_is_refused() -> None:
    ts = int(time.time()) - 600
    assert not verify("s", str(ts), b"{}", signature("s", ts, b"{}"))
    assert verify("s", str(ts), b"{}", signature("s", ts, b"{}"), now=ts + 10)
