"""Replaying a file: chunks of lines, blank lines, records written as JSON lines."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from scoring.engine import Engine
from scoring.replay import Replay
from toolkit.replay_file import replay_file

NOW = 1_800_000_000_000


def replayed(data: bytes, chunk_lines: int) -> list[bytes]:
    out = io.BytesIO()
    replay_file(Replay(Engine(), NOW), io.BytesIO(data), out, chunk_lines=chunk_lines)
    return out.getvalue().splitlines()


def test_chunks_give_the_records_of_feeding_line_by_line(examples: Path) -> None:
    data = (examples / "personas.jsonl").read_bytes() + b"not json\n"
    run = Replay(Engine(), NOW)
    one_by_one = [r for i, line in enumerate(data.splitlines()) for r in run.feed(line, i)]
    one_by_one += run.finish()
    expected = [orjson.dumps(r.as_replay_line()) for r in one_by_one]
    assert replayed(data, chunk_lines=7) == expected


def test_blank_lines_are_skipped_but_keep_their_number() -> None:
    (line,) = replayed(b"\n\r\nnot json\n", chunk_lines=2)
    record = orjson.loads(line)
    assert (record["topic"], record["value"]["offset"]) == ("events.deadletter", 2)
