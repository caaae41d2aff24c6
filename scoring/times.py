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


def ms_from_rfc3339(text: str) -> int:
    """Milliseconds since the epoch; ValueError naming what is wrong for anything not RFC 3339."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError("not an RFC 3339 timestamp (e.g. 2026-11-20T14:03:11Z)")
    zone = m.group("zone")
    if zone is None:
        raise ValueError("missing time zone")
    try:
        whole = datetime.fromisoformat(f"{m.group('date')}T{m.group('time')}{zone.upper()}")
    except ValueError as e:
        raise ValueError(f"not a valid date or time ({e})") from None
    frac = m.group("frac") or "0"
    return int(whole.timestamp()) * 1000 + int(frac[:3].ljust(3, "0"))


def rfc3339_from_ms(ms: int, millis: bool = False) -> str:
    """UTC text with a Z; milliseconds shown when asked for or when not whole seconds."""
    # time.strftime of a gmtime: a third of datetime.strftime's time, on every record's times.
    seconds, rest = divmod(ms, 1000)
    if millis or rest:
        return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds)) + f"{rest:03d}Z"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
