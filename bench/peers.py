"""The ceilings a worker is measured against, on the same topic in the same run: a raw aiokafka
consumer, a Faust agent that does nothing (as the worker runs Faust: bench/faust_ceiling.py),
and a peer, a Quix Streams app keeping a per-key counter in its state store (quixstreams is a
bench-only extra: `pip install -e '.[bench]'`; without it that figure is left out).

    .venv/bin/python -m bench.peers --quix BOOTSTRAP TOPIC N    (the child process)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer


async def raw_consumer_rate(bootstrap: str, topics: list[str], n: int) -> float:
    """Messages/s of an aiokafka consumer that only deserializes, over `n` messages."""
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


def quix_rate(bootstrap: str, topic: str, n: int) -> float | None:
    """Messages/s of the Quix Streams peer over `n` messages; None without quixstreams."""
    try:
        import quixstreams  # noqa: F401
    except ImportError:
        return None
    out = subprocess.run([sys.executable, "-m", "bench.peers", "--quix", bootstrap, topic, str(n)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=900).stdout  # fmt: skip
    rates = [float(m) for m in re.findall(r"RATE (\d+)", out)]
    if not rates:
        raise RuntimeError(f"the Quix app printed no rate:\n{out[-3000:]}")
    return rates[0]


def quix_child(bootstrap: str, topic: str, n: int) -> None:
    import logging

    from quixstreams import Application

    app = Application(broker_address=bootstrap, consumer_group=f"peer-{uuid.uuid4().hex[:6]}",
                      auto_offset_reset="earliest", state_dir=tempfile.mkdtemp(),
                      loglevel=logging.WARNING)  # fmt: skip
    sdf = app.dataframe(app.topic(topic, value_deserializer="json", key_deserializer="bytes"))

    first: list[float] = []  # from its first message, as the Faust agent is measured

    def count(value: Any, state: Any) -> None:
        if not first:
            first.append(time.perf_counter())
        state.set("n", state.get("n", 0) + 1)

    sdf = sdf.update(count, stateful=True)
    app.run(sdf, count=n, collect=False)
    print(f"RATE {n / (time.perf_counter() - first[0]):.0f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--quix":
        quix_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
