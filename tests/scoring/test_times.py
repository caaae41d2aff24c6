"""Timestamps: RFC 3339 text to milliseconds and back."""

from __future__ import annotations

import pytest

from scoring.times import ms_from_rfc3339, rfc3339_from_ms


def test_whole_seconds_are_written_without_milliseconds() -> None:
    assert rfc3339_from_ms(1_793_000_000_000) == "2026-10-26T07:33:20Z"


def test_milliseconds_are_written_when_there_are_some() -> None:
    assert rfc3339_from_ms(1_793_000_000_007) == "2026-10-26T07:33:20.007Z"


def test_milliseconds_are_written_when_asked_for() -> None:
    assert rfc3339_from_ms(0, millis=True) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize("ms", [0, 1, 999, 1_793_000_000_123, 253_402_300_799_999])
def test_written_time_reads_back_to_the_same_millisecond(ms: int) -> None:
    assert ms_from_rfc3339(rfc3339_from_ms(ms)) == ms


def test_an_offset_is_converted_to_utc() -> None:
    assert ms_from_rfc3339("2026-10-26T09:33:20.5+02:00") == 1_793_000_000_500
