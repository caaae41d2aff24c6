"""Exponential decay: p·2^(-(t - t_e)/H), capped sums, and when a decaying sum crosses a line."""

from __future__ import annotations

import math
from collections.abc import Mapping


def decay_factor(elapsed_ms: float, half_life_ms: float) -> float:
    """How much of a point is left after `elapsed_ms` (more than 1 for a negative elapse)."""
    return math.exp2(-elapsed_ms / half_life_ms)


def capped_sum(sums: Mapping[str, float], caps: Mapping[str, float], factor: float) -> float:
    """Σ min(cap, sum·factor) over the groups; groups without a cap count in full."""
    total = 0.0
    for group, value in sums.items():
        v = value * factor
        cap = caps.get(group)
        total += v if cap is None or v < cap else cap
    return total


def capped_sum_crossing(
    sums: Mapping[str, float],
    caps: Mapping[str, float],
    line: float,
    ref_ms: int,
    half_life_ms: float,
) -> float | None:
    """The instant after which the decaying capped sum (referenced at ref_ms) is below `line`.

    None when it never gets below (line ≤ 0); ref_ms when it already is.
    """
    if line <= 0:
        return None
    if capped_sum(sums, caps, 1.0) < line:
        return float(ref_ms)
    # g(d) = Σ min(cap, A·d) is piecewise linear and increasing in the decay d:
    # walk the breakpoints (cap/A) upwards until g reaches the line.
    const = 0.0
    slope = 0.0
    breaks: list[tuple[float, float, float]] = []
    for group, a in sums.items():
        if a <= 0:
            continue
        slope += a
        cap = caps.get(group)
        if cap is not None:
            breaks.append((cap / a, cap, a))
    breaks.sort()
    for b, cap, a in breaks:
        if b >= 1.0:
            break
        if const + slope * b >= line:
            break
        const += cap
        slope -= a
    d_star = (line - const) / slope
    return ref_ms + half_life_ms * math.log2(1.0 / d_star)


def decaying_crossing(value: float, line: float, ref_ms: int, half_life_ms: float) -> float | None:
    """The instant after which value·2^(-(t-ref)/H) is below `line`; None if never."""
    if line <= 0:
        return None
    if value < line:
        return float(ref_ms)
    return ref_ms + half_life_ms * math.log2(value / line)
