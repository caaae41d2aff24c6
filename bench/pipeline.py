"""Benchmark: the live pipeline on a real broker and Redis (started here unless
KAFKA_BOOTSTRAP_SERVERS and REDIS_URL are set).

1. pre-loads N events into the input topics, then runs one worker process and measures
   events/s from its first to its last applied event;
2. on the same topics, the rate of a raw aiokafka consumer that only deserializes (the
   ceiling for a Python consumer here), and the ratio;
3. end-to-end latency (input record timestamp -> output record timestamp) at an offered
   load of --rate events/s of new leads, measured for --seconds after --warmup seconds of
   the same load (a freshly started broker's JIT compiler takes half of one of this
   machine's two cores for its first ≈15 s of it), and how it splits between the two hops
   (input -> the repartition topic's bundle, bundle -> output);
4. Redis memory per lead.

    .venv/bin/python -m bench.pipeline [--events N] [--leads N] [--rate R] [--seconds S]
                                       [--warmup S]
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
from collections.abc import Callable
from pathlib import Path

import orjson
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table

from bench.generate import events
from devstack.kafka_broker import start_kafka
from devstack.processes import free_port
from devstack.redis_server import start_redis
from scoring import REPARTITION_TOPIC, engine_build, rfc3339_from_ms
from streams.bundles import unbundle
from streams.plumbing.topics import all_topics, ensure_topics
from streams.settings import worker_settings
from toolkit.produce import publish

console = Console()


async def raw_consumer_rate(bootstrap: str, topics: list[str], n: int) -> float:
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None, enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    seen = 0
    try:
        start = time.perf_counter()
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for r in records:
                    orjson.loads(r.value)
                    seen += 1
        return seen / (time.perf_counter() - start)
    finally:
        await consumer.stop()


def metric(metrics_port: int, sample: str) -> int:
    """One sample of the worker's /metrics (0 while it does not answer or has none)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return int(float(line.split()[1]))
    return 0


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
    """Event id -> timestamp of the repartition topic's bundle that carried it (the end of
    the ingest hop), for the wanted ids found there now."""
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
                    for _, value in unbundle(r.value) or [(None, r.value)]:
                        event_id = orjson.loads(value).get("event_id")
                        if event_id in wanted:
                            got[event_id] = r.timestamp / 1000
        return got
    finally:
        await consumer.stop()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--leads", type=int, default=20_000)
    p.add_argument("--rate", type=int, default=1_000)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="seconds of the same offered load before the measured ones (the broker's JIT)",
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes in one group")
    args = p.parse_args()

    started: list[object] = []
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("REDIS_URL")
    work = Path(tempfile.mkdtemp(prefix="leadtemp-bench-"))
    if not (bootstrap and redis_url):
        with console.status("starting Kafka and Redis…"):
            r = start_redis(work / "redis", free_port())
            k = start_kafka(work / "kafka", free_port())
        started += [k, r]
        bootstrap, redis_url = k.address, r.address
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    settings = worker_settings({"kafka_bootstrap_servers": bootstrap, "redis_url": redis_url,
                              "topic_prefix": prefix, "redis_prefix": prefix})  # fmt: skip
    ensure_topics(bootstrap, all_topics(settings), settings.partitions)
    client = redis.Redis.from_url(redis_url)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        start_ms = int(time.time() * 1000) - 100 * 86_400_000
        with console.status(f"generating and pre-loading {args.events:,} events…"):
            lines = list(
                events(args.events, args.leads, args.leads // 5, days=90, start_ms=start_ms)
            )
            asyncio.run(publish(bootstrap, lines, prefix))
        with console.status("raw consumer…"):
            raw_rate = asyncio.run(raw_consumer_rate(bootstrap, settings.input_topics, len(lines)))
        memory_before = client.info("memory")["used_memory"]
        ports = [free_port() for _ in range(args.workers)]
        for i, port in enumerate(ports):
            env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": redis_url,
                   "LEADTEMP_TOPIC_PREFIX": prefix, "LEADTEMP_REDIS_PREFIX": prefix,
                   "LEADTEMP_GROUP_ID": f"{prefix}worker",
                   "LEADTEMP_METRICS_PORT": str(port)}  # fmt: skip
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "cli", "worker", "--loglevel", "warning"], env=env,
                stdout=open(work / f"worker-{i}.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip

        def total(sample: str) -> int:
            """Summed over the workers; leadtemp_batch_size_sum is the events scored."""
            return sum(metric(port, sample) for port in ports)

        with console.status("workers catching up with the backlog…"):
            while total("leadtemp_batch_size_sum") == 0:
                time.sleep(0.2)
            t0 = time.perf_counter()
            backlog_cpu_before = sum(cpu_seconds(w.pid) for w in workers)
            first = total("leadtemp_batch_size_sum")
            # Every generated event is valid, so each is scored once: done at len(lines).
            while (done := total("leadtemp_batch_size_sum")) < len(lines):
                time.sleep(0.2)
            elapsed = time.perf_counter() - t0
            backlog_cpu = (sum(cpu_seconds(w.pid) for w in workers) - backlog_cpu_before) / elapsed
        worker_rate = (done - first) / elapsed
        batches = total("leadtemp_batch_size_count")
        second_passes = total('leadtemp_redis_retries_total{why="state_not_read"}') + total(
            'leadtemp_redis_retries_total{why="race"}'
        )
        leads = sum(1 for _ in client.scan_iter(f"{prefix}lead:*", count=10_000))
        memory_per_lead = (client.info("memory")["used_memory"] - memory_before) / max(1, leads)

        # The pre-loaded history is months old: its decay downgrades are all due now. Let the
        # timer finish them, so the latency run measures fresh events, not that backlog.
        with console.status("decay timer catching up with the history's downgrades…"):
            while client.zcount(f"{prefix}due", "-inf", int(time.time() * 1000)) > 0:
                time.sleep(0.5)
        # …and publish them: an empty index only says they are committed. Offered load is
        # measured on an idle worker (outboxes cleared, under 10% of a core for a second),
        # not on the tail of the backlog, which showed as 1–2 s at the run's first seconds.
        with console.status("waiting for the workers to go idle…"):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                before = sum(cpu_seconds(w.pid) for w in workers)
                time.sleep(1)
                busy = sum(cpu_seconds(w.pid) for w in workers) - before
                if busy < 0.1 * len(workers) and client.zcard(f"{prefix}outboxes") == 0:
                    break
        with console.status(
            f"offering {args.rate} events/s for {args.warmup}s of warm-up, then {args.seconds}s…"
        ):
            measuring: list[float] = []  # when the warm-up ended: time, workers' CPU seconds

            def on_measuring() -> None:
                measuring[:] = [time.perf_counter(), sum(cpu_seconds(w.pid) for w in workers)]

            sent = asyncio.run(
                paced(bootstrap, prefix, args.rate, args.warmup, args.seconds, on_measuring)
            )
            paced_t0, cpu_before = measuring
            paced_elapsed = time.perf_counter() - paced_t0
            worker_cpu = (sum(cpu_seconds(w.pid) for w in workers) - cpu_before) / paced_elapsed
            out = asyncio.run(output_times(bootstrap, prefix + "leads.temperature", set(sent), 60))
            rekeyed = asyncio.run(
                bundle_times(
                    bootstrap, settings.topic(REPARTITION_TOPIC), settings.partitions, set(out)
                )
            )
        latencies = [out[k] - sent[k] for k in out]
        ingest_hop = [rekeyed[k] - sent[k] for k in out if k in rekeyed]
        score_hop = [out[k] - rekeyed[k] for k in out if k in rekeyed]
        # Latency by second of the run: tells a steady delay from a few stalls.
        by_second: dict[int, list[float]] = {}
        start_s = min(sent.values(), default=0.0)
        for k in out:
            by_second.setdefault(int(sent[k] - start_s), []).append(out[k] - sent[k])
        worst = sorted(((max(v), s) for s, v in by_second.items()), reverse=True)[:3]

        table = Table(title=f"pipeline benchmark ({args.workers} worker process(es))",
                      show_header=False)  # fmt: skip
        table.add_row("engine build (this process; workers run the same)", engine_build())
        table.add_row("events pre-loaded", f"{len(lines):,} over {args.leads:,} leads")
        table.add_row("worker throughput (all workers)", f"{worker_rate:,.0f} events/s")
        table.add_row("worker CPU during the backlog", f"{backlog_cpu:.0%} of one core")
        table.add_row("raw aiokafka consumer (deserialize only)", f"{raw_rate:,.0f} events/s")
        table.add_row("ratio", f"{worker_rate / raw_rate:.2f}")
        table.add_row("batches (computed again: state read late, or raced)",
                      f"{batches:,} ({second_passes:,})")  # fmt: skip
        table.add_row("Redis memory per lead", f"{memory_per_lead:,.0f} bytes ({leads:,} leads)")
        if latencies:
            table.add_row(f"latency at {args.rate}/s offered (n={len(latencies):,})",
                          f"p50 {percentile(latencies, 50) * 1000:.0f} ms, "
                          f"p99 {percentile(latencies, 99) * 1000:.0f} ms, "
                          f"max {max(latencies) * 1000:.0f} ms")  # fmt: skip
            for name, hop in (("ingest", ingest_hop), ("score", score_hop)):
                if hop:
                    table.add_row(f"of which the {name} hop",
                                  f"p50 {percentile(hop, 50) * 1000:.0f} ms, "
                                  f"p99 {percentile(hop, 99) * 1000:.0f} ms, "
                                  f"max {max(hop) * 1000:.0f} ms")  # fmt: skip
            table.add_row("worst seconds of the latency run (max latency)",
                          ", ".join(f"s{s}: {m * 1000:.0f} ms" for m, s in worst))  # fmt: skip
            table.add_row("worker CPU during the latency run", f"{worker_cpu:.0%} of one core")
        table.add_row("records missing in latency run", f"{len(sent) - len(out):,}")
        console.print(table)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        client.close()
        for service in started:
            service.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
