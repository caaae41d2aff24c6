"""The files the tools read and write: an events file (`-`: stdin), with a progress bar on a
terminal's stderr, and a JSONL output (`-`: stdout)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn


@contextmanager
def events_source(
    path: str, console: Console, quiet: bool = False
) -> Iterator[tuple[IO[bytes], Callable[[], None]]]:
    """The events file (`-`: stdin) and what to call after each chunk: a progress bar on a
    terminal's stderr for a file, nothing otherwise."""
    src = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    size = None if path == "-" else os.path.getsize(path)
    show = not quiet and size is not None and console.is_terminal
    try:
        with Progress(
            TextColumn("replay"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not show,
            transient=True,
        ) as progress:
            task = progress.add_task("replay", total=size)

            def on_chunk() -> None:
                if show:
                    progress.update(task, completed=src.tell())

            yield src, on_chunk
    finally:
        if src is not sys.stdin.buffer:
            src.close()


@contextmanager
def output_sink(path: str) -> Iterator[IO[bytes]]:
    """Where a tool writes: the file at `path`, or stdout for `-` (flushed, not closed)."""
    if path != "-":
        with open(path, "wb") as f:
            yield f
        return
    try:
        yield sys.stdout.buffer
    finally:
        sys.stdout.buffer.flush()
