"""The contract's example: personas.jsonl replayed with default rules gives the expected records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoring.engine import Engine
from scoring.records import Record
from scoring.replay import Replay
from scoring.times import ms_from_rfc3339

NOW = ms_from_rfc3339("2026-11-01T00:00:00Z")


def expected_rows(examples: Path) -> list[dict[str, str]]:
    rows = []
    for line in (examples / "personas.expected.md").read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0] in (
            "leads.temperature", "alerts.hot-lead", "events.deadletter",
        ):  # fmt: skip
            rows.append(dict(zip(("topic", "key", "change", "at", "reasons", "scores"), cells,
                                 strict=True)))  # fmt: skip
    return rows


def lead_records(examples: Path) -> list[Record]:
    run = Replay(Engine(), NOW)
    out: list[Record] = []
    for i, line in enumerate((examples / "personas.jsonl").read_bytes().splitlines()):
        out += run.feed(line, i)
    out += run.finish()
    return [
        r for r in out if not r.topic.startswith("accounts.") and r.topic != "alerts.hot-account"
    ]


def parse_scores(text: str) -> dict[str, float]:
    return {k.lower(): float(v) for k, v in re.findall(r"(\w+) ([\d.]+)", text)}


def test_personas_give_exactly_the_expected_lead_records(examples: Path) -> None:
    rows = expected_rows(examples)
    records = lead_records(examples)
    assert [(r.topic, r.key or "") for r in records] == [(row["topic"], row["key"]) for row in rows]
    for record, row in zip(records, rows, strict=True):
        v = record.value
        if record.topic == "events.deadletter":
            assert v["reason"] == "invalid_json"
            continue
        assert v["reasons"] == [r.strip() for r in row["reasons"].split(",")]
        if record.topic == "alerts.hot-lead":
            priority, respond_by = re.fullmatch(r"(P\d), respond by (\S+)", row["change"]).groups()
            assert (v["priority"], v["respond_by"], v["occurred_at"]) == (
                priority,
                respond_by,
                row["at"],
            )
            continue
        before, after = row["change"].split(" → ")
        assert (str(v["from"]), v["to"]) == (before, after)
        if "decay" in v["reasons"]:  # a decay downgrade's time may differ by a second
            assert abs(ms_from_rfc3339(v["occurred_at"]) - ms_from_rfc3339(row["at"])) <= 1000
        else:
            assert v["occurred_at"] == row["at"]
        expected = parse_scores(row["scores"])
        got = {**v["scores"]}
        assert {k: got[k] for k in expected} == pytest.approx(expected, abs=0.005)
