"""`leadtemp notify` as a real process: real Kafka, real Redis, real HTTP."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import yaml

from tests.alerts.conftest import SECRETS, alert, environ
from tests.alerts.providers import WEBHOOK_PATH, Providers, Scripted, twilio_error
from tests.conftest import Services
from tests.live import OwnKafka, Worker, produce, read_topics, run, wait_for

pytestmark = pytest.mark.timeout(300)


def routes_file(tmp_path: Path, providers: Providers, **document: Any) -> Path:
    doc: dict[str, Any] = {
        "destinations": {
            "team-slack": {"type": "slack_webhook", "webhook_url": {"env": "SLACK_WEBHOOK_URL"},
                           "timeout_seconds": 2},
            "crm-hook": {"type": "webhook", "url": providers.url + "/hook",
                         "signing_secret": {"env": "HOOK_SECRET"}, "timeout_seconds": 2},
            "rep-sms": {"type": "twilio_sms", "account_sid": {"env": "TWILIO_ACCOUNT_SID"},
                        "auth_token": {"env": "TWILIO_AUTH_TOKEN"}, "from": "+15005550006",
                        "to": "+14155550100", "base_url": providers.url, "timeout_seconds": 2},
        },
        "default": ["team-slack", "crm-hook"],
        "crm_url": "https://crm.example.com/leads/{lead_id}",
        "retry": {"base_seconds": 0.1, "max_backoff_seconds": 1, "max_seconds": 60},
    }  # fmt: skip
    doc.update(document)
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def notifier(services: Services, prefix: str, tmp_path: Path, routes: Path | None,
             providers: Providers) -> Worker:  # fmt: skip
    env = {**environ(providers), "LEADTEMP_NOTIFIER_LEASE_MS": "1000",
           "LEADTEMP_NOTIFIER_FLUSH_INTERVAL_MS": "200"}  # fmt: skip
    if routes is not None:
        env["LEADTEMP_ROUTES"] = str(routes)
    return Worker(services, prefix, tmp_path, command="notify", **env)


def metric(text: str, series: str) -> float:
    """The value of one series in a /metrics text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def lead_ids_sent(providers: Providers, since: float) -> list[str]:
    """The lead of every Slack message the provider accepted (from the CRM button)."""
    out = []
    for r in providers.accepted(WEBHOOK_PATH):
        if r.at >= since:
            body = r.body.decode()
            out.append(body.split("crm.example.com/leads/")[1].split('"')[0])
    return out


def test_each_alert_reaches_each_destination_once_across_a_kill_9(
    services: Services, topic_prefix: str, redis_prefix: str, tmp_path: Path,
    providers: Providers,
) -> None:  # fmt: skip
    n = 40
    alerts = [alert(5000 + i) for i in range(n)]
    # The first Slack message waits 8 s on a 429; the notifier is killed while it waits.
    providers.script(WEBHOOK_PATH, Scripted(429, "rate_limited", {"Retry-After": "8"}))
    t0 = time.time()
    proc_env = notifier(services, topic_prefix, tmp_path, routes_file(tmp_path, providers),
                        providers)  # fmt: skip
    topic = f"{topic_prefix}alerts.hot-lead"
    run(produce(services.kafka_bootstrap,
                [(topic, a["lead_id"].encode(), orjson.dumps(a)) for a in alerts]))  # fmt: skip
    first = proc_env.start()
    r = redis.Redis.from_url(services.redis_url)

    def done_deliveries() -> int:
        keys = list(r.scan_iter(match="{" + redis_prefix + "alerts}:delivery:*", count=1000))
        return sum(1 for v in r.mget(keys) if v == b"done") if keys else 0

    # Everything but the rate-limited message is delivered and recorded: kill -9 now.
    wait_for(lambda: done_deliveries() >= 2 * n - 1, 60, "all but one delivery done")
    proc_env.kill(first)
    assert len(lead_ids_sent(providers, t0)) == n - 1

    proc_env.start()
    wait_for(lambda: len(lead_ids_sent(providers, t0)) >= n, 60, "the held-up message sent")
    wait_for(lambda: done_deliveries() == 2 * n, 30, "every delivery recorded")
    # The held-up alert's offset was never committed, so it came again: its webhook delivery,
    # done before the kill, was recognised and not sent twice.
    assert (
        metric(proc_env.metrics(1), 'leadtemp_notifier_duplicates_total{destination="webhook"}')
        >= 1
    )
    proc_env.stop_all()

    sent = lead_ids_sent(providers, t0)
    assert sorted(sent) == sorted(a["lead_id"] for a in alerts)  # each exactly once
    hooks = [orjson.loads(x.body)["alert"]["alert_id"] for x in providers.accepted("/hook")
             if x.at >= t0]  # fmt: skip
    assert sorted(hooks) == sorted(a["alert_id"] for a in alerts)


def test_refused_deliveries_and_bad_messages_go_to_alerts_deadletter(
    services: Services, topic_prefix: str, tmp_path: Path, providers: Providers
) -> None:
    providers.script(providers.twilio_messages_path,
                     Scripted(400, twilio_error(21211, "The 'To' number is not valid.")))  # fmt: skip
    routes = routes_file(tmp_path, providers, default=["rep-sms"])
    w = notifier(services, topic_prefix, tmp_path, routes, providers)
    good = alert(6001)
    run(produce(services.kafka_bootstrap, [
        (f"{topic_prefix}alerts.hot-lead", b"lead-6001", orjson.dumps(good)),
        (f"{topic_prefix}alerts.hot-lead", b"x", b"{not json"),
        (f"{topic_prefix}alerts.hot-account", b"y", orjson.dumps({"alert_id": "a"})),
    ]))  # fmt: skip
    w.start()
    dlq = f"{topic_prefix}alerts.deadletter"

    def dead_letters() -> list[dict[str, Any]]:
        return [orjson.loads(m.value) for m in run(read_topics(services.kafka_bootstrap, [dlq],
                                                               idle_ms=300))]  # fmt: skip

    records = wait_for(lambda: len(dead_letters()) == 3 and dead_letters(), 60, "3 dead letters")
    w.stop_all()
    by_reason = sorted(r["reason"] for r in records)
    assert by_reason == ["invalid_alert", "invalid_alert", "rejected"]
    [refused] = [r for r in records if r["reason"] == "rejected"]
    assert refused["alert_id"] == good["alert_id"] and refused["status"] == 400
    assert "invalid_to_number" in refused["detail"]
    assert refused["alert"] == good
    raw = orjson.dumps(records).decode()
    assert all(s not in raw for s in SECRETS.values() if s)


def test_without_a_routing_file_alerts_are_printed_on_the_console(
    services: Services, topic_prefix: str, tmp_path: Path, providers: Providers
) -> None:
    w = notifier(services, topic_prefix, tmp_path, None, providers)
    run(produce(services.kafka_bootstrap,
                [(f"{topic_prefix}alerts.hot-lead", b"lead-7001", orjson.dumps(alert(7001)))]))  # fmt: skip
    w.start()
    log = tmp_path / "notify-0.log"
    wait_for(lambda: "Lisa Chen" in log.read_text(errors="replace"), 60, "the alert on the console")
    series = 'leadtemp_notifier_deliveries_total{destination="console",outcome="delivered"}'
    wait_for(lambda: metric(w.metrics(), series) == 1, 30, "the delivery counted")
    ready = f"http://127.0.0.1:{w.metrics_ports[0]}/readyz"
    with urllib.request.urlopen(ready, timeout=5) as r:
        assert orjson.loads(r.read()) == {"ready": True, "redis": True, "partitions_assigned": True}
    w.stop_all()
    text = log.read_text(errors="replace")
    assert "P1 hot lead" in text and "demo_request" in text and "VP Operations" in text


def test_a_kafka_restart_pauses_the_notifier_and_every_alert_still_arrives_once(
    services: Services, topic_prefix: str, tmp_path: Path, providers: Providers
) -> None:
    kafka = OwnKafka(tmp_path / "kafka")
    own = Services(kafka.address, services.redis_url, "own")
    w = notifier(own, topic_prefix, tmp_path, routes_file(tmp_path, providers), providers)
    topic = f"{topic_prefix}alerts.hot-lead"
    before, after = [alert(8000 + i) for i in range(10)], [alert(8100 + i) for i in range(10)]
    t0 = time.time()
    try:
        run(produce(own.kafka_bootstrap,
                    [(topic, a["lead_id"].encode(), orjson.dumps(a)) for a in before]))  # fmt: skip
        first = w.start()
        wait_for(lambda: len(lead_ids_sent(providers, t0)) >= len(before), 60, "the first alerts")
        kafka.restart()
        run(produce(own.kafka_bootstrap,
                    [(topic, a["lead_id"].encode(), orjson.dumps(a)) for a in after]))  # fmt: skip
        everyone = sorted(a["lead_id"] for a in before + after)
        wait_for(lambda: sorted(lead_ids_sent(providers, t0)) == everyone, 120,
                 "every alert on Slack once, after the restart")  # fmt: skip
        assert first.poll() is None  # it waited; it did not exit
    finally:
        w.stop_all()
        kafka.stop()
    assert sorted(lead_ids_sent(providers, t0)) == everyone  # nothing sent twice meanwhile
