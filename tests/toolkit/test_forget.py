"""`leadtemp forget LEAD`: a privacy deletion carried out by a running worker, against a real
broker and Redis (single and cluster)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from scoring import ACCOUNT, LEAD, AccountState, LeadState
from streams.keys import Keys
from tests.conftest import Services
from tests.live import Worker, channel_topic, outputs, produce, run, sync_redis, wait_for

pytestmark = pytest.mark.services

ACME = "acme.com"
PAT = {"email": f"pat.doe@{ACME}", "name": "Pat Doe", "job_title": "CFO"}


def event(event_id: str, lead: str | None, minute: int, kind: str, **more: Any) -> bytes:
    body: dict[str, Any] = {"event_id": event_id, "type": kind,
                            "occurred_at": f"2026-11-30T09:{minute:02d}:00Z", **more}  # fmt: skip
    if lead is not None:
        body["lead"] = {"id": lead, **body.pop("profile", {})}
    return orjson.dumps(body)


STREAM = [
    event("v1", None, 0, "web.page_viewed", visitor_id="visitor-pat", page_category="pricing"),
    event("p1", "lead-pat", 1, "form.submitted", form_kind="demo_request",
          visitor_id="visitor-pat", profile=PAT),
    event("p2", "lead-pat", 2, "webinar.attended", webinar_id="w1"),
    event("k1", "lead-kim", 3, "webinar.attended", webinar_id="w1",
          profile={"email": f"kim@{ACME}"}),
]  # fmt: skip


def keys_naming(services: Services, prefix: str, *names: str) -> list[bytes]:
    client = sync_redis(services)
    try:
        return [k for k in client.scan_iter(match=f"*{prefix}*", count=1000)
                if any(n.encode() in k for n in names)]  # fmt: skip
    finally:
        client.close()


def state_of(services: Services, keys: Keys, kind: str, key: str) -> Any:
    from streams.placement import partition_of

    client = sync_redis(services)
    try:
        for p in range(keys.partitions) if kind == LEAD else [partition_of(key, keys.partitions)]:
            data = client.get(keys.state(p, kind, key))
            if data is not None:
                return (LeadState if kind == LEAD else AccountState).from_bytes(data)
        return None
    finally:
        client.close()


def due_members(services: Services, keys: Keys) -> set[bytes]:
    client = sync_redis(services)
    try:
        return {m for p in range(keys.partitions) for m in client.zrange(keys.due(p), 0, -1)}
    finally:
        client.close()


def forget(worker: Worker, lead: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "forget", lead, "--wait", "60"],
                          env=worker.env, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_forgotten_lead_leaves_nothing_in_redis_and_a_record_without_personal_data(
    any_redis: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = Worker(any_redis, topic_prefix, tmp_path)
    keys = Keys(worker.env["LEADTEMP_REDIS_PREFIX"], int(worker.env["LEADTEMP_PARTITIONS"]))
    worker.start()
    try:
        bootstrap = any_redis.kafka_bootstrap
        run(produce(bootstrap, [(channel_topic(topic_prefix, line), None, line) for line in STREAM]))
        account = wait_for(lambda: (a := state_of(any_redis, keys, ACCOUNT, ACME))
                           and len(a.members) == 2 and a, 120, "both leads in their account")  # fmt: skip
        assert keys_naming(any_redis, keys.prefix, "lead-pat", "visitor-pat")
        assert state_of(any_redis, keys, LEAD, "lead-pat").next_drop is not None  # it is due

        done = forget(worker, "lead-pat")
        assert done.returncode == 0, done.stderr
        assert "forgotten" in done.stderr

        assert keys_naming(any_redis, keys.prefix, "lead-pat", "visitor-pat") == []
        account = state_of(any_redis, keys, ACCOUNT, ACME)
        assert list(account.members) == ["lead-kim"]
        assert not any(b"lead-pat" in m for m in due_members(any_redis, keys))
        assert state_of(any_redis, keys, LEAD, "lead-kim") is not None  # the others stay

        (key, record), = outputs(bootstrap, topic_prefix)["leads.forgotten"]  # fmt: skip
        assert key == "lead-pat" and record["lead_id"] == "lead-pat" and record["state_held"]
        text = orjson.dumps(record).decode()
        assert not [v for v in PAT.values() if v in text]
        assert set(record) == {"forgotten_id", "lead_id", "account_id", "request_id",
                               "requested_at", "state_held"}  # fmt: skip
    finally:
        worker.stop_all()


def test_forgetting_a_lead_never_seen_is_confirmed_with_no_state_held(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = Worker(services, topic_prefix, tmp_path)
    worker.start()
    try:
        line = event("k1", "lead-kim", 3, "email.opened")
        run(produce(services.kafka_bootstrap, [(channel_topic(topic_prefix, line), None, line)]))
        wait_for(lambda: outputs(services.kafka_bootstrap, topic_prefix)["leads.temperature"],
                 120, "the worker to score an event")  # fmt: skip
        done = forget(worker, "lead-nobody")
        assert done.returncode == 0, done.stderr
        (_, record), = outputs(services.kafka_bootstrap, topic_prefix)["leads.forgotten"]  # fmt: skip
        assert record["lead_id"] == "lead-nobody" and not record["state_held"]
    finally:
        worker.stop_all()
