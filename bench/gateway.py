"""Benchmark: events/s the gateway accepts end to end (request -> Kafka acknowledged), for
batched requests (NDJSON, 500 events each) and single-event requests, against the ceiling in
the same run: a bare aiohttp handler that only produces the same bytes to Kafka with the same
producer options. Then request latency of single events at a fixed offered rate (500/s).
Gateway and ceiling are measured alternately, twice, so that this machine's drift shows as
spread rather than as a ratio.

    .venv/bin/python -m bench.gateway [--events N] [--rate R] [--seconds S]

Starts its own Kafka unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from rich.console import Console
from rich.table import Table

from devstack.kafka_broker import start_kafka
from devstack.processes import die_with_parent, free_port
from scoring import INPUT_TOPICS
from streams.plumbing.kafka_access import plaintext
from streams.plumbing.topics import ensure_topics

console = Console()
BATCH = 500


def event(i: int) -> bytes:
    return orjson.dumps({
        "event_id": f"bench-{uuid.uuid4().hex[:8]}-{i}", "type": "web.page_viewed",
        "occurred_at": "2026-12-01T10:00:00Z", "lead": {"id": f"lead-{i % 5000}"},
        "page_category": "pricing", "url": "https://example.com/pricing",
    })  # fmt: skip


def ceiling_child(bootstrap: str, prefix: str, port: int) -> None:
    """The ceiling: an aiohttp handler that produces each NDJSON line as it is, acknowledged."""
    from aiohttp import web
    from aiokafka import AIOKafkaProducer

    from streams.plumbing.producers import PRODUCER_OPTIONS

    async def main() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2,
                                    max_request_size=4 * 1024 * 1024, **PRODUCER_OPTIONS)
        await producer.start()

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            sent = [await producer.send(f"{prefix}events.web", line)
                    for line in body.splitlines() if line]  # fmt: skip
            await asyncio.gather(*sent)
            return web.Response(text="{}", content_type="application/json")

        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/events", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


def start_server(kind: str, bootstrap: str, prefix: str, workdir: Path) -> tuple[Any, int]:
    port = free_port()
    if kind == "gateway":
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "LEADTEMP_TOPIC_PREFIX": prefix,
               "LEADTEMP_GATEWAY_PORT": str(port), "LEADTEMP_PARTITIONS": "4",
               "LEADTEMP_GATEWAY_SOURCE_LIMIT": "1000000/second"}  # fmt: skip
        argv = [sys.executable, "-m", "cli", "gateway", "--loglevel", "warning"]
    else:
        env = dict(os.environ)
        argv = [sys.executable, "-m", "bench.gateway", "--ceiling", bootstrap, prefix, str(port)]
    log = open(workdir / f"{kind}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=die_with_parent)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(
                urllib.request.Request(f"http://127.0.0.1:{port}/v1/events", data=b"",
                                       method="POST"), timeout=2)  # fmt: skip
        except urllib.error.HTTPError:
            return proc, port  # it answers (400 to an empty body)
        except OSError:
            time.sleep(0.2)
            continue
        return proc, port
    raise RuntimeError(f"{kind} did not start; see {workdir / (kind + '.log')}")


async def throughput(port: int, bodies: list[bytes], per_body: int, concurrency: int) -> float:
    """Events/s for posting every body, `concurrency` at a time."""
    queue = list(reversed(bodies))
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                async with session.post(f"http://127.0.0.1:{port}/v1/events", data=body) as r:
                    assert r.status == 200, await r.text()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(bodies) * per_body / (time.perf_counter() - started)


async def latencies(port: int, rate: float, seconds: float) -> list[float]:
    """Latency of single-event requests sent open-loop at `rate` per second."""
    out: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(i: int) -> None:
            started = time.perf_counter()
            async with session.post(f"http://127.0.0.1:{port}/v1/events", data=event(i)) as r:
                await r.read()
                assert r.status == 200
            out.append(time.perf_counter() - started)

        tasks = []
        begin = time.perf_counter()
        for i in range(int(rate * seconds)):
            ahead = begin + i / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--ceiling":
        ceiling_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=50_000, help="events per batched run")
    p.add_argument("--singles", type=int, default=5_000, help="requests per single-event run")
    p.add_argument("--rate", type=float, default=500.0, help="offered single requests/s")
    p.add_argument("--seconds", type=float, default=20.0, help="of the latency run")
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="leadtemp-bench-gateway-"))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    kafka = None
    if not bootstrap:
        with console.status("starting Kafka…"):
            kafka = start_kafka(workdir / "kafka", free_port())
        bootstrap = kafka.address
    prefix = f"benchgw{uuid.uuid4().hex[:6]}."
    ensure_topics(plaintext(bootstrap), [prefix + t for t in INPUT_TOPICS], 4)
    lines = [event(i) for i in range(args.events)]
    batches = [b"\n".join(lines[i : i + BATCH]) for i in range(0, len(lines), BATCH)]
    singles = lines[: args.singles]
    servers = {k: start_server(k, bootstrap, prefix, workdir) for k in ("gateway", "ceiling")}
    runs: dict[tuple[str, str], list[float]] = {}
    try:
        with console.status("warming up (not counted: the first run met cold topics)…"):
            for _, port in servers.values():
                asyncio.run(throughput(port, batches[:20], BATCH, 4))
        for _ in range(2):  # alternated: gateway, ceiling, gateway, ceiling
            for kind, (_, port) in servers.items():
                with console.status(f"{kind}: batches of {BATCH}…"):
                    rate = asyncio.run(throughput(port, batches, BATCH, 4))
                runs.setdefault((kind, "batched"), []).append(rate)
                with console.status(f"{kind}: single events…"):
                    rate = asyncio.run(throughput(port, singles, 1, 32))
                runs.setdefault((kind, "single"), []).append(rate)
        with console.status(f"latency at {args.rate:g} single requests/s…"):
            lat = asyncio.run(latencies(servers["gateway"][1], args.rate, args.seconds))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
        if kafka is not None:
            kafka.stop()
    table = Table(title="gateway: events/s accepted end to end (two alternated runs each)")
    for column in ("requests", "gateway", "ceiling (bare aiohttp + producer)", "ratio"):
        table.add_column(column, justify="right")
    for shape in ("batched", "single"):
        g, c = runs[("gateway", shape)], runs[("ceiling", shape)]
        label = f"{BATCH} events (NDJSON)" if shape == "batched" else "1 event"
        table.add_row(label, " / ".join(f"{x:,.0f}" for x in g),
                      " / ".join(f"{x:,.0f}" for x in c),
                      f"{statistics.median(g) / statistics.median(c):.2f}")  # fmt: skip
    console.print(table)
    console.print(f"single-event requests at {args.rate:g}/s for {args.seconds:g} s "
                  f"({len(lat):,} requests): p50 {ms(percentile(lat, 0.5))}, "
                  f"p99 {ms(percentile(lat, 0.99))}, max {ms(max(lat))}")  # fmt: skip


if __name__ == "__main__":
    main()
