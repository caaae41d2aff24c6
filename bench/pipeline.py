"""Benchmark: the live pipeline on a real broker and Redis, scaled out (started here unless
KAFKA_BOOTSTRAP_SERVERS and REDIS_URL are set; the Redis Cluster is always started here).

For each worker count W of --workers, on a single Redis, and then for --cluster-workers on a
local 3-master Redis Cluster, on topics of their own:

1. starts W worker processes (`leadtemp worker`, one group) and waits until each is ready
   (the group settled), then produces the backlog of --events events into the input topics;
2. measures from the first applied batch until every input message is forwarded and every
   re-keyed message applied: events/s, CPU-seconds per event summed over the workers,
   batches computed again (raced by another writer / state read late), leads moved with
   their account, and on the cluster the share of state keys on each master;
3. for W = 1 (single Redis and cluster) the end-to-end latency (input record timestamp ->
   output record timestamp) at --rate events/s of new leads, measured for --seconds after
   --warmup seconds of the same load, split between the two hops.

In the same run, before and after the worker runs, on a topic holding the same events: a raw
aiokafka consumer, a Faust agent that does nothing (bench/faust_ceiling.py, as the worker runs
Faust) and the Quix Streams peer keeping a per-key counter (bench/peers.py); the worker's
throughput is printed as a ratio of each (of the mean of their two measurements).

    .venv/bin/python -m bench.pipeline [--events N] [--leads N] [--workers 1,2,4]
        [--cluster-workers 1] [--partitions 8] [--rate R] [--seconds S] [--warmup S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient
from rich.console import Console
from rich.table import Table

from bench.faust_ceiling import agent_rate
from bench.generate import events
from bench.peers import quix_rate, raw_consumer_rate
from devstack.kafka_broker import start_kafka
from devstack.processes import free_port
from devstack.redis_server import cluster_ports, start_redis, start_redis_cluster
from scoring import REPARTITION_TOPIC, engine_build, rfc3339_from_ms
from streams.bundles import unbundle
from streams.keys import Keys, glob_escape
from streams.plumbing.kafka_access import plaintext
from streams.plumbing.topics import all_topics, ensure_topics
from streams.settings import Settings, worker_settings
from toolkit.produce import publish

console = Console(width=150)  # the tables are wide; also when printed to a file


# ---------------------------------------------------------------- reading the workers


def metric(metrics_port: int, sample: str) -> float:
    """One sample of a worker's /metrics (0 while it does not answer or has none)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[1])
    return 0


def ready(metrics_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/readyz", timeout=5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f}s")
        time.sleep(every)


# ---------------------------------------------------------------- one deployment


@dataclass
class Deployment:
    """One deployment's topics and state (a prefix of their own) and its worker processes."""

    bootstrap: str
    redis_url: str
    cluster: bool
    partitions: int
    work: Path
    prefix: str = field(default_factory=lambda: f"bench{uuid.uuid4().hex[:6]}.")
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    kafka: list[Any] = field(default_factory=list)  # a consumer and an admin client, for done()

    @property
    def settings(self) -> Settings:
        return worker_settings({"kafka_bootstrap_servers": self.bootstrap,
                                "redis_url": self.redis_url, "redis_cluster": self.cluster,
                                "topic_prefix": self.prefix, "redis_prefix": self.prefix,
                                "partitions": self.partitions,
                                "group_id": f"{self.prefix}worker"})  # fmt: skip

    def redis(self) -> Any:
        if self.cluster:
            return redis.RedisCluster.from_url(self.redis_url)
        return redis.Redis.from_url(self.redis_url)

    def start(self, n: int, roles: Sequence[str] = ()) -> None:
        """`n` workers of role all, or one of each of `roles` when given."""
        ensure_topics(plaintext(self.bootstrap), all_topics(self.settings), self.partitions)
        for i, role in enumerate(roles or ["all"] * n):
            port = free_port()
            env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                   "REDIS_URL": self.redis_url, "LEADTEMP_REDIS_CLUSTER": str(self.cluster),
                   "LEADTEMP_TOPIC_PREFIX": self.prefix, "LEADTEMP_REDIS_PREFIX": self.prefix,
                   "LEADTEMP_PARTITIONS": str(self.partitions),
                   "LEADTEMP_GROUP_ID": self.settings.group_id,
                   "LEADTEMP_METRICS_PORT": str(port)}  # fmt: skip
            log = open(self.work / f"{self.prefix}worker-{i}.log", "wb")  # noqa: SIM115
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "cli", "worker", "--loglevel", "warning", "--role", role],
                env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
            self.ports.append(port)
        # Ready = in both groups with partitions; the last to join triggers a rebalance, so
        # every worker must say so, for a few seconds in a row.
        settled: list[float] = []

        def all_ready() -> bool:
            if not all(ready(port) for port in self.ports):
                settled.clear()
                return False
            settled.append(time.monotonic())
            return settled[-1] - settled[0] >= 3

        wait_for(all_ready, 180, "the workers to be ready", every=0.5)

    def stop(self) -> None:
        for worker in self.workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers:
            worker.wait(timeout=60)
        self.workers.clear()
        self.ports.clear()
        for client in self.kafka:
            client.close()
        self.kafka.clear()

    def total(self, sample: str) -> float:
        return sum(metric(port, sample) for port in self.ports)

    def cpu(self) -> float:
        return sum(cpu_seconds(w.pid) for w in self.workers)

    def applied(self, client: Any) -> dict[int, int]:
        keys = Keys(self.prefix, self.partitions)
        values = [client.get(keys.applied(p)) for p in range(self.partitions)]  # (one slot each)
        return {p: int(v) for p, v in enumerate(values) if v is not None}

    def done(self, client: Any) -> bool:
        """Every input message forwarded (the ingest group committed the input's ends) and
        every re-keyed message applied (Redis's offsets are the re-keyed topic's ends - 1)."""
        s = self.settings
        inputs = [TopicPartition(t, p) for t in s.input_topics for p in range(self.partitions)]
        rekeyed = [TopicPartition(s.topic(REPARTITION_TOPIC), p) for p in range(self.partitions)]
        if not self.kafka:
            self.kafka = [KafkaConsumer(bootstrap_servers=self.bootstrap),
                          KafkaAdminClient(bootstrap_servers=self.bootstrap)]  # fmt: skip
        consumer, admin = self.kafka
        ends = consumer.end_offsets(inputs + rekeyed)
        group = f"{s.group_id}-ingest"
        committed = admin.list_group_offsets({group: None}).get(group, {})
        if any(ends[tp] and (committed.get(tp) is None or committed[tp].offset < ends[tp])
               for tp in inputs):  # fmt: skip
            return False
        applied = self.applied(client)
        return all(applied.get(tp.partition, -1) >= ends[tp] - 1 for tp in rekeyed if ends[tp])

    def key_share(self, ports: list[int]) -> list[float]:
        """The share of this deployment's lead and account states on each master."""
        counts = []
        for port in ports:
            node = redis.Redis(port=port)
            try:
                pattern = f"{{{glob_escape(self.prefix)}p*}}:[la][ec]*"  # lead: and account:
                counts.append(sum(1 for _ in node.scan_iter(pattern, count=10_000)))
            finally:
                node.close()
        return [c / max(1, sum(counts)) for c in counts]


@dataclass
class Figures:
    label: str
    workers: int
    events: int
    seconds: float
    cpu_seconds: float
    batches: int
    raced: int
    read_late: int
    moves: int
    forwarded: int
    key_share: list[float] | None = None
    memory_per_lead: float | None = None
    latency: dict[str, list[float]] | None = None
    idle_cpu: float | None = None  # of one worker, fraction of a core, before the latency run

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_per_event_us(self) -> float:
        return self.cpu_seconds / self.events * 1e6


def backlog(d: Deployment, lines: list[bytes], label: str) -> Figures:
    client = d.redis()
    try:
        memory_before = None if d.cluster else client.info("memory")["used_memory"]
        asyncio.run(publish(plaintext(d.bootstrap), lines, d.prefix))
        wait_for(lambda: bool(d.applied(client)), 120, "a first applied batch", every=0.05)
        t0, cpu0 = time.perf_counter(), d.cpu()
        wait_for(lambda: d.done(client), 900, "the backlog to be applied", every=0.5)
        elapsed, cpu = time.perf_counter() - t0, d.cpu() - cpu0
        figures = Figures(
            label, len(d.workers), len(lines), elapsed, cpu,
            batches=int(d.total("leadtemp_batch_size_count")),
            raced=int(d.total('leadtemp_redis_retries_total{why="raced"}')),
            read_late=int(d.total('leadtemp_redis_retries_total{why="state_not_read"}')),
            moves=int(d.total("leadtemp_moves_total")),
            forwarded=int(d.total("leadtemp_forwarded_total")),
        )  # fmt: skip
        if memory_before is not None:
            pattern = f"{{{glob_escape(d.prefix)}p*}}:lead:*"
            leads = sum(1 for _ in client.scan_iter(pattern, count=10_000))
            used = client.info("memory")["used_memory"] - memory_before
            figures.memory_per_lead = used / max(1, leads)
        return figures
    finally:
        client.close()


# ---------------------------------------------------------------- latency


async def paced(
    bootstrap: str,
    prefix: str,
    rate: int,
    warmup: int,
    seconds: int,
    on_measuring: Callable[[], None],
) -> dict[str, float]:
    """New leads at `rate` events/s for `warmup` then `seconds` seconds, in one stream;
    returns event id -> input record timestamp (s) of those sent after the warm-up, and calls
    `on_measuring()` when the warm-up ends."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    sent: dict[str, float] = {}
    run = uuid.uuid4().hex[:6]
    first_measured = rate * warmup
    try:
        start = time.perf_counter()
        for i in range(rate * (warmup + seconds)):
            due = start + i / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            if i == first_measured:
                on_measuring()
            event_id = f"lat-{run}-{i}"
            now = int(time.time() * 1000)
            value = orjson.dumps({"event_id": event_id, "type": "email.clicked",
                                  "occurred_at": rfc3339_from_ms(now),
                                  "lead": {"id": f"lat-{run}-{i}"}})  # fmt: skip
            meta = await (await producer.send(f"{prefix}events.email", value=value))
            if i >= first_measured:
                sent[event_id] = meta.timestamp / 1000
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def output_times(
    bootstrap: str, topic: str, wanted: set[str], timeout: float
) -> dict[str, float]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None, enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    got: dict[str, float] = {}
    try:
        deadline = time.monotonic() + timeout
        while len(got) < len(wanted) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for r in records:
                    cause = orjson.loads(r.value).get("caused_by_event_id")
                    if cause in wanted:
                        got[cause] = r.timestamp / 1000
        return got
    finally:
        await consumer.stop()


async def bundle_times(
    bootstrap: str, topic: str, partitions: int, wanted: set[str]
) -> dict[str, float]:
    """Event id -> timestamp of the re-keyed topic's bundle that carried it (the end of the
    ingest hop), for the wanted ids found there now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None, enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    got: dict[str, float] = {}
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for r in records:
                    for item in unbundle(r.value) or []:
                        event_id = orjson.loads(item.value).get("event_id")
                        if event_id in wanted:
                            got[event_id] = r.timestamp / 1000
        return got
    finally:
        await consumer.stop()


def latency(
    d: Deployment, rate: int, warmup: int, seconds: int, into: Figures
) -> dict[str, list[float]]:
    """Latencies (s) of the measured events: end to end, and of each hop; the CPU of the
    idle workers before them in `into.idle_cpu`."""
    client = d.redis()
    keys = Keys(d.prefix, d.partitions)
    try:
        # The pre-loaded history is months old: its decay downgrades are all due now. Let the
        # timer finish them and the outboxes empty, and the workers go idle (under 10% of a
        # core for a second), so the run measures fresh events, not that backlog.
        def idle() -> bool:
            now = int(time.time() * 1000)
            if any(client.zcount(keys.due(p), "-inf", now) for p in range(d.partitions)):
                return False
            if any(client.zcard(keys.outboxes(p)) for p in range(d.partitions)):
                return False
            before = d.cpu()
            time.sleep(1)
            into.idle_cpu = (d.cpu() - before) / len(d.workers)
            return into.idle_cpu < 0.1

        wait_for(idle, 300, "the workers to go idle", every=0.5)
    finally:
        client.close()
    sent = asyncio.run(paced(d.bootstrap, d.prefix, rate, warmup, seconds, lambda: None))
    out = asyncio.run(output_times(d.bootstrap, d.prefix + "leads.temperature", set(sent), 60))
    rekeyed = asyncio.run(
        bundle_times(d.bootstrap, d.settings.topic(REPARTITION_TOPIC), d.partitions, set(out))
    )
    return {
        "end to end": [out[k] - sent[k] for k in out],
        "of which the ingest hop": [rekeyed[k] - sent[k] for k in out if k in rekeyed],
        "of which the score hop": [out[k] - rekeyed[k] for k in out if k in rekeyed],
        "missing": [float(len(sent) - len(out))],
    }


# ---------------------------------------------------------------- the ceilings


@dataclass
class Ceilings:
    raw: list[float] = field(default_factory=list)
    faust: list[float] = field(default_factory=list)
    quix: list[float] = field(default_factory=list)


def measure_ceilings(bootstrap: str, topic: str, n: int, into: Ceilings) -> None:
    into.raw.append(asyncio.run(raw_consumer_rate(bootstrap, [topic], n)))
    into.faust.append(agent_rate(bootstrap, topic, n, "worker"))
    if (quix := quix_rate(bootstrap, topic, n)) is not None:
        into.quix.append(quix)


async def load_ceiling_topic(bootstrap: str, topic: str, lines: list[bytes]) -> None:
    """The same events, keyed by lead as the input topics are, on one topic."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        sends = [await producer.send(topic, line, key=str(i % 10_000).encode())
                 for i, line in enumerate(lines)]  # fmt: skip
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


# ---------------------------------------------------------------- the report


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:,.0f}"
    return f"{sum(values) / len(values):,.0f} ({', '.join(f'{v:,.0f}' for v in values)})"


def report(runs: list[Figures], ceilings: Ceilings, args: argparse.Namespace) -> None:
    console.print(f"engine build: {engine_build()} (the workers run the same); "
                  f"{args.events:,} events over {args.leads:,} leads, "
                  f"{args.partitions} partitions")  # fmt: skip
    table = Table(title="workers on the backlog")
    for column in (
        "run",
        "events/s",
        "CPU-s/event (µs, all workers)",
        "vs W=1",
        "batches",
        "raced",
        "read late",
        "moves",
        "forwarded",
        "keys per master",
    ):
        table.add_column(column, justify="right")  # fmt: skip
    base = runs[0].cpu_per_event_us
    for r in runs:
        share = " / ".join(f"{s:.0%}" for s in r.key_share) if r.key_share else "-"
        table.add_row(r.label, f"{r.rate:,.0f}", f"{r.cpu_per_event_us:,.0f}",
                      f"{r.cpu_per_event_us / base:.2f}×", f"{r.batches:,}",
                      f"{r.raced:,} ({r.raced / max(1, r.batches):.1%})",
                      f"{r.read_late:,} ({r.read_late / max(1, r.batches):.1%})",
                      f"{r.moves:,}", f"{r.forwarded:,}", share)  # fmt: skip
    console.print(table)

    one = runs[0].rate
    mean = {name: sum(v) / len(v) for name, v in vars(ceilings).items() if v}
    table = Table(title="ceilings on a topic of the same events (before, after the runs)",
                  show_header=False)  # fmt: skip
    table.add_row("raw aiokafka consumer (deserialize only)", f"{spread(ceilings.raw)} msgs/s",
                  f"W=1 is {one / mean['raw']:.3f}×")  # fmt: skip
    table.add_row(
        "Faust agent doing nothing (as the worker runs Faust)",
        f"{spread(ceilings.faust)} msgs/s",
        f"W=1 is {one / mean['faust']:.2f}×",
    )
    if ceilings.quix:
        table.add_row(
            "Quix Streams app, per-key counter in its state store",
            f"{spread(ceilings.quix)} msgs/s",
            f"W=1 is {one / mean['quix']:.2f}×",
        )
    else:
        table.add_row("Quix Streams app", "not installed (pip install -e '.[bench]')", "")
    console.print(table)

    table = Table(title=f"latency at {args.rate:,} events/s offered ({args.seconds}s after "
                        f"{args.warmup}s of warm-up)", show_header=False)  # fmt: skip
    for r in runs:
        for name, values in (r.latency or {}).items():
            if name == "missing":
                table.add_row(f"{r.label}: records missing", f"{values[0]:,.0f}")
            elif values:
                table.add_row(f"{r.label}: {name} (n={len(values):,})",
                              f"p50 {percentile(values, 50) * 1000:.0f} ms, "
                              f"p99 {percentile(values, 99) * 1000:.0f} ms, "
                              f"max {max(values) * 1000:.0f} ms")  # fmt: skip
    console.print(table)
    if runs[0].idle_cpu is not None:
        console.print(f"an idle worker (W=1, before the latency run): "
                      f"{runs[0].idle_cpu:.1%} of a core")  # fmt: skip
    if runs[0].memory_per_lead:
        console.print(f"Redis memory per lead (W=1): {runs[0].memory_per_lead:,.0f} bytes")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--leads", type=int, default=10_000)
    p.add_argument("--workers", default="1,2,4", help="worker counts on a single Redis")
    p.add_argument("--cluster-workers", type=int, default=1, help="0: no cluster run")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--split", action=argparse.BooleanOptionalAction, default=True,
                   help="also a run of one ingest and one score process (--role)")  # fmt: skip
    p.add_argument("--rate", type=int, default=1_000)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--warmup", type=int, default=20,
                   help="seconds of the same offered load before the measured ones")  # fmt: skip
    args = p.parse_args()
    counts = [int(w) for w in args.workers.split(",") if w]

    work = Path(tempfile.mkdtemp(prefix="leadtemp-bench-"))
    started: list[Any] = []
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("REDIS_URL")
    try:
        if not (bootstrap and redis_url):
            with console.status("starting Kafka and Redis…"):
                started.append(start_redis(work / "redis", free_port()))
                started.append(start_kafka(work / "kafka", free_port()))
            redis_url, bootstrap = started[0].address, started[1].address
        cluster = None
        if args.cluster_workers:
            with console.status("starting a 3-master Redis Cluster…"):
                cluster = start_redis_cluster(work / "cluster", cluster_ports(3))
            started.append(cluster)
        start_ms = int(time.time() * 1000) - 100 * 86_400_000
        lines = list(events(args.events, args.leads, args.leads // 5, days=90, start_ms=start_ms))

        ceilings = Ceilings()
        topic = f"ceiling-{uuid.uuid4().hex[:6]}"
        ensure_topics(plaintext(bootstrap), [topic], args.partitions)
        asyncio.run(load_ceiling_topic(bootstrap, topic, lines))
        with console.status("ceilings (before)…"):
            measure_ceilings(bootstrap, topic, len(lines), ceilings)

        runs: list[Figures] = []
        split = ("ingest", "score")
        plan = [(w, False, ()) for w in counts] + (
            [(args.cluster_workers, True, ())] if cluster else [])  # fmt: skip
        plan += [(len(split), False, split)] if args.split else []
        for w, on_cluster, roles in plan:
            label = ("ingest+score" if roles else f"W={w}") + (" cluster" if on_cluster else "")
            url = cluster.address if on_cluster and cluster else redis_url
            d = Deployment(bootstrap, url, on_cluster, args.partitions, work)
            try:
                with console.status(f"{label}: starting the workers…"):
                    d.start(w, roles)
                with console.status(f"{label}: {len(lines):,} events…"):
                    figures = backlog(d, lines, label)
                if on_cluster and cluster:
                    figures.key_share = d.key_share(cluster.ports)
                if w == 1 or roles:
                    with console.status(f"{label}: latency at {args.rate}/s…"):
                        figures.latency = latency(d, args.rate, args.warmup, args.seconds,
                                                  figures)  # fmt: skip
                runs.append(figures)
                console.print(f"{label}: {figures.rate:,.0f} events/s, "
                              f"{figures.cpu_per_event_us:,.0f} µs CPU/event")  # fmt: skip
            finally:
                d.stop()

        with console.status("ceilings (after)…"):
            measure_ceilings(bootstrap, topic, len(lines), ceilings)
        report(runs, ceilings, args)
    finally:
        for service in reversed(started):
            service.stop()


if __name__ == "__main__":
    main()
