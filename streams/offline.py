"""Running a Replay over a file: lines read in chunks, garbage collection tuned for it,
records written as JSON lines. `leadtemp replay` and `bench/replay` both use it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import IO

import orjson

from scoring.records import Record
from scoring.replay import Replay

CHUNK_LINES = 50  # lines validated together before they are scored (see Replay.feed_lines)
COLLECT_EVERY_LINES = 10_000


def numbered_chunks(src: Iterable[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    """(line number, line without its end) pairs, `size` lines at a time; blank lines are
    left out but keep their number."""
    it = iter(src)
    line_no = 0
    while chunk := list(islice(it, size)):
        yield [(line_no + i, s) for i, line in enumerate(chunk) if (s := line.rstrip(b"\r\n"))]
        line_no += len(chunk)


def replay_file(
    run: Replay,
    src: IO[bytes],
    dst: IO[bytes],
    until_ms: int | None = None,
    on_chunk: Callable[[], None] | None = None,
    chunk_lines: int = CHUNK_LINES,
) -> None:
    """Feed every line of `src` to `run`, then finish it at `until_ms`; records go to `dst`.
    `on_chunk()` after each chunk (for progress)."""
    collect_every = max(1, COLLECT_EVERY_LINES // chunk_lines)  # in chunks
    gc.disable()
    try:
        for n, chunk in enumerate(numbered_chunks(src, chunk_lines), 1):
            write_records(dst, run.feed_lines(chunk))
            if n % collect_every == 0:
                collect_and_freeze()
            if on_chunk is not None:
                on_chunk()
        write_records(dst, run.finish(until_ms))
    finally:
        gc.enable()


def collect_and_freeze() -> None:
    """Collect what was allocated since the last call, then exempt the survivors from
    later collections. A replay's states live to its end, and automatic collections
    rescanning them cost ≈15% of a replay; the states hold no reference cycles, but
    anything else that does is still collected here."""
    gc.collect(0)
    gc.freeze()


def write_records(dst: IO[bytes], records: list[Record]) -> None:
    for r in records:
        dst.write(orjson.dumps(r.as_replay_line()) + b"\n")
