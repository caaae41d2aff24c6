"""Helpers for tests against a live worker: run it as a real process, produce, read outputs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from devstack.kafka_broker import start_kafka
from devstack.processes import ManagedProcess, die_with_parent, free_port
from scoring.engine import Engine
from scoring.topics import REPARTITION_TOPIC
from streams.bundles import unbundle
from tests.conftest import Services
from toolkit.produce import route_of

OUTPUTS = ("leads.temperature", "alerts.hot-lead", "accounts.temperature", "alerts.hot-account",
           "events.deadletter", "leads.forgotten")  # fmt: skip


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll until `condition()` is truthy; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Worker:
    """`leadtemp worker` (or another `leadtemp` command, such as `notify`) as child processes,
    with their own topic and key prefixes."""

    def __init__(
        self, services: Services, prefix: str, log_dir: Path, command: str = "worker", **env: str
    ) -> None:
        self.command = command
        self.metrics_variable = {"worker": "LEADTEMP_METRICS_PORT",
                                 "notify": "LEADTEMP_NOTIFIER_METRICS_PORT",
                                 "gateway": "LEADTEMP_GATEWAY_PORT"}[command]  # fmt: skip
        self.services = services
        self.prefix = prefix
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": services.kafka_bootstrap,
            "REDIS_URL": services.redis_url,
            "LEADTEMP_REDIS_CLUSTER": "true" if services.redis_cluster else "false",
            "LEADTEMP_TOPIC_PREFIX": prefix,
            "LEADTEMP_REDIS_PREFIX": prefix.replace(".", ":"),
            "LEADTEMP_GROUP_ID": f"{prefix}worker",
            "LEADTEMP_NOTIFIER_GROUP_ID": f"{prefix}notifier",
            "LEADTEMP_PARTITIONS": "4",
            "LEADTEMP_METRICS_PORT": str(free_port()),
            "LEADTEMP_TIMER_INTERVAL_MS": "200",
            **env,
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.metrics_ports: list[int] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        """One more process, with `env` over the worker's environment."""
        n = len(self.procs)
        log = open(self.log_dir / f"{self.command}-{n}.log", "wb")  # noqa: SIM115
        port = free_port()
        self.metrics_ports.append(port)
        env = {**self.env, self.metrics_variable: str(port), **env}
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", self.command, "--loglevel", "info"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent, cwd=self.log_dir,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        proc.wait(timeout=60)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                self.kill(p, signal.SIGTERM)

    def metrics(self, n: int = 0) -> str:
        """The /metrics text of the n-th worker started."""
        import urllib.request

        url = f"http://127.0.0.1:{self.metrics_ports[n]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"


def exits_with(worker: Worker, timeout: float = 30) -> tuple[int, str, float]:
    """Start one process that should stop: its exit code, its log and how long it took."""
    started = time.monotonic()
    code = worker.start().wait(timeout=timeout)
    log = (worker.log_dir / f"{worker.command}-0.log").read_text(errors="replace")
    return code, log, time.monotonic() - started


class OwnKafka:
    """A broker of a test's own, to restart mid-test (the shared one stays up)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port, self.controller_port = workdir, free_port(), free_port()
        self.brokers: list[ManagedProcess] = [self._start()]
        self.address = self.brokers[0].address

    def _start(self) -> ManagedProcess:
        return start_kafka(self.workdir, self.port, self.controller_port)

    def restart(self) -> None:
        """SIGTERM (a controlled shutdown, as a rolling restart does), then start again on the
        same data and ports."""
        self.brokers[-1].stop()
        self.brokers.append(self._start())

    def stop(self) -> None:
        for broker in self.brokers:
            broker.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def produce(
    bootstrap: str,
    messages: Iterable[tuple[str, bytes | None, bytes | None]],
    partition: int | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                max_request_size=4 * 1024 * 1024)  # fmt: skip
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send(topic, key=key, value=value, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


def channel_topic(prefix: str, line: bytes) -> str:
    """The contract's topic of an event line (bad JSON goes to the form topic)."""
    return prefix + route_of(line)[0]


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """Total messages per topic (sum of partition end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        totals = {}
        for topic in topics:
            parts = consumer.partitions_for_topic(topic) or set()
            if not parts:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in parts]
            ends = await consumer.end_offsets(tps) if tps else {}
            totals[topic] = sum(ends.values())
        return totals
    finally:
        await consumer.stop()


async def read_topics(bootstrap: str, topics: list[str], idle_ms: int = 1500) -> list[Any]:
    """Every message now in the topics (partition order kept), read until idle."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None,
                                max_partition_fetch_bytes=8 * 1024 * 1024)  # fmt: skip
    await consumer.start()
    got: list[Any] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=idle_ms)
            if not batch:
                return got
            for records in batch.values():
                got.extend(records)
    finally:
        await consumer.stop()


def outputs(bootstrap: str, prefix: str) -> dict[str, list[tuple[str | None, dict[str, Any]]]]:
    """(key, value) of every output record, by default topic name."""
    records = run(read_topics(bootstrap, [prefix + t for t in OUTPUTS]))
    by_topic: dict[str, list[tuple[str | None, dict[str, Any]]]] = {t: [] for t in OUTPUTS}
    for r in records:
        by_topic[r.topic[len(prefix) :]].append(
            (r.key.decode() if r.key is not None else None, orjson.loads(r.value))
        )
    return by_topic


def repartition_topic(prefix: str) -> str:
    return prefix + REPARTITION_TOPIC


def http_json(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Status and JSON body of a GET to a process's HTTP server (0, None: not listening)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read())
    except (urllib.error.URLError, ConnectionError):
        return 0, None


def generated(n: int, leads: int) -> list[bytes]:
    """n events of `leads` leads on free mail (no accounts: leads are independent, so any
    interleaving of partitions gives each lead the same records), all in the past."""
    from bench.generate import events

    start = int(time.time() * 1000) - 120 * 86_400_000
    return list(events(n, leads, accounts=0, days=60, seed=11, start_ms=start))


def redis_prefix_of(w: Worker) -> str:
    return w.env["LEADTEMP_REDIS_PREFIX"]


def sync_redis(services: Services) -> Any:
    """A blocking client of the services' Redis (a cluster client for a cluster)."""
    import redis

    if services.redis_cluster:
        return redis.RedisCluster.from_url(services.redis_url)
    return redis.Redis.from_url(services.redis_url)


def applied_offsets(w: Worker) -> dict[int, int]:
    """The last applied offset of each repartition partition, from Redis."""
    import redis

    client = sync_redis(w.services)
    prefix = redis_prefix_of(w)
    try:
        keys = list(client.scan_iter("{" + prefix + "p*}:applied"))
        values = [client.get(k) for k in keys]  # (one slot a key, on a cluster)
        return {int(k.decode()[len(prefix) + 2 :].split("}")[0].split(".")[0]): int(v)
                for k, v in zip(keys, values, strict=True)}  # fmt: skip
    except (redis.ConnectionError, redis.exceptions.ClusterDownError):
        return {}  # Redis is restarting
    finally:
        client.close()


def routed_messages(w: Worker) -> list[Any]:
    """The repartition topic's messages (bundles of re-keyed events), partition by partition."""
    from tests.live import read_topics

    records = run(read_topics(w.services.kafka_bootstrap, [repartition_topic(w.prefix)],
                              idle_ms=300))  # fmt: skip
    records.sort(key=lambda r: (r.partition, r.offset))
    return records


def events_of(message: Any) -> list[bytes]:
    items = unbundle(message.value)
    return [message.value] if items is None else [item.value for item in items]


def applied_total(w: Worker) -> int:
    """Events the worker has applied: those in the messages up to each applied offset."""
    applied = applied_offsets(w)
    if not applied:
        return 0
    return sum(len(events_of(m)) for m in routed_messages(w)
               if m.offset <= applied.get(m.partition, -1))  # fmt: skip


def routed_in_partition_order(w: Worker) -> list[bytes]:
    """The re-keyed stream as the score agent saw it, partition by partition."""
    return [event for m in routed_messages(w) for event in events_of(m)]


def lead_states(w: Worker) -> dict[str, Any]:
    """Every lead's state in Redis, by lead id (wherever it is placed)."""
    from scoring.state import LeadState

    client = sync_redis(w.services)
    try:
        return {k.decode().rsplit(":lead:", 1)[1]: LeadState.from_bytes(client.get(k))
                for k in client.scan_iter("{" + redis_prefix_of(w) + "p*}:lead:*")}  # fmt: skip
    finally:
        client.close()


def no_timer_worker(services: Services, prefix: str, tmp_path: Path) -> Worker:
    # No timer: downgrades by time then happen only before a lead's own later event, the same
    # whatever the interleaving of partitions, so state can be compared exactly.
    return Worker(services, prefix, tmp_path, LEADTEMP_TIMER_INTERVAL_MS="3600000")


def first_worker_alive(worker: Worker) -> bool:
    return worker.procs[0].poll() is None


def report_mismatches(worker: Worker, states: dict[str, Any], expected: dict[str, Any]) -> None:
    """Where leads' states differ from the engine's, the details, to `mismatch.txt` beside the
    workers' logs (an XFAIL keeps no assertion message): each such lead's fields and every
    message of the re-keyed topic that holds one of its events, with where it was."""
    differing = [lead for lead, want in expected.items()
                 if (states[lead].temp, states[lead].seen, states[lead].last_alert)
                 != (want.temp, want.seen, want.last_alert)]  # fmt: skip
    if not differing:
        return
    lines = [f"applied offsets: {applied_offsets(worker)}"]
    messages = routed_messages(worker)
    for lead in differing:
        got, want = states[lead], expected[lead]
        lines += [f"{lead}: got temp={got.temp} last_alert={got.last_alert} clock={got.clock} "
                  f"seen={list(got.seen)}", f"{' ' * len(lead)}  want temp={want.temp} "
                  f"last_alert={want.last_alert} clock={want.clock} seen={list(want.seen)}"]  # fmt: skip
        for m in messages:
            for event in events_of(m):
                if lead.encode() in event:
                    body = orjson.loads(event)
                    lines.append(f"    p{m.partition} @{m.offset} ts={m.timestamp} "
                                 f"{body.get('event_id')} {body.get('occurred_at')}")  # fmt: skip
    (worker.log_dir / "mismatch.txt").write_text("\n".join(lines) + "\n")


def check_stream_survives(
    worker: Worker, disrupt: Callable[[subprocess.Popen[bytes], Callable[[], None]], None]
) -> None:
    """10,000 events; `disrupt(first_worker, send_rest)` mid-stream (it may send the second
    half itself, with `send_rest`); then every lead's state in Redis equals what the engine
    gives for the same stream, and every expected record id is on the output topics."""
    lines = generated(10_000, leads=300)
    bootstrap = worker.services.kafka_bootstrap
    first = worker.start()
    half = len(lines) // 2
    rest_sent: list[bool] = []

    def send(part: list[bytes]) -> None:
        run(produce(bootstrap, [(channel_topic(worker.prefix, line), None, line) for line in part]))

    def send_rest() -> None:
        if not rest_sent:
            send(lines[half:])
            rest_sent.append(True)

    # The second half is sent after the disruption began, so it always strikes mid-stream.
    send(lines[:half])
    wait_for(lambda: applied_total(worker) >= 2_000, 120, "the worker to apply 2,000 events")
    disrupt(first, send_rest)
    assert applied_total(worker) < len(lines)
    send_rest()
    # Every line routed: counting is not enough, as events routed twice around the disruption
    # can make up the number while a last one is still on its way.
    every_line = set(lines)
    routed = wait_for(lambda: (r := routed_in_partition_order(worker)) and every_line <= set(r) and r,
                      180, "every event to be routed")  # fmt: skip
    wait_for(lambda: applied_total(worker) >= len(routed), 180, "every routed event to be applied")

    # What the engine gives for the same re-keyed stream, in one go (the ingest agent may have
    # routed some events twice around the kill: the engine drops such repeats by event id).
    from scoring.events import parse_event
    from scoring.store import MemoryStore

    engine, store = Engine(), MemoryStore()
    expected_records = []
    for line in routed:
        event = parse_event(line, int(time.time() * 1000))
        expected_records += engine.apply(event, store).records  # type: ignore[arg-type]
    states = lead_states(worker)
    assert states.keys() == store.leads.keys()
    report_mismatches(worker, states, store.leads)
    for lead_id, want in store.leads.items():
        got = states[lead_id]
        assert (got.temp, got.seen, got.last_alert) == (want.temp, want.seen, want.last_alert), (
            f"{lead_id}: temp {got.temp} (want {want.temp}), last_alert {got.last_alert} (want "
            f"{want.last_alert}), same ids seen: {got.seen == want.seen}, clock {got.clock} "
            f"(want {want.clock}), moves {got.moves}, account {got.account} (want "
            f"{want.account}); its events routed: "
            f"{sum(1 for line in routed if lead_id.encode() in line)}"
        )
        assert got.eng == pytest.approx(want.eng) and got.intent == pytest.approx(want.intent)

    want_ids = {r.value.get("change_id") or r.value.get("alert_id") for r in expected_records
                if r.topic in ("leads.temperature", "alerts.hot-lead")}  # fmt: skip
    got = wait_for(
        lambda: (o := outputs(bootstrap, worker.prefix))
        and want_ids <= {v.get("change_id") for _, v in o["leads.temperature"]}
        | {v.get("alert_id") for _, v in o["alerts.hot-lead"]} and o,
        120, "every expected record id on the output topics",
    )  # fmt: skip
    assert got["events.deadletter"] == []


