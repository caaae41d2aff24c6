"""Timestamps: RFC 3339 text to milliseconds and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import times
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


@st.composite
def timestamps(draw: st.DrawFn) -> tuple[str, int]:
    """Any valid RFC 3339 text (any offset, precision and letter case) and the instant it
    names, in ms."""
    instant = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    offset_minutes = draw(st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1))
    digits = draw(st.integers(min_value=0, max_value=9))
    separator = draw(st.sampled_from(["T", "t", " "]))
    utc_letter = draw(st.sampled_from(["Z", "z"]))
    local = instant.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    sign = "-" if offset_minutes < 0 else "+"
    hh, mm = divmod(abs(offset_minutes), 60)
    zone = utc_letter if offset_minutes == 0 else f"{sign}{hh:02d}:{mm:02d}"
    frac = f".{local.microsecond:06d}000"[: digits + 1] if digits else ""
    text = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}{separator}"
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}{frac}{zone}"
    )
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    whole_seconds = (local.replace(microsecond=0) - epoch) // timedelta(seconds=1)
    millis = int(frac[1:4].ljust(3, "0")) if frac else 0
    return text, whole_seconds * 1000 + millis


@given(timestamps())
def test_any_valid_timestamp_reads_as_the_instant_it_names(timestamp: tuple[str, int]) -> None:
    text, ms = timestamp
    assert ms_from_rfc3339(text) == ms


@given(timestamps())
def test_a_timestamp_reads_the_same_before_and_after_its_date_is_remembered(
    timestamp: tuple[str, int],
) -> None:
    text, ms = timestamp
    times._MIDNIGHTS.clear()
    assert ms_from_rfc3339(text) == ms  # the full way, by datetime
    assert ms_from_rfc3339(text) == ms  # by arithmetic on the remembered midnight


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30T10:00:00Z",  # no such day
        "2026-11-20T24:00:00Z",
        "2026-11-20T10:60:00Z",
        "2026-11-20T10:00:60Z",
        "2026-11-20T10:00:00+24:00",
        "0000-01-01T00:00:00Z",
    ],
)
def test_a_date_or_time_out_of_range_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a valid date or time \(.+\)$"):
        ms_from_rfc3339(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T24:00:00Z",
        "2026-11-20T10:60:00Z",
        "2026-11-20T10:00:60Z",
        "2026-11-20T10:00:00+24:00",
        "2026-11-20T10:00:00-23:60",
    ],
)
def test_a_time_out_of_range_is_refused_on_a_date_read_before(text: str) -> None:
    ms_from_rfc3339("2026-11-20T10:00:00Z")
    with pytest.raises(ValueError, match=r"^not a valid date or time \(.+\)$"):
        ms_from_rfc3339(text)
