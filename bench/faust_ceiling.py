"""Benchmark: how many messages/s a Faust agent that does nothing can consume here, with
Faust's stock consumer, with leadtemp's FastDrainConsumer (streams/fastdrain.py), and with
that and without Faust's Monitor (as the worker runs), next to a raw aiokafka consumer. It
is the ceiling of any Faust worker on this machine.

    .venv/bin/python -m bench.faust_ceiling [--messages N]

Starts its own Kafka unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from bench.peers import raw_consumer_rate
from devstack.kafka_broker import start_kafka
from devstack.processes import free_port
from streams.plumbing.kafka_access import plaintext
from streams.plumbing.topics import ensure_topics

console = Console()
PARTITIONS = 8


async def preload(bootstrap: str, topic: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        value = orjson.dumps({"event_id": "e" * 36, "type": "email.opened",
                              "occurred_at": "2026-11-20T14:03:11Z",
                              "lead": {"id": "lead-000123"}})  # fmt: skip
        sends = [await producer.send(topic, value, key=str(i % 1000).encode()) for i in range(n)]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def agent(bootstrap: str, topic: str, n: int, mode: str) -> None:
    """Child process: consume n messages with take_events(1000) and print the rate."""
    import faust

    from streams.app import without_faust_monitor
    from streams.fastdrain import FastDrainTransport

    app = faust.App(f"ceiling-{uuid.uuid4().hex[:6]}", broker=f"kafka://{bootstrap}",
                    key_serializer="raw", value_serializer="raw", store="memory://",
                    web_enabled=False, consumer_auto_offset_reset="earliest",
                    stream_wait_empty=False, datadir=tempfile.mkdtemp())  # fmt: skip
    if mode in ("fast", "worker"):
        app.transport = FastDrainTransport(app.conf.broker_consumer, app)
    if mode == "worker":
        without_faust_monitor(app)
    seen = {"n": 0, "t0": 0.0}

    @app.agent(app.topic(topic, key_type=bytes, value_type=bytes))
    async def count(stream):  # type: ignore[no-untyped-def]
        async for events in stream.take_events(1000, within=0.1):
            if not seen["n"]:
                seen["t0"] = time.perf_counter()
            seen["n"] += len(events)
            if seen["n"] >= n:
                print(f"RATE {seen['n'] / (time.perf_counter() - seen['t0']):.0f}", flush=True)
                os._exit(0)

    app.main()


def agent_rate(bootstrap: str, topic: str, n: int, mode: str) -> float:
    argv = [sys.executable, "-m", "bench.faust_ceiling", "--agent", bootstrap, topic, str(n)]
    out = subprocess.run([*argv, mode, "worker", "-l", "warn"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=600).stdout  # fmt: skip
    rates = [float(m) for m in re.findall(r"RATE (\d+)", out)]  # (faust logs what is printed)
    if not rates:
        raise RuntimeError(f"the agent printed no rate:\n{out}")
    return rates[0]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--agent":
        bootstrap, topic, n, mode = sys.argv[2:6]
        sys.argv = [sys.argv[0], *sys.argv[6:]]  # what faust's command line reads
        agent(bootstrap, topic, int(n), mode)
        return
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--messages", type=int, default=200_000)
    args = p.parse_args()
    kafka = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not bootstrap:
        with console.status("starting Kafka…"):
            kafka = start_kafka(Path(tempfile.mkdtemp(prefix="leadtemp-bench-")), free_port())
        bootstrap = kafka.address
    try:
        topic = f"ceiling-{uuid.uuid4().hex[:6]}"
        ensure_topics(plaintext(bootstrap), [topic], PARTITIONS)
        with console.status(f"pre-loading {args.messages:,} messages…"):
            asyncio.run(preload(bootstrap, topic, args.messages))
        with console.status("raw aiokafka consumer…"):
            raw = asyncio.run(raw_consumer_rate(bootstrap, [topic], args.messages))
        with console.status("Faust agent, stock consumer…"):
            stock = agent_rate(bootstrap, topic, args.messages, "stock")
        with console.status("Faust agent, FastDrainConsumer…"):
            fast = agent_rate(bootstrap, topic, args.messages, "fast")
        with console.status("Faust agent, FastDrainConsumer, no Monitor…"):
            worker = agent_rate(bootstrap, topic, args.messages, "worker")
        table = Table(title="Faust ceiling: an agent that does nothing", show_header=False)
        table.add_row("messages", f"{args.messages:,} on {PARTITIONS} partitions")
        table.add_row("raw aiokafka consumer (deserialize only)", f"{raw:,.0f} messages/s")
        table.add_row("Faust agent, take_events(1000), stock consumer", f"{stock:,.0f} messages/s")
        table.add_row("Faust agent, take_events(1000), FastDrainConsumer",
                      f"{fast:,.0f} messages/s")  # fmt: skip
        table.add_row("the same without Faust's Monitor (as the worker runs)",
                      f"{worker:,.0f} messages/s")  # fmt: skip
        console.print(table)
    finally:
        if kafka is not None:
            kafka.stop()


if __name__ == "__main__":
    main()
