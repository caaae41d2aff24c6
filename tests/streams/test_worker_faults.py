"""The live worker when messages, code or Kafka go wrong: every message gets an outcome (scored
or dead-lettered, once), a failure is never retried as if it were an outage, and a worker that
makes no progress says so."""

from __future__ import annotations

import base64
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from scoring.topics import INPUT_TOPICS
from tests.conftest import Services
from tests.live import (
    Worker,
    channel_topic,
    check_stream_survives,
    http_json,
    outputs,
    produce,
    repartition_topic,
    run,
    wait_for,
)

pytestmark = pytest.mark.services

FAULTS = Path(__file__).resolve().parent / "faults"  # a sitecustomize that injects a bug


def event(n: int) -> bytes:
    """The only event of its lead: its first classification is a record caused by it."""
    return orjson.dumps({"event_id": f"ok-{n}", "type": "email.clicked",
                         "occurred_at": "2026-10-05T11:00:00Z", "lead": {"id": f"lead-{n}"}})  # fmt: skip


def scored_events(w: Worker) -> set[str]:
    """The event ids that caused a lead record."""
    return {v["caused_by_event_id"] for _, v in outputs(w.services.kafka_bootstrap, w.prefix)
            ["leads.temperature"]}  # fmt: skip


def test_null_empty_and_invalid_utf8_messages_are_dead_lettered_once_and_the_rest_scored(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_CLOCK="event")
    bad: list[tuple[bytes | None, str]] = [
        (None, "no value (a null message, such as a tombstone)"),
        (b"", "empty message (zero bytes)"),
        (b'{"event_id":"\xff\xfe","type":"email.opened"}', "str is not valid UTF-8"),
    ]
    messages: list[tuple[str, bytes | None, bytes | None]] = []
    good: list[bytes] = []
    for channel in INPUT_TOPICS:
        topic = f"{topic_prefix}{channel}"
        for value, _ in bad:
            line = event(len(good))  # on any topic: the type, not the topic, is the channel
            good.append(line)
            messages += [(topic, b"k", line), (topic, b"k", value)]
        messages.append((topic, b"k", (tail := event(len(good)))))
        good.append(tail)
    worker.start()
    try:
        run(produce(services.kafka_bootstrap, messages))
        want = {orjson.loads(line)["event_id"] for line in good}
        wait_for(lambda: scored_events(worker) >= want, 90, "every valid event scored")
        letters = [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)
                   ["events.deadletter"]]  # fmt: skip
        # (topic, original bytes, the start of the detail), whatever their order
        got = sorted((v["topic"], base64.b64decode(v["original"]), v["detail"][:16])
                     for v in letters)  # fmt: skip
        assert got == sorted((f"{topic_prefix}{channel}", value or b"", detail[:16])
                             for channel in INPUT_TOPICS for value, detail in bad)  # fmt: skip
        assert {v["reason"] for v in letters} == {"invalid_json"}
        assert worker.procs[0].poll() is None
        metrics = worker.metrics()
        assert 'leadtemp_dead_letters_total{reason="invalid_json"} 12.0' in metrics
        assert 'leadtemp_events_total{channel="email",type="email.clicked"} 16.0' in metrics
    finally:
        worker.stop_all()


def test_an_event_the_code_fails_on_is_dead_lettered_as_a_processing_error_and_the_rest_scored(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_CLOCK="event",
                    PYTHONPATH=str(FAULTS), LEADTEMP_TEST_FAIL_EVENT="ok-4")  # fmt: skip
    lines = [event(n) for n in range(9)]
    worker.start()
    try:
        run(produce(services.kafka_bootstrap,
                    [(channel_topic(topic_prefix, line), None, line) for line in lines]))  # fmt: skip
        want = {orjson.loads(line)["event_id"] for line in lines} - {"ok-4"}
        wait_for(lambda: scored_events(worker) >= want, 90, "every other event scored")
        letters = wait_for(
            lambda: [v for _, v in outputs(services.kafka_bootstrap, topic_prefix)
                     ["events.deadletter"]], 30, "the dead letter")  # fmt: skip
        assert [(v["reason"], v["detail"]) for v in letters] == [
            ("processing_error", "KeyError: 'injected fault on ok-4'")
        ]
        assert orjson.loads(base64.b64decode(letters[0]["original"]))["event_id"] == "ok-4"
        assert "ok-4" not in scored_events(worker)
        # Then the worker goes on: a later event is scored, nothing is retried forever.
        later = event(9)
        run(produce(services.kafka_bootstrap, [(channel_topic(topic_prefix, later), None, later)]))
        wait_for(lambda: "ok-9" in scored_events(worker), 60, "a later event scored")
        assert "storing a batch failed" not in (tmp_path / "worker-0.log").read_text()
    finally:
        worker.stop_all()


def failing_to_forward(services: Services, prefix: str, tmp_path: Path, **env: str) -> Worker:
    """A worker whose writes to the re-keyed topic fail, as if the broker were unreachable,
    while `tmp_path/refuse` exists."""
    return Worker(services, prefix, tmp_path, PYTHONPATH=str(FAULTS),
                  LEADTEMP_TEST_FAIL_FORWARD_WHILE=str(tmp_path / "refuse"), **env)  # fmt: skip


def retrying_to_forward(worker: Worker, n: int = 0) -> bool:
    log = (worker.log_dir / f"worker-{n}.log").read_text(errors="replace")
    return "forwarding events failed (KafkaConnectionError" in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_worker_stopped_while_an_ingest_batch_is_retried_loses_nothing_and_counts_nothing_twice(
    services: Services, topic_prefix: str, tmp_path: Path, sig: int
) -> None:
    worker = failing_to_forward(services, topic_prefix, tmp_path,
                                LEADTEMP_TIMER_INTERVAL_MS="3600000")  # as no_timer_worker  # fmt: skip
    refuse = tmp_path / "refuse"

    def disrupt(first: Any, send_rest: Any) -> None:
        refuse.touch()
        send_rest()
        wait_for(lambda: retrying_to_forward(worker), 90, "the ingest batch to be retried")
        worker.kill(first, sig)
        refuse.unlink()
        worker.start()

    try:
        check_stream_survives(worker, disrupt)
    finally:
        worker.stop_all()


def test_a_partition_that_makes_no_progress_is_reported_stuck_and_the_worker_not_ready(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = failing_to_forward(services, topic_prefix, tmp_path, LEADTEMP_STUCK_AFTER_S="3")
    worker.start()
    port = worker.metrics_ports[0]
    try:
        wait_for(lambda: http_json(port, "/readyz")[0] == 200, 90, "the worker ready")
        assert http_json(port, "/livez") == (200, {"live": True, "not_wedged": True})
        (tmp_path / "refuse").touch()
        line = event(1)
        run(produce(services.kafka_bootstrap, [(channel_topic(topic_prefix, line), None, line)]))
        started = time.monotonic()
        _, body = wait_for(lambda: (r := http_json(port, "/readyz"))[0] == 503 and r, 30,
                           "readyz to say a partition is stuck")  # fmt: skip
        assert body["no_partition_stuck"] is False and body["redis"] is True
        assert time.monotonic() - started < 3 + 5 + 5  # the threshold, the check's period, slack
        assert http_json(port, "/livez")[0] == 503  # Redis and Kafka answer: the worker is wedged
        stuck = wait_for(lambda: [line for line in worker.metrics().splitlines()
                                  if line.startswith("leadtemp_partition_stuck{")
                                  and line.endswith(" 1.0")], 10, "the gauge")  # fmt: skip
        assert len(stuck) == 1 and f'topic="{topic_prefix}events.email"' in stuck[0]
        (tmp_path / "refuse").unlink()
        wait_for(lambda: http_json(port, "/readyz")[0] == 200, 60, "ready again once it moves on")
        wait_for(lambda: "ok-1" in scored_events(worker), 60, "the event scored")
    finally:
        worker.stop_all()


def test_a_partition_with_nothing_applied_is_read_from_its_start_whatever_kafka_committed(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    # A worker that dies in its first batch has had the messages it fetched acknowledged (and
    # committed) by Faust, though none was applied: its successor must not start after them.
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.bundles import EVENT, Item, bundle
    from streams.placement import partition_of
    from streams.plumbing.topics import all_topics, ensure_topics

    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_CLOCK="event")
    ensure_topics(services.kafka, all_topics(worker_settings(worker)), 4)
    line = event(1)
    rekeyed = repartition_topic(topic_prefix)
    p = partition_of("lead-1", 4)
    run(produce(services.kafka_bootstrap, [(rekeyed, None, bundle([Item(None, EVENT, line)]))], partition=p))

    async def commit_past_it() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=services.kafka_bootstrap,
                                    group_id=f"{topic_prefix}worker", enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        try:
            tps = [TopicPartition(rekeyed, i) for i in range(4)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.commit(ends)
            assert ends[TopicPartition(rekeyed, p)] == 1
        finally:
            await consumer.stop()

    run(commit_past_it())
    worker.start()
    try:
        wait_for(lambda: "ok-1" in scored_events(worker), 90, "the event scored")
    finally:
        worker.stop_all()


def worker_settings(worker: Worker) -> Any:
    from streams.plumbing.settings import Connections

    return Connections(topic_prefix=worker.prefix)
