"""State retention: the worker's timer removes what has been idle past the retention, and only
that (a real worker, Kafka and Redis)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from scoring import ACCOUNT, LEAD, VISITOR
from scoring.times import rfc3339_from_ms
from streams.keys import Keys
from tests.conftest import Services
from tests.live import Worker, channel_topic, exits_with, produce, run, sync_redis, wait_for

pytestmark = pytest.mark.services

DAY = 86_400_000


def event(event_id: str, lead: str | None, days_ago: float, kind: str = "email.opened",
          **more: Any) -> bytes:  # fmt: skip
    body: dict[str, Any] = {"event_id": event_id, "type": kind,
                            "occurred_at": rfc3339_from_ms(int(time.time() * 1000 - days_ago * DAY)),
                            **more}  # fmt: skip
    if lead is not None:
        body["lead"] = {"id": lead, **body.pop("profile", {})}
    return orjson.dumps(body)


STREAM = [
    event("o1", "lead-old", 200),
    event("o2", "lead-old-co", 200, profile={"email": "sam@oldco.com"}),
    event("o3", None, 200, "web.page_viewed", visitor_id="visitor-old", page_category="pricing"),
    event("n1", "lead-new", 0, profile={"email": "kim@newco.com"}),
]


def held(services: Services, keys: Keys) -> set[tuple[str, str]]:
    """(kind, key) of every state in Redis."""
    client = sync_redis(services)
    try:
        found = set()
        for kind in (LEAD, ACCOUNT, VISITOR):
            for p in range(keys.partitions):
                for name in client.scan_iter(match=keys.all_states(p, kind), count=1000):
                    found.add((kind, name.decode().rsplit(f":{kind}:", 1)[1]))
        return found
    finally:
        client.close()


def test_states_idle_past_the_retention_are_removed_and_counted_and_active_ones_stay(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = Worker(services, topic_prefix, tmp_path)  # the default retention: 120 days
    keys = Keys(worker.env["LEADTEMP_REDIS_PREFIX"], int(worker.env["LEADTEMP_PARTITIONS"]))
    worker.start()
    try:
        run(produce(services.kafka_bootstrap,
                    [(channel_topic(topic_prefix, line), None, line) for line in STREAM]))  # fmt: skip
        wait_for(lambda: (LEAD, "lead-new") in held(services, keys), 120, "the events applied")
        remaining = wait_for(lambda: len(h := held(services, keys)) == 2 and h, 60,
                             "the idle states to be removed")  # fmt: skip
        assert remaining == {(LEAD, "lead-new"), (ACCOUNT, "newco.com")}
        metrics = worker.metrics()
        assert 'leadtemp_states_removed_total{kind="lead"} 2.0' in metrics
        assert 'leadtemp_states_removed_total{kind="account"} 1.0' in metrics
        assert 'leadtemp_states_removed_total{kind="visitor"} 1.0' in metrics
        client = sync_redis(services)
        try:
            assert client.get(keys.directory(LEAD, "lead-old")) is None
            assert client.get(keys.directory(LEAD, "lead-new")) is not None
        finally:
            client.close()
    finally:
        worker.stop_all()


def test_a_retention_shorter_than_the_rules_windows_stops_start_up_naming_the_setting(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_STATE_RETENTION_DAYS="3")
    code, log, _ = exits_with(worker, timeout=60)
    assert code != 0
    assert "LEADTEMP_STATE_RETENTION_DAYS" in log and "3 days" in log


def test_partitions_taken_over_together_are_swept_on_different_ticks() -> None:
    from types import SimpleNamespace

    from streams.retention import Sweeper

    swept: list[int] = []

    class Recording(Sweeper):
        async def _sweep_partition(self, p: int, epoch: str, now: int) -> int:
            swept.append(p)
            return 0

    scorer: Any = SimpleNamespace(epochs={p: "e" for p in range(8)}, partitions=8)
    sweeper = Recording(scorer, retention=DAY, every_s=3600)
    asyncio.run(sweeper.sweep(0))
    assert swept == [0]  # the others' turns come over the next hour
