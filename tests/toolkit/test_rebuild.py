"""`leadtemp rebuild`: Redis lost in the middle of a stream, its state rebuilt from the input
topics, the workers resumed (a real broker, Redis and worker processes)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from scoring import INPUT_TOPICS, Engine, Record, Replay, ms_from_rfc3339, rfc3339_from_ms
from scoring.events import parse_event
from streams.plumbing.kafka_access import plaintext
from tests.alerts.providers import Providers
from tests.alerts.test_notify_process import notifier, routes_file
from tests.conftest import Services
from tests.live import (
    Worker,
    applied_offsets,
    applied_total,
    channel_topic,
    events_of,
    generated,
    lead_states,
    no_timer_worker,
    outputs,
    produce,
    redis_prefix_of,
    routed_messages,
    run,
    sync_redis,
    wait_for,
)
from toolkit.export import export_events
from toolkit.rebuild import Published, record_id, unpublished

pytestmark = pytest.mark.services


def rebuild(worker: Worker, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "rebuild", *flags], env=worker.env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def send(worker: Worker, lines: list[bytes]) -> None:
    run(produce(worker.services.kafka_bootstrap,
                [(channel_topic(worker.prefix, line), None, line) for line in lines]))  # fmt: skip


def routed_after(worker: Worker, applied: dict[int, int]) -> list[bytes]:
    """The events routed after the offsets `applied` gives, partition by partition."""
    return [e for m in routed_messages(worker) if m.offset > applied.get(m.partition, -1)
            for e in events_of(m)]  # fmt: skip


def wipe(services: Services, prefix: str) -> None:
    """Redis loses everything of the deployment."""
    client = sync_redis(services)
    try:
        for name in list(client.scan_iter(match=f"*{prefix}*", count=1000)):
            client.delete(name)
    finally:
        client.close()


def test_state_rebuilt_after_redis_is_lost_mid_stream_equals_replay_and_no_alert_goes_twice(
    any_redis: Services, topic_prefix: str, tmp_path: Path, providers: Providers
) -> None:
    t0 = time.time()
    lines = generated(4_000, leads=200)
    half = len(lines) // 2
    worker = no_timer_worker(any_redis, topic_prefix, tmp_path)
    notify = notifier(any_redis, topic_prefix, tmp_path,
                      routes_file(tmp_path, providers, default=["crm-hook"]), providers)  # fmt: skip
    notify.start()  # its delivery ledger is in the Redis that is lost, too
    first = worker.start()
    try:
        send(worker, lines[:half])
        wait_for(lambda: applied_total(worker) >= half, 120, "the first half applied")
        refused = rebuild(worker)
        assert refused.returncode == 1 and "stop every worker" in refused.stderr, refused.stderr
        worker.kill(first, 15)  # stopped, as an operator does on finding Redis lost
        wipe(any_redis, redis_prefix_of(worker))

        done = rebuild(worker)
        assert done.returncode == 0, done.stderr
        assert "rebuilt" in done.stderr
        again = rebuild(worker)  # the state is there now
        assert again.returncode == 1 and "--replace" in again.stderr, again.stderr
        handed_over = applied_offsets(worker)
        # What the rebuild read, in the order it read it: the first half, as `leadtemp export`.
        exported: list[bytes] = []
        inputs = [topic_prefix + t for t in INPUT_TOPICS]
        run(export_events(plaintext(any_redis.kafka_bootstrap), inputs, exported.append))

        worker.start()
        send(worker, lines[half:])
        second = set(lines[half:])
        rest = wait_for(lambda: (r := routed_after(worker, handed_over)) and second <= set(r)
                        and r, 120, "the second half routed")  # fmt: skip
        wait_for(lambda: _applied_everything(worker), 120, "every routed message applied")

        # Replay of what the rebuild read (then the downgrades due by now), then the second half
        # as the worker received it.
        now = int(time.time() * 1000)
        replay = Replay(Engine(), now + 600_000)
        replay.feed_lines(list(enumerate(exported, 1)))
        replay.finish(now)
        records = []
        for line in rest:
            event = parse_event(line, now + 600_000)
            records += replay.engine.apply(event, replay.store).records  # type: ignore[arg-type]
        states = lead_states(worker)
        assert states.keys() == replay.store.leads.keys()
        for lead_id, want in replay.store.leads.items():
            got = states[lead_id]
            assert (got.temp, got.seen, got.last_alert) == (want.temp, want.seen, want.last_alert)
            assert got.eng == pytest.approx(want.eng) and got.intent == pytest.approx(want.intent)

        out = outputs(any_redis.kafka_bootstrap, topic_prefix)
        alerts = Counter(v["alert_id"] for _, v in out["alerts.hot-lead"])
        assert alerts and max(alerts.values()) == 1  # none went out twice
        # Those of the events after the rebuild are out (the first half's went out before).
        want_alerts = {r.value["alert_id"] for r in records if r.topic == "alerts.hot-lead"}
        assert want_alerts <= set(alerts)
        changes = Counter(v["change_id"] for _, v in out["leads.temperature"])
        assert max(changes.values()) == 1
        delivered = wait_for(lambda: len(d := hooks(providers, t0)) >= len(alerts) and d, 60,
                             "every alert delivered")  # fmt: skip
        assert Counter(delivered) == alerts  # each once
    finally:
        worker.stop_all()
        notify.stop_all()


def hooks(providers: Providers, since: float) -> list[str]:
    """The alert ids the webhook destination received since `since`."""
    return [orjson.loads(r.body)["alert"]["alert_id"] for r in providers.accepted("/hook")
            if r.at >= since]  # fmt: skip


def _applied_everything(worker: Worker) -> bool:
    ends: dict[int, int] = {}
    for m in routed_messages(worker):
        ends[m.partition] = max(ends.get(m.partition, -1), m.offset)
    applied = applied_offsets(worker)
    return all(applied.get(p, -1) >= o for p, o in ends.items())


def test_a_rebuild_never_run_here_is_refused(services: Services, topic_prefix: str,
                                             tmp_path: Path) -> None:  # fmt: skip
    worker = Worker(services, topic_prefix, tmp_path)
    done = rebuild(worker)
    assert done.returncode == 1 and "no worker ever ran here" in done.stderr, done.stderr


# ------------------------------------------------------------------ what is published again

NOW = 1_800_000_000_000
DAY = 86_400_000


def change(lead: str, n: int, days_ago: float = 1) -> Record:
    return Record("leads.temperature", lead, {"change_id": f"{lead}-{n}", "occurred_at":
                  rfc3339_from_ms(int(NOW - days_ago * DAY), millis=True)})  # fmt: skip


def alert(lead: str, n: int, days_ago: float = 1) -> Record:
    return Record("alerts.hot-lead", lead, {"alert_id": f"{lead}-a{n}", "occurred_at":
                  rfc3339_from_ms(int(NOW - days_ago * DAY), millis=True)})  # fmt: skip


def held(*records: Record) -> Published:
    """What the output topics hold: these records, in order."""
    out = Published()
    for r in records:
        out.ids.add(record_id(r.value))
        out.last[(r.topic, str(r.key))] = (record_id(r.value), ms_from_rfc3339(r.value["occurred_at"]))
    return out


def ids(records: list[Record]) -> list[str]:
    return [record_id(r.value) for r in records]


def test_per_key_only_the_records_after_the_last_one_out_are_published() -> None:
    rebuilt = [change("pat", 1), change("kim", 1), change("pat", 2), change("pat", 3)]
    # (pat-1 compacted away: only the latest of a key stays on leads.temperature)
    assert ids(unpublished(rebuilt, held(change("pat", 2), change("kim", 1)), NOW)) == ["pat-3"]


def test_a_key_with_nothing_out_gets_all_its_records() -> None:
    assert ids(unpublished([change("pat", 1), change("pat", 2)], held(), NOW)) == ["pat-1", "pat-2"]


def test_when_the_last_record_out_is_not_rebuilt_those_that_occurred_after_it_are_published() -> None:
    rebuilt = [change("pat", 1, days_ago=3), change("pat", 2, days_ago=1)]
    out = held(change("pat", 9, days_ago=2))  # computed in another order before Redis was lost
    assert ids(unpublished(rebuilt, out, NOW)) == ["pat-2"]


def test_an_alert_older_than_the_alert_topics_retention_is_not_raised_again() -> None:
    rebuilt = [alert("pat", 1, days_ago=20), alert("pat", 2, days_ago=1)]
    assert ids(unpublished(rebuilt, held(), NOW)) == ["pat-a2"]
