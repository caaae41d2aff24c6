"""Timestamps: RFC 3339 text in, integer milliseconds since the epoch inside, text out."""

from __future__ import annotations

import re
import time
from datetime import datetime

MS_PER_DAY = 86_400_000
MS_PER_HOUR = 3_600_000
MS_PER_MINUTE = 60_000

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})?"
)


# Midnight (UTC, ms) of dates already read: every event's timestamp is parsed, and a stream's
# events share a few dates. Bounded: past the bound, new dates take the full path.
_MIDNIGHTS: dict[str, int] = {}
_MIDNIGHTS_MAX = 10_000


def ms_from_rfc3339(text: str) -> int:
    """Milliseconds since the epoch; ValueError naming what is wrong for anything not RFC 3339."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError("not an RFC 3339 timestamp (e.g. 2026-11-20T14:03:11Z)")
    date, clock, frac, zone = m.groups()
    if zone is None:
        raise ValueError("missing time zone")
    # Arithmetic on a date seen before is a third of the time of building a datetime; any
    # field out of range goes the full way, which names the problem.
    midnight = _MIDNIGHTS.get(date)
    hour, minute, second = int(clock[:2]), int(clock[3:5]), int(clock[6:])
    if zone in "Zz":
        offset_minutes = 0
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:])
        if hours > 23 or minutes > 59:
            midnight = None
        offset_minutes = hours * 60 + minutes if zone[0] == "+" else -(hours * 60 + minutes)
    if midnight is None or hour > 23 or minute > 59 or second > 59:
        return _ms_from_parts(date, clock, frac, zone)
    return midnight + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + _millis(frac)


def _ms_from_parts(date: str, clock: str, frac: str | None, zone: str) -> int:
    """ms_from_rfc3339 by way of datetime, which validates every field; remembers the date."""
    try:
        whole = datetime.fromisoformat(f"{date}T{clock}{zone.upper()}")
        midnight = int(datetime.fromisoformat(f"{date}T00:00:00+00:00").timestamp()) * 1000
    except ValueError as e:
        raise ValueError(f"not a valid date or time ({e})") from None
    if len(_MIDNIGHTS) < _MIDNIGHTS_MAX:
        _MIDNIGHTS[date] = midnight
    return int(whole.timestamp()) * 1000 + _millis(frac)


def _millis(frac: str | None) -> int:
    """The milliseconds of a fraction of a second's digits (further digits are dropped)."""
    return int(frac[:3].ljust(3, "0")) if frac else 0


def rfc3339_from_ms(ms: int, millis: bool = False) -> str:
    """UTC text with a Z; milliseconds shown when asked for or when not whole seconds."""
    # time.strftime of a gmtime: a third of datetime.strftime's time, on every record's times.
    seconds, rest = divmod(ms, 1000)
    if millis or rest:
        return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds)) + f"{rest:03d}Z"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
