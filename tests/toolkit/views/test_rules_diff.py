"""`leadtemp rules diff` tables: how durations and first-hot shifts read."""

from __future__ import annotations

import pytest
from rich.console import Console

from scoring.rules_diff import RulesDiff
from toolkit.views.rules_diff import duration_text, rules_diff_tables


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 s"), (-600, "10 min"), (7_800, "2 h 10 min"), (3 * 86_400 + 4 * 3_600, "3 d 4 h")],
)
def test_durations_read_in_their_largest_two_units(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def rendered(record: dict) -> str:
    console = Console(width=200, record=True)
    console.print(rules_diff_tables(record, show=5))
    return console.export_text()


def test_a_negative_median_shift_reads_as_sooner() -> None:
    record = RulesDiff("default", "candidate", 1, 1, hot_shifts=[-120_000]).as_record()
    assert "1 sooner, 0 later, 0 at the same time (median 2 min sooner)" in rendered(record)
