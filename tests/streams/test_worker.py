"""The live worker against a real broker and Redis: same records as replay, nothing lost."""

from __future__ import annotations

import base64
import re
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from scoring.engine import Engine
from scoring.replay import Replay
from scoring.times import ms_from_rfc3339, rfc3339_from_ms
from scoring.topics import INPUT_TOPICS
from tests.conftest import Services
from tests.live import (
    OwnKafka,
    Worker,
    applied_total,
    channel_topic,
    check_stream_survives,
    end_offsets,
    first_worker_alive,
    generated,
    no_timer_worker,
    outputs,
    produce,
    repartition_topic,
    run,
    wait_for,
)

pytestmark = pytest.mark.services


@pytest.fixture
def worker(services: Services, topic_prefix: str, tmp_path: Path) -> Any:
    # The examples are history (October 2026): with the event clock the worker downgrades
    # leads when the latest occurred_at passes the crossing, as replay does, rather than
    # whenever its timer happens to run between two historical events.
    w = Worker(services, topic_prefix, tmp_path, LEADTEMP_CLOCK="event")
    yield w
    w.stop_all()


def replay_records(lines: list[bytes]) -> list[Any]:
    """What `leadtemp replay` gives for the lines."""
    r = Replay(Engine(), int(time.time() * 1000))
    records = []
    for i, line in enumerate(lines):
        records += r.feed(line, i)
    records += r.finish()
    return records


def per_key(
    records: list[tuple[str | None, dict[str, Any]]], id_field: str
) -> dict[str, list[Any]]:
    seq: dict[str, list[Any]] = defaultdict(list)
    for key, value in records:
        seq[str(key)].append(value[id_field])
    return dict(seq)


def produce_one_by_one(w: Worker, lines: list[bytes], key: bytes | None = b"wrong-key") -> None:
    """Send in file order, each once the worker has routed the previous one (as real-time
    producers would: per-lead order across the four channel topics is the order of arrival)."""
    bootstrap = w.services.kafka_bootstrap
    routed = [repartition_topic(w.prefix), w.topic("events.deadletter")]
    for i, line in enumerate(lines):
        run(produce(bootstrap, [(channel_topic(w.prefix, line), key, line)]))
        wait_for(lambda i=i: sum(run(end_offsets(bootstrap, routed)).values()) >= i + 1, 60,
                 f"the worker to route message {i}")  # fmt: skip


@pytest.fixture
def worker_on_any_redis(any_redis: Services, topic_prefix: str, tmp_path: Path) -> Any:
    """As `worker`, on a single Redis and on the Redis Cluster."""
    w = Worker(any_redis, topic_prefix, tmp_path, LEADTEMP_CLOCK="event")
    yield w
    w.stop_all()


def outputs_with_lead_records(worker: Worker, n: int) -> dict[str, Any]:
    """The output topics, once they hold at least `n` lead records."""
    return wait_for(
        lambda: (o := outputs(worker.services.kafka_bootstrap, worker.prefix))
        and len(o["leads.temperature"]) >= n and o,
        90, "every lead record",
    )  # fmt: skip


def test_personas_give_the_same_lead_records_as_replay(
    worker_on_any_redis: Worker, examples: Path
) -> None:
    worker = worker_on_any_redis
    lines = (examples / "personas.jsonl").read_bytes().splitlines()
    worker.start()
    produce_one_by_one(worker, lines)
    expected = replay_records(lines)
    want_leads = [(r.key, r.value) for r in expected if r.topic == "leads.temperature"]
    want_alerts = [(r.key, r.value) for r in expected if r.topic == "alerts.hot-lead"]
    got = outputs_with_lead_records(worker, len(want_leads))
    assert per_key(got["leads.temperature"], "change_id") == per_key(want_leads, "change_id")
    assert per_key(got["alerts.hot-lead"], "alert_id") == per_key(want_alerts, "alert_id")
    assert {k: v for k, v in got["leads.temperature"] if v["lead_id"] == "raj"} == {
        k: v for k, v in want_leads if v["lead_id"] == "raj"
    }


def test_an_ingest_process_and_a_score_process_give_the_records_of_one_worker(
    worker: Worker, examples: Path
) -> None:
    lines = (examples / "personas.jsonl").read_bytes().splitlines()
    worker.start(LEADTEMP_ROLE="ingest")
    worker.start(LEADTEMP_ROLE="score")
    produce_one_by_one(worker, lines)
    want = [(r.key, r.value) for r in replay_records(lines) if r.topic == "leads.temperature"]
    got = outputs_with_lead_records(worker, len(want))
    assert per_key(got["leads.temperature"], "change_id") == per_key(want, "change_id")
    # Each process holds the partitions of its own hop only.
    ingest, score = wait_for(lambda: (held := [lags(worker.metrics(n)) for n in (0, 1)])
                             and all(held) and held, 30, "both to report lag")  # fmt: skip
    assert all(not t.endswith("events-by-lead") for t, _ in ingest)
    assert score and all(t.endswith("events-by-lead") for t, _ in score)


def test_a_stopped_worker_leaves_nothing_in_its_working_directory(
    worker: Worker, examples: Path
) -> None:
    worker.start()
    produce_one_by_one(worker, (examples / "personas.jsonl").read_bytes().splitlines()[:1])
    worker.stop_all()
    assert [p.name for p in worker.log_dir.iterdir()] == ["worker-0.log"]


def test_bad_messages_are_dead_lettered_with_reasons_and_nothing_else_changes(
    worker: Worker, examples: Path
) -> None:
    good = [
        b'{"event_id":"g1","type":"form.submitted","occurred_at":"2026-10-05T11:00:00Z",'
        b'"lead":{"id":"lisa","email":"lisa@contoso.com"},"form_kind":"demo_request"}',
        b'{"event_id":"g2","type":"email.opened","occurred_at":"2026-10-05T11:01:00Z",'
        b'"lead":{"id":"lisa"}}',
    ]
    bad = [
        (b"{not json", "invalid_json"),
        (b'{"event_id":"b1","type":"fax.sent","occurred_at":"2026-10-05T11:00:00Z","lead":{"id":"x"}}',
         "unknown_type"),
        (b'{"event_id":"b2","type":"email.opened","occurred_at":"2026-10-05T11:00:00","lead":{"id":"x"}}',
         "invalid_event"),
        (b'{"event_id":"b3","type":"email.opened","occurred_at":"2099-01-01T00:00:00Z","lead":{"id":"x"}}',
         "future_event"),
        (b'{"event_id":"b4","type":"email.opened","occurred_at":"2026-10-05T11:00:00Z","lead":{"id":"x"},'
         b'"pad":"' + b"x" * (1024 * 1024) + b'"}', "too_large"),
    ]  # fmt: skip
    worker.start()
    produce_one_by_one(worker, [good[0], good[0], *(b for b, _ in bad), good[1], good[1]])
    got = wait_for(
        lambda: (o := outputs(worker.services.kafka_bootstrap, worker.prefix))
        and len(o["events.deadletter"]) >= len(bad) and o["leads.temperature"] and o,
        60, "dead letters and the lead record",
    )  # fmt: skip
    letters = [v for _, v in got["events.deadletter"]]
    assert [v["reason"] for v in letters] == [reason for _, reason in bad]
    for (raw, _), v in zip(bad, letters, strict=True):
        assert base64.b64decode(v["original"]) == raw
        assert v["topic"].startswith(worker.prefix + "events.")
        assert isinstance(v["partition"], int) and isinstance(v["offset"], int)
        assert v["key"] == "wrong-key"
    # the good events, each delivered twice, give what they give alone
    expected = [r.value for r in replay_records(good) if r.topic == "leads.temperature"]
    assert [v for _, v in got["leads.temperature"]] == expected
    assert [v["to"] for v in expected] == ["hot"]
    assert len(got["alerts.hot-lead"]) == 1
    assert orjson.loads(good[0])["event_id"] == got["alerts.hot-lead"][0][1]["caused_by_event_id"]
    counted = worker.metrics()
    for _, reason in bad:
        assert f'leadtemp_dead_letters_total{{reason="{reason}"}} 1.0' in counted
    assert 'leadtemp_duplicates_total{kind="event_id"} 2.0' in counted


def lags(metrics_text: str) -> dict[tuple[str, str], float]:
    """leadtemp_consumer_lag by (topic, partition)."""
    found = re.findall(
        r'^leadtemp_consumer_lag\{partition="(\d+)",topic="([^"]+)"\} (\S+)$', metrics_text, re.M
    )
    return {(topic, partition): float(value) for partition, topic, value in found}


def test_lag_is_reported_for_input_and_rekeyed_partitions_and_reaches_zero(
    worker: Worker,
) -> None:
    lines = generated(200, 20)
    run(produce(worker.services.kafka_bootstrap,
                [(channel_topic(worker.prefix, line), None, line) for line in lines]))  # fmt: skip
    worker.start()
    wait_for(lambda: applied_total(worker) >= len(lines), 90, "every event to be applied")
    every_topic = {worker.topic(t) for t in INPUT_TOPICS} | {repartition_topic(worker.prefix)}
    wait_for(
        lambda: (lag := lags(worker.metrics())) and {t for t, _ in lag} == every_topic
        and not any(lag.values()),
        30, "a lag of 0 for the partitions of every input topic and of the re-keyed topic",
    )  # fmt: skip


def test_kill_9_mid_stream_then_restart_loses_nothing_and_counts_nothing_twice(
    any_redis: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = no_timer_worker(any_redis, topic_prefix, tmp_path)

    def disrupt(first: Any, _: Any) -> None:
        worker.kill(first)  # SIGKILL: no clean shutdown, no final commit
        worker.start()

    try:
        check_stream_survives(worker, disrupt)
    finally:
        worker.stop_all()


def test_two_workers_share_the_partitions_and_one_stopping_changes_nothing(
    any_redis: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = no_timer_worker(any_redis, topic_prefix, tmp_path)

    def disrupt(first: Any, _: Any) -> None:
        worker.kill(first)  # the second takes over its partitions

    worker.start()  # the second worker, started before the stream
    try:
        check_stream_survives(worker, disrupt)
    finally:
        worker.stop_all()


@pytest.mark.parametrize("cluster", [False, True], ids=["redis", "redis-cluster"])
def test_a_redis_restart_mid_stream_makes_the_worker_wait_then_recover(
    services: Services, topic_prefix: str, tmp_path: Path, cluster: bool
) -> None:
    from devstack.processes import free_port
    from devstack.redis_server import cluster_ports, start_redis, start_redis_cluster

    # Its own Redis, with its append-only file: a single one, or a cluster of 3 masters of
    # which one restarts (its share of the slots is away meanwhile).
    if cluster:
        own: Any = start_redis_cluster(tmp_path / "redis", cluster_ports(3), persistent=True)
    else:
        port = free_port()
        own = start_redis(tmp_path / "redis", port, persistent=True)
    mine = Services(services.kafka_bootstrap, own.address, "own", redis_cluster=cluster)
    worker = no_timer_worker(mine, topic_prefix, tmp_path)
    restarted: list[Any] = []

    def disrupt(first: Any, _: Any) -> None:
        if cluster:
            own.restart(1)
        else:
            own.stop()  # SIGTERM: Redis writes its append-only file and exits
            restarted.append(start_redis(tmp_path / "redis", port, persistent=True))

    try:
        check_stream_survives(worker, disrupt)
        assert first_worker_alive(worker)
    finally:
        worker.stop_all()
        for r in restarted:
            r.stop()
        own.stop()


def test_a_kafka_restart_mid_stream_makes_the_worker_wait_then_recover(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    kafka = OwnKafka(tmp_path / "kafka")
    worker = no_timer_worker(Services(kafka.address, services.redis_url, "own"), topic_prefix,
                             tmp_path)  # fmt: skip
    outage: list[float] = []

    def disrupt(first: Any, _: Any) -> None:
        outage.append(time.monotonic())
        kafka.restart()
        outage.append(time.monotonic())

    try:
        check_stream_survives(worker, disrupt)
        assert first_worker_alive(worker)
        # The outage shows in the log, once per kind of error and 10 s (streams/plumbing/logs.py):
        # aiokafka's clients logged ~2,100 lines a second of it, ~60 with metadata backoff.
        log = (worker.log_dir / "worker-0.log").read_text(errors="replace")
        errors = log.count("Unable connect to node") + log.count("Unable to update metadata")
        assert 1 <= errors <= 4 * (1 + (outage[1] - outage[0]) / 10), errors
    finally:
        worker.stop_all()
        kafka.stop()


def test_a_worker_restarted_with_raised_thresholds_downgrades_at_once_the_leads_they_drop(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    # Warm at a total of 24 a week ago: under v1 (the default thresholds) it stays warm for
    # 3 more days; v2 (warm_total 23) no longer holds it, since days ago.
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: v1\n")
    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_RULES=str(rules))
    week_ago = int(time.time() * 1000) - 7 * 86_400_000
    lines = [orjson.dumps({"event_id": f"w{i}", "type": "webinar.attended",
                           "occurred_at": rfc3339_from_ms(week_ago + i * 60_000),
                           "lead": {"id": "pat", "email": "pat@gmail.com"}})
             for i in range(3)]  # fmt: skip
    bootstrap = services.kafka_bootstrap

    def changes() -> list[dict[str, Any]]:
        return [v for _, v in outputs(bootstrap, topic_prefix)["leads.temperature"]]

    try:
        run(produce(bootstrap, [(channel_topic(topic_prefix, line), None, line) for line in lines]))
        first = worker.start()
        wait_for(lambda: [c["to"] for c in changes()] == ["cold", "warm"], 90, "pat to be warm")
        worker.kill(first, signal.SIGTERM)
        rules.write_text("version: v2\nthresholds:\n  warm_total: 23\n")
        worker.start()
        wait_for(lambda: len(changes()) == 3, 90, "the downgrade under v2")
        drop = changes()[-1]
        assert (drop["from"], drop["to"], drop["rules_version"]) == ("warm", "cold", "v2")
        assert "decay" in drop["reasons"] and drop["caused_by_event_id"] is None
        assert ms_from_rfc3339(drop["occurred_at"]) < week_ago + 6 * 86_400_000
        log = (tmp_path / "worker-1.log").read_text(errors="replace")
        assert "1 leads and accounts re-indexed, 1 moved" in log
        assert re.search(r'leadtemp_rules_info\{fingerprint="\w+",version="v2"\} 1\.0',
                         worker.metrics(1))  # fmt: skip
    finally:
        worker.stop_all()
