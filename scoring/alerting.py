"""Alert decisions: when to raise, priority, respond-by, routing fields and top signals."""

from __future__ import annotations

from typing import Any

from scoring.decay import decay_factor
from scoring.model import Model
from scoring.state import TOP_PER_KIND, LeadState
from scoring.times import rfc3339_from_ms

TOP_SIGNALS = 5
ACCOUNT_ALERT_PRIORITY = "P2"  # a hot-account alert always has it


def alert_due(last_alert: int | None, at: int, model: Model) -> bool:
    """False within the cooldown (event time) after the last alert."""
    return last_alert is None or at >= last_alert + model.cooldown_ms


def lead_priority(reasons: list[str], bant: int) -> str:
    """P1 for an automatic SQL or a BANT score of 4, else P2."""
    return "P1" if bant == 4 or any(r.startswith("auto_sql:") for r in reasons) else "P2"


def respond_by(at: int, priority: str, model: Model) -> int:
    return at + model.respond_within_ms[priority]


def routing_of(state: LeadState, model: Model) -> dict[str, str]:
    """`routing.segment` from company size and `routing.region` from country."""
    size = state.profile_value("company_size")
    segment = "unknown"
    if isinstance(size, int | float):
        for name, band in model.rules.routing.segments.items():
            if band.min <= size and (band.max is None or size <= band.max):
                segment = name
                break
    country = state.profile_value("country")
    region = (
        model.region_of.get(country.strip().upper(), "other")
        if isinstance(country, str)
        else "other"
    )
    return {"segment": segment, "region": region}


def remember_signal(
    state: LeadState, kind: str, signal: str, at: int, points: float, model: Model
) -> None:
    """Keep the strongest contributions per kind (their order never changes as they decay alike)."""
    half_life = model.eng_half_life_ms if kind == "engagement" else model.intent_half_life_ms
    top = state.top
    top.append([kind, signal, at, points])
    if len(top) <= TOP_PER_KIND:
        return
    same = [e for e in top if e[0] == kind]
    if len(same) > TOP_PER_KIND:
        # Strength at one reference time, so that entries of any age compare.
        weakest = min(same, key=lambda e: e[3] * decay_factor(state.clock - e[2], half_life))
        top.remove(weakest)


def top_signals(state: LeadState, at: int, model: Model) -> list[dict[str, Any]]:
    """The strongest decayed contributions at `at`, strongest first, at most 5."""
    scored = []
    for kind, signal, t, points in state.top:
        half_life = model.eng_half_life_ms if kind == "engagement" else model.intent_half_life_ms
        scored.append((points * decay_factor(at - t, half_life), kind, signal, t))
    scored.sort(key=lambda e: (-e[0], e[3], e[1], e[2]))
    return [
        {"signal": signal, "kind": kind, "points": round(value, 2), "at": rfc3339_from_ms(t)}
        for value, kind, signal, t in scored[:TOP_SIGNALS]
    ]


def contact_of(state: LeadState) -> dict[str, Any]:
    return {k: state.profile_value(k) for k in ("name", "email", "job_title", "company", "country")}
