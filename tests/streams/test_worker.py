"""The live worker against a real broker and Redis: same records as replay, nothing lost."""

from __future__ import annotations

import base64
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from scoring.engine import Engine
from scoring.replay import Replay
from tests.conftest import Services
from tests.streams.live import (
    Worker,
    channel_topic,
    end_offsets,
    outputs,
    produce,
    repartition_topic,
    run,
    wait_for,
)

pytestmark = pytest.mark.services


@pytest.fixture
def worker(services: Services, topic_prefix: str, tmp_path: Path) -> Any:
    w = Worker(services, topic_prefix, tmp_path)
    yield w
    w.stop_all()


def replay_records(lines: list[bytes]) -> list[Any]:
    """What `leadtemp replay --until <now>` gives for the lines."""
    now = int(time.time() * 1000)
    r = Replay(Engine(), now)
    records = []
    for i, line in enumerate(lines):
        records += r.feed(line, i)
    records += r.finish(now)
    return records


def per_key(records: list[tuple[str | None, dict[str, Any]]], id_field: str) -> dict[str, list[Any]]:
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


def test_personas_give_the_same_lead_records_as_replay(worker: Worker, examples: Path) -> None:
    lines = (examples / "personas.jsonl").read_bytes().splitlines()
    worker.start()
    produce_one_by_one(worker, lines)
    expected = replay_records(lines)
    want_leads = [(r.key, r.value) for r in expected if r.topic == "leads.temperature"]
    want_alerts = [(r.key, r.value) for r in expected if r.topic == "alerts.hot-lead"]
    got = wait_for(
        lambda: (o := outputs(worker.services.kafka_bootstrap, worker.prefix))
        and len(o["leads.temperature"]) >= len(want_leads) and o,
        90, "every lead record",
    )  # fmt: skip
    assert per_key(got["leads.temperature"], "change_id") == per_key(want_leads, "change_id")
    assert per_key(got["alerts.hot-lead"], "alert_id") == per_key(want_alerts, "alert_id")
    assert {k: v for k, v in got["leads.temperature"] if v["lead_id"] == "raj"} == {
        k: v for k, v in want_leads if v["lead_id"] == "raj"}


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
    # the good events, each delivered twice, give what they give alone (hot, then cold by time)
    expected = [r.value for r in replay_records(good) if r.topic == "leads.temperature"]
    assert [v for _, v in got["leads.temperature"]] == expected
    assert [v["to"] for v in expected] == ["hot", "cold"]
    assert len(got["alerts.hot-lead"]) == 1
    assert orjson.loads(good[0])["event_id"] == got["alerts.hot-lead"][0][1]["caused_by_event_id"]
