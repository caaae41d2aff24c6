"""`leadtemp export`: the input topics' events as JSONL, in arrival order, against a real broker."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from click.testing import CliRunner

from cli.main import main
from scoring.times import rfc3339_from_ms
from scoring.topics import INPUT_TOPICS
from streams.plumbing.topics import ensure_topics
from tests.conftest import Services
from tests.live import run
from tests.scoring.helpers import at, ev, replay

pytestmark = pytest.mark.services


# Kafka timestamps from an hour ago: the broker deletes what is older than its retention.
BASE_MS = int(time.time() * 1000) - 3_600_000


def arrived(minute: int) -> int:
    return BASE_MS + minute * 60_000


async def produce_at(bootstrap: str, messages: list[tuple[str, bytes, int]]) -> None:
    """(topic, value, Kafka timestamp) each, in list order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, value, ms in messages:
            await producer.send_and_wait(topic, value, timestamp_ms=ms)
    finally:
        await producer.stop()


def exported(services: Services, prefix: str, tmp_path: Path, *args: str) -> list[bytes]:
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(main, ["export", "--brokers", services.kafka_bootstrap,
                                       "--topic-prefix", prefix, "-o", str(out), *args])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out.read_bytes().splitlines()


@pytest.fixture
def topics(services: Services, topic_prefix: str) -> None:
    ensure_topics(services.kafka, [topic_prefix + t for t in INPUT_TOPICS], 2)


# Sent out of arrival order across topics: the form first, though it arrived last.
EVENTS = [
    ("events.form", ev("form.submitted", at(minutes=3), form_kind="demo_request"), arrived(3)),
    ("events.email", ev("email.opened", at(minutes=1)), arrived(1)),
    ("events.web", ev("web.page_viewed", at(minutes=2), page_category="pricing"), arrived(2)),
]


@pytest.fixture
def produced(services: Services, topic_prefix: str, topics: None) -> None:
    """EVENTS on the input topics, sent in list order with their arrival times."""
    run(produce_at(services.kafka_bootstrap,
                   [(topic_prefix + t, orjson.dumps(e), when) for t, e, when in EVENTS]))  # fmt: skip


def test_events_come_out_in_arrival_order_across_topics(
    services: Services, topic_prefix: str, tmp_path: Path, produced: None
) -> None:
    lines = exported(services, topic_prefix, tmp_path)
    assert [orjson.loads(line)["type"] for line in lines] == [
        "email.opened", "web.page_viewed", "form.submitted",
    ]  # fmt: skip


def test_the_export_replays_as_the_events_it_holds(
    services: Services, topic_prefix: str, tmp_path: Path, produced: None
) -> None:
    in_arrival_order = [orjson.dumps(e) for _, e, _ in sorted(EVENTS, key=lambda m: m[2])]
    records = replay(exported(services, topic_prefix, tmp_path))  # type: ignore[arg-type]
    assert records == replay(in_arrival_order)  # type: ignore[arg-type]


def test_since_leaves_out_what_arrived_before(
    services: Services, topic_prefix: str, tmp_path: Path, produced: None
) -> None:
    lines = exported(services, topic_prefix, tmp_path, "--since", rfc3339_from_ms(arrived(2)))
    assert [orjson.loads(line)["type"] for line in lines] == ["web.page_viewed", "form.submitted"]


def test_before_leaves_out_what_arrived_from_then_on(
    services: Services, topic_prefix: str, tmp_path: Path, produced: None
) -> None:
    lines = exported(services, topic_prefix, tmp_path, "--before", rfc3339_from_ms(arrived(3)))
    assert [orjson.loads(line)["type"] for line in lines] == ["email.opened", "web.page_viewed"]


def test_a_message_with_line_breaks_stays_one_line(
    services: Services, topic_prefix: str, tmp_path: Path, topics: None
) -> None:
    pretty = orjson.dumps(ev("email.opened"), option=orjson.OPT_INDENT_2)
    assert b"\n" in pretty
    run(produce_at(services.kafka_bootstrap, [(topic_prefix + "events.email", pretty, arrived(0))]))
    (line,) = exported(services, topic_prefix, tmp_path)
    assert orjson.loads(line) == orjson.loads(pretty)


def test_no_topics_yet_is_an_empty_export(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    assert exported(services, topic_prefix, tmp_path) == []
