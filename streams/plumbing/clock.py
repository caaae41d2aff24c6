"""The wall clock, in the milliseconds since the epoch every time inside leadtemp is in."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
