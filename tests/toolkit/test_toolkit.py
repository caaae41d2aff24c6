"""The operator's toolkit: simulate, produce, topics create, tail, and lead/account (CLI and
HTTP) against a real broker and Redis."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from cli.main import main
from scoring.engine import Engine
from scoring.replay import Replay
from scoring.topics import INPUT_TOPICS
from tests.conftest import Services
from tests.live import Worker, http_json, read_topics, run, wait_for
from toolkit.simulate import simulated_events
from toolkit.views.records import line_of

START = "2026-11-20T10:00:00Z"
START_MS = 1_795_168_800_000


def invoke(services: Services, prefix: str, *args: str) -> Any:
    env = {"KAFKA_BOOTSTRAP_SERVERS": services.kafka_bootstrap, "REDIS_URL": services.redis_url,
           "LEADTEMP_TOPIC_PREFIX": prefix, "LEADTEMP_REDIS_PREFIX": prefix.replace(".", ":")}  # fmt: skip
    return CliRunner().invoke(main, list(args), env=env)


def inputs_of(services: Services, prefix: str) -> dict[str, list[tuple[bytes | None, bytes]]]:
    records = run(read_topics(services.kafka_bootstrap, [prefix + t for t in INPUT_TOPICS],
                              idle_ms=800))  # fmt: skip
    out: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for r in records:
        out.setdefault(r.topic[len(prefix) :], []).append((r.key, r.value))
    return {t: sorted(v, key=lambda kv: kv[1]) for t, v in out.items()}


# ----------------------------------------------------------------------------- simulate


def test_simulate_with_a_seed_publishes_the_same_events_twice(
    services: Services, topic_prefix: str
) -> None:
    runs = []
    for n in (1, 2):
        prefix = f"{topic_prefix}{n}."
        result = invoke(services, prefix, "simulate", "--count", "300", "--seed", "5",
                        "--start", START, "--rate", "2000")  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "events/s (asked 2000)" in result.stderr
        runs.append(inputs_of(services, prefix))
    assert runs[0] == runs[1]
    assert sum(len(v) for v in runs[0].values()) >= 300  # bursts of opens add a few


def test_simulated_traffic_has_every_kind_of_lead_and_message() -> None:
    lines = [line for line, _ in zip(simulated_events(300, 60, 3, START_MS, 20), range(6000),
                                     strict=False)]  # fmt: skip
    replay = Replay(Engine(), START_MS + 6000 * 50 + 60_000)
    records = []
    for i, line in enumerate(lines):
        records += replay.feed(line, i)
    topics = Counter(r.topic for r in records)
    reasons = Counter(r.value.get("reason") for r in records if r.topic == "events.deadletter")
    temps = Counter(r.value["to"] for r in records if r.topic == "leads.temperature")
    assert topics["alerts.hot-lead"] >= 1 and topics["alerts.hot-account"] >= 1
    assert temps["disqualified"] >= 1 and temps["warm"] >= 1 and temps["cold"] >= 1
    assert replay.summary.duplicates >= 1
    assert {"invalid_json", "unknown_type", "invalid_event", "future_event"} <= set(reasons)


def test_simulate_writes_jsonl_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "sim.jsonl"
    args = ["simulate", "--count", "50", "--seed", "9", "--start", START, "-o", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    first = out.read_bytes()
    assert CliRunner().invoke(main, args).exit_code == 0
    assert out.read_bytes() == first and len(first.splitlines()) == 50


# ----------------------------------------------------------------------------- produce, topics


def test_produce_publishes_each_event_to_its_channel_keyed_by_lead(
    services: Services, topic_prefix: str, examples: Path
) -> None:
    result = invoke(services, topic_prefix, "produce", str(examples / "personas.jsonl"))
    assert result.exit_code == 0, result.output
    published = inputs_of(services, topic_prefix)
    lines = (examples / "personas.jsonl").read_bytes().splitlines()
    assert sum(len(v) for v in published.values()) == len([ln for ln in lines if ln.strip()])
    for topic, messages in published.items():
        for key, value in messages:
            try:
                event = orjson.loads(value)
                channel = event["type"].split(".")[0]
            except (orjson.JSONDecodeError, KeyError, AttributeError):
                assert (topic, key) == ("events.form", None)  # left to the worker's dead letters
                continue
            assert topic == f"events.{channel}" or topic == "events.form"
            expected = (event.get("lead") or {}).get("id") or event.get("visitor_id")
            assert key == (expected.encode() if expected else None)


def test_topics_create_is_idempotent(services: Services, topic_prefix: str) -> None:
    first = invoke(services, topic_prefix, "topics", "create", "--partitions", "2")
    assert first.exit_code == 0, first.output
    assert f"{topic_prefix}alerts.deadletter: created" in first.stdout
    again = invoke(services, topic_prefix, "topics", "create")
    assert again.exit_code == 0 and "created" not in again.stdout


def test_topics_create_prints_the_plan_and_check_finds_the_topics_as_planned(
    services: Services, topic_prefix: str
) -> None:
    created = invoke(services, topic_prefix, "topics", "create")
    assert (f"{topic_prefix}leads.temperature: created (partitions 4, replicas 1, "
            "min.insync.replicas=1, cleanup.policy=compact)") in created.stdout  # fmt: skip
    checked = invoke(services, topic_prefix, "topics", "check")
    assert (checked.exit_code, checked.stdout.strip()) == (0, "12 topics as planned")


def test_topics_check_exits_1_naming_a_topic_that_differs(
    services: Services, topic_prefix: str
) -> None:
    invoke(services, topic_prefix, "topics", "create", "--partitions", "2")
    checked = invoke(services, topic_prefix, "topics", "check")  # planned: 4 partitions
    assert checked.exit_code == 1
    assert f"{topic_prefix}events.email: partitions is 2, planned 4" in checked.stdout


def test_tail_shows_a_temperature_change_and_an_alert_readably() -> None:
    change = line_of("leads.temperature", {"lead_id": "lisa", "from": "warm", "to": "hot",
                                           "occurred_at": "2026-11-20T14:03:11Z",
                                           "scores": {"total": 53.2, "intent": 25},
                                           "reasons": ["intent>=25"]})  # fmt: skip
    assert change.plain == ("2026-11-20 14:03:11  lead lisa  warm → hot  total 53.2 intent 25"
                            "  intent>=25")  # fmt: skip
    alert = line_of("alerts.hot-lead", {"lead_id": "lisa", "priority": "P1",
                                        "respond_by": "2026-11-20T14:08:11Z",
                                        "contact": {"name": "[red]Lisa", "job_title": "VP"}})  # fmt: skip
    assert "ALERT P1" in alert.plain and "[red]Lisa" in alert.plain  # not read as markup
    assert "respond by 14:08:11" in alert.plain


# ----------------------------------------------------------------------------- lead, account


@pytest.fixture
def scored(services: Services, topic_prefix: str, tmp_path: Path, examples: Path) -> Any:
    """A worker that has scored the personas."""
    w = Worker(services, topic_prefix, tmp_path, LEADTEMP_CLOCK="event")
    w.start()
    invoke(services, topic_prefix, "produce", str(examples / "personas.jsonl"))
    wait_for(lambda: http_json(w.metrics_ports[0], "/leads/lisa")[0] == 200, 90,
             "lisa scored")  # fmt: skip
    yield w
    w.stop_all()


def test_lead_and_account_answer_on_the_cli_and_over_http(
    services: Services, topic_prefix: str, scored: Worker
) -> None:
    status, over_http = http_json(scored.metrics_ports[0], "/leads/lisa")
    result = invoke(services, topic_prefix, "lead", "lisa", "--json")
    assert status == 200 and result.exit_code == 0, result.output
    on_cli = json.loads(result.stdout)
    for same in ("lead_id", "temperature", "contact", "routing", "account_id", "bant"):
        assert on_cli[same] == over_http[same]
    assert on_cli["temperature"] == "hot" and on_cli["top_signals"]
    table = invoke(services, topic_prefix, "lead", "lisa")
    assert "top signals" in table.stdout and "next drop" in table.stdout
    account = on_cli["account_id"]
    status, acct = http_json(scored.metrics_ports[0], f"/accounts/{account}")
    result = invoke(services, topic_prefix, "account", account, "--json")
    assert status == 200 and result.exit_code == 0
    assert json.loads(result.stdout)["members"] == acct["members"]


def test_an_unknown_lead_is_a_clear_not_found(
    services: Services, topic_prefix: str, scored: Worker
) -> None:
    status, body = http_json(scored.metrics_ports[0], "/leads/nobody")
    assert status == 404 and body == {"error": "not_found", "lead_id": "nobody"}
    result = invoke(services, topic_prefix, "lead", "nobody")
    assert result.exit_code == 1 and "lead 'nobody' not found" in result.stderr
    assert http_json(scored.metrics_ports[0], "/accounts/nowhere.example")[0] == 404


def test_readyz_turns_false_when_redis_stops(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    from devstack.processes import free_port
    from devstack.redis_server import start_redis

    own = start_redis(tmp_path / "redis", free_port())
    w = Worker(Services(services.kafka_bootstrap, own.address, "own"), topic_prefix, tmp_path)
    w.start()
    try:
        port = w.metrics_ports[0]
        wait_for(lambda: http_json(port, "/readyz")[0] == 200, 90, "the worker ready")
        assert http_json(port, "/healthz") == (200, {"status": "ok"})
        own.stop()
        _, body = wait_for(
            lambda: (r := http_json(port, "/readyz"))[0] == 503 and r, 30, "readyz false"
        )
        assert body["ready"] is False and body["redis"] is False
        assert http_json(port, "/healthz")[0] == 200  # alive, just not ready
    finally:
        w.stop_all()
        own.stop()


def test_tail_follows_the_outputs_until_ctrl_c(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from devstack.processes import die_with_parent
    from tests.live import produce

    record = {"lead_id": "lisa", "from": "warm", "to": "hot", "occurred_at": START,
              "scores": {"total": 53.2, "intent": 25}, "reasons": ["intent>=25"]}  # fmt: skip
    run(produce(services.kafka_bootstrap,
                [(f"{topic_prefix}leads.temperature", b"lisa", orjson.dumps(record))]))  # fmt: skip
    out = tmp_path / "tail.out"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": services.kafka_bootstrap,
           "LEADTEMP_TOPIC_PREFIX": topic_prefix}  # fmt: skip
    with open(out, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "cli", "tail", "--from-beginning",
                                 "--topic", "leads.temperature"], env=env, stdout=f,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)  # fmt: skip
    try:
        wait_for(lambda: "lead lisa  warm → hot" in out.read_text(errors="replace"), 60,
                 "the record on tail's output")  # fmt: skip
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
