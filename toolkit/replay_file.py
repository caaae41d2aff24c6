"""Replaying a file: lines read in chunks, garbage collection tuned for it, records written as
JSON lines. `leadtemp replay`, `leadtemp rules diff` and `bench/replay` use it."""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import IO

import orjson
from rich.console import Console

from scoring import (
    Engine,
    Record,
    Replay,
    Rules,
    RulesDiff,
    RunOutcome,
    note_first_hot,
    outcome_of,
    rules_diff,
)
from toolkit.files import events_source, output_sink

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


def outcome_of_file(
    rules: Rules,
    src: IO[bytes],
    now_ms: int,
    until_ms: int | None = None,
    on_chunk: Callable[[], None] | None = None,
) -> RunOutcome:
    """Replay `src` under `rules`; where it left each lead."""
    run = Replay(Engine(rules), now_ms)
    first_hot: dict[str, int] = {}
    replay_runs([(run, lambda records: note_first_hot(records, first_hot))], src, until_ms,
                on_chunk)  # fmt: skip
    return outcome_of(run, first_hot)


def outcome_of_path(rules: Rules, path: str, now_ms: int, until_ms: int | None) -> RunOutcome:
    with open(path, "rb") as src:
        return outcome_of_file(rules, src, now_ms, until_ms)


def rules_diff_of_file(
    before: Rules,
    after: Rules,
    src: IO[bytes],
    now_ms: int,
    until_ms: int | None = None,
    on_chunk: Callable[[], None] | None = None,
) -> RulesDiff:
    """Replay the events file `src` under both rule sets side by side (the rules in use in a
    child process, which reads the file by its name, on the other core) and compare the
    outcomes lead by lead. `on_chunk()` follows the candidate's replay."""
    # spawn, not fork: a fork copies whatever threads the caller runs (a progress bar's)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        in_use = pool.submit(outcome_of_path, before, src.name, now_ms, until_ms)
        candidate = outcome_of_file(after, src, now_ms, until_ms, on_chunk)
        return rules_diff(in_use.result(), candidate)


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


def replay_path(
    path: str,
    output: str,
    rules: Rules,
    now_ms: int,
    until_ms: int | None,
    console: Console,
    quiet: bool = False,
) -> Replay:
    """`leadtemp replay`: the events file at `path` (`-`: stdin) scored, its records written as
    JSON lines to `output` (`-`: stdout); the finished replay."""
    run = Replay(Engine(rules), now_ms)
    with output_sink(output) as dst, events_source(path, console, quiet) as (src, progress):
        replay_file(run, src, dst, until_ms, progress)
    return run


def rules_diff_of_path(
    before: Rules,
    after: Rules,
    path: str,
    now_ms: int,
    until_ms: int | None,
    console: Console,
) -> RulesDiff:
    """`leadtemp rules diff`: `rules_diff_of_file` of the events file at `path`; standard input
    (`-`) is spooled to a temporary file first, since both replays read it side by side."""
    with tempfile.TemporaryDirectory(prefix="leadtemp-diff-") as spool:
        if path == "-":
            path = os.path.join(spool, "events.jsonl")
            with open(path, "wb") as f:
                shutil.copyfileobj(sys.stdin.buffer, f)
        with events_source(path, console) as (src, progress):
            return rules_diff_of_file(before, after, src, now_ms, until_ms, progress)
