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
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.devservices import ManagedProcess, die_with_parent, free_port, start_kafka
from streams.produce import route_of
from streams.settings import REPARTITION_TOPIC
from tests.conftest import Services

OUTPUTS = ("leads.temperature", "alerts.hot-lead", "accounts.temperature", "alerts.hot-account",
           "events.deadletter")  # fmt: skip


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
                                 "notify": "LEADTEMP_NOTIFIER_METRICS_PORT"}[command]  # fmt: skip
        self.services = services
        self.prefix = prefix
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": services.kafka_bootstrap,
            "REDIS_URL": services.redis_url,
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

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.procs)
        log = open(self.log_dir / f"{self.command}-{n}.log", "wb")  # noqa: SIM115
        port = free_port()
        self.metrics_ports.append(port)
        env = {**self.env, self.metrics_variable: str(port)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", self.command, "--loglevel", "info"],
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


async def produce(bootstrap: str, messages: Iterable[tuple[str, bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                max_request_size=4 * 1024 * 1024)  # fmt: skip
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send(topic, key=key, value=value)
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
