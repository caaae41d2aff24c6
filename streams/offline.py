"""Running a Replay over a file: lines read in chunks, garbage collection tuned for it,
records written as JSON lines. `leadtemp replay`, `leadtemp rules diff` and `bench/replay`
use it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import IO

import orjson

from scoring.engine import Engine
from scoring.records import Record
from scoring.replay import Replay
from scoring.rules_diff import RulesDiff, note_first_hot, rules_diff

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
    replay_runs(
        [(run, lambda records: write_records(dst, records))], src, until_ms, on_chunk, chunk_lines
    )


def replay_runs(
    runs: Sequence[tuple[Replay, Callable[[list[Record]], None]]],
    src: IO[bytes],
    until_ms: int | None = None,
    on_chunk: Callable[[], None] | None = None,
    chunk_lines: int = CHUNK_LINES,
) -> None:
    """Feed every line of `src` to each run, then finish them at `until_ms`; each run's
    records go to its callback. One pass over `src`, so standard input works too."""
    collect_every = max(1, COLLECT_EVERY_LINES // chunk_lines)  # in chunks
    gc.disable()
    try:
        for n, chunk in enumerate(numbered_chunks(src, chunk_lines), 1):
            for run, sink in runs:
                sink(run.feed_lines(chunk))
            if n % collect_every == 0:
                collect_and_freeze()
            if on_chunk is not None:
                on_chunk()
        for run, sink in runs:
            sink(run.finish(until_ms))
    finally:
        gc.enable()


def rules_diff_of_file(
    before: Engine,
    after: Engine,
    src: IO[bytes],
    now_ms: int,
    until_ms: int | None = None,
    on_chunk: Callable[[], None] | None = None,
) -> RulesDiff:
    """Replay `src` under both engines' rules and compare the outcomes lead by lead."""
    runs = (Replay(before, now_ms), Replay(after, now_ms))
    first_hot: tuple[dict[str, int], dict[str, int]] = ({}, {})
    replay_runs(
        [
            (runs[0], lambda records: note_first_hot(records, first_hot[0])),
            (runs[1], lambda records: note_first_hot(records, first_hot[1])),
        ],
        src,
        until_ms,
        on_chunk,
    )
    return rules_diff(runs[0], runs[1], first_hot[0], first_hot[1])


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
