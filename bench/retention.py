"""Benchmark: what the retention sweep (streams/retention.py) costs a worker, on a local Redis.
One partition holds `--states` lead states; a full pass is swept chunk by chunk, once with
none of them idle (the common case: read and judged outside the score hop's lock) and once
with all of them idle (removed under the lock, 100 a commit). Prints ms per chunk of 500,
how long the lock was held per chunk and its longest hold.

    .venv/bin/python -m bench.retention [--states N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from devstack.processes import free_port
from devstack.redis_server import start_redis
from scoring import LEAD, MS_PER_DAY, Engine, LeadState
from streams.publish import Publisher
from streams.retention import Sweeper
from streams.score import Scorer
from streams.settings import worker_settings
from streams.store import RedisState

CHUNK = 500
RETENTION = 120 * MS_PER_DAY


class TimedLock(asyncio.Lock):
    """The score hop's lock, timing how long it is held."""

    def __init__(self) -> None:
        super().__init__()
        self.held_s = 0.0
        self.longest_s = 0.0
        self._since = 0.0

    async def acquire(self) -> bool:  # type: ignore[override]
        got = await super().acquire()
        self._since = time.perf_counter()
        return got

    def release(self) -> None:
        held = time.perf_counter() - self._since
        self.held_s += held
        self.longest_s = max(self.longest_s, held)
        super().release()


async def sweep_pass(redis: Any, n: int, idle: bool) -> tuple[float, float, float, int, int]:
    """(seconds, lock seconds, longest hold, chunks, removed) of a full pass over `n` lead
    states."""
    await redis.flushall()
    settings = worker_settings({"redis_prefix": "bench:", "partitions": 1}, {})
    state = RedisState(redis, "bench:", 1)

    async def send(*_: Any) -> Any:
        raise AssertionError("nothing is published: the leads have no account")

    scorer = Scorer(settings, Engine(), state, Publisher(settings, state, send))
    lock = scorer.lock = TimedLock()
    scorer.epochs[0] = await state.take_over(0)
    now = int(time.time() * 1000)
    clock = now - (RETENTION + MS_PER_DAY if idle else MS_PER_DAY)
    blob = LeadState(clock=clock, temp="cold", eng={"engagement": 1.5}).to_bytes()
    for start in range(0, n, 5000):
        pipe = redis.pipeline(transaction=False)
        for i in range(start, min(n, start + 5000)):
            pipe.set(state.keys.state(0, LEAD, f"lead-{i}"), blob)
        await pipe.execute()
    sweeper = Sweeper(scorer, RETENTION, chunk=CHUNK, every_s=0)
    chunks = removed = 0
    started = time.perf_counter()
    while True:
        removed += await sweeper.sweep(now)
        chunks += 1
        if sweeper.pass_over(0):
            break
    return time.perf_counter() - started, lock.held_s, lock.longest_s, chunks, removed


async def run(n: int) -> list[tuple[str, float, float, float, int, int]]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), port)
        redis = Redis(port=port)
        try:
            rows = []
            for idle in (False, True):
                name = "all idle" if idle else "none idle"
                rows.append((name, *await sweep_pass(redis, n, idle)))
            return rows
        finally:
            await redis.aclose()
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--states", type=int, default=100_000)
    args = p.parse_args()
    table = Table(title=f"retention sweep, {args.states:,} lead states on one partition, "
                  f"chunks of {CHUNK}")  # fmt: skip
    for column in ("states", "chunks", "ms per chunk", "lock held, ms per chunk",
                   "longest hold, ms", "removed"):  # fmt: skip
        table.add_column(column, justify="right")
    for name, seconds, locked, longest, chunks, removed in asyncio.run(run(args.states)):
        table.add_row(name, f"{chunks:,}", f"{1000 * seconds / chunks:.1f}",
                      f"{1000 * locked / chunks:.2f}", f"{1000 * longest:.1f}",
                      f"{removed:,}")  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
