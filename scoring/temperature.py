"""Lead temperature: scores at an instant, entry and exit rules, reasons, next drop by time."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scoring.decay import capped_sum, capped_sum_crossing, decay_factor, decaying_crossing
from scoring.model import Model
from scoring.profile import disqualifiers, fit_score, has_authority, is_disqualified
from scoring.signals import AUTO_SQL_KINDS
from scoring.state import LeadState

HOT = "hot"
WARM = "warm"
COLD = "cold"
DISQUALIFIED = "disqualified"
RANK = {None: -1, COLD: 0, WARM: 1, HOT: 2}
SALES_ACTION = {COLD: "educate", WARM: "nurture", HOT: "fast_follow_up", DISQUALIFIED: "none"}
DECAY = "decay"
# The last reason of an account change caused by a lead leaving it without an event: forgotten
# on request, or idle past retention.
LEAD_REMOVED = "lead_removed"


# Not frozen, and its __init__ written out: compiled, a frozen or generated __init__ stays
# Python (≈0.5 µs more, once or twice per event). Never mutated.
@dataclass(slots=True)
class Scores:
    """A lead's scores and flags at one instant."""

    fit: float
    engagement: float
    intent: float
    budget: bool
    authority: bool
    need: bool
    timeline: bool
    auto_sql: tuple[str, ...]  # request kinds whose window is open

    def __init__(
        self,
        fit: float,
        engagement: float,
        intent: float,
        budget: bool,
        authority: bool,
        need: bool,
        timeline: bool,
        auto_sql: tuple[str, ...],
    ) -> None:
        self.fit = fit
        self.engagement = engagement
        self.intent = intent
        self.budget = budget
        self.authority = authority
        self.need = need
        self.timeline = timeline
        self.auto_sql = auto_sql

    @property
    def bant(self) -> int:
        return self.budget + self.authority + self.need + self.timeline

    @property
    def total(self) -> float:
        return self.fit + self.engagement

    def as_record(self) -> dict[str, float | int]:
        """Rounded for output; decisions never use these."""
        return {
            "fit": round(self.fit, 2),
            "engagement": round(self.engagement, 2),
            "intent": round(self.intent, 2),
            "bant": self.bant,
            "total": round(self.total, 2),
        }


def _within(since: int | None, at: int, window_ms: int) -> bool:
    # Half-open windows: they hold for since ≤ at < since + window.
    return since is not None and since <= at < since + window_ms


def scores_at(state: LeadState, at: int, model: Model) -> Scores:
    """The lead's scores at `at` (normally its clock or later)."""
    elapsed = at - state.clock
    engagement = capped_sum(state.eng, model.caps, decay_factor(elapsed, model.eng_half_life_ms))
    valid = model.bant_valid_ms
    return Scores(
        fit=fit_score(state, model),
        engagement=max(0.0, engagement + state.neg),
        intent=state.intent * decay_factor(elapsed, model.intent_half_life_ms),
        budget=_within(state.budget_at, at, valid),
        authority=has_authority(state, model),
        need=_within(state.need_at, at, valid),
        timeline=_within(state.timeline_at, at, valid),
        auto_sql=tuple(
            k for k in AUTO_SQL_KINDS if _within(state.sql.get(k), at, model.auto_sql_ms)
        )
        if state.sql
        else (),
    )


def rules_that_hold(level: str, s: Scores, model: Model, margin: float = 0.0) -> list[str]:
    """The reasons of `level` that hold, with numeric thresholds lowered by `margin`."""
    th = model.rules.thresholds
    if level == HOT:
        reasons = [f"auto_sql:{k}" for k in s.auto_sql]
        if s.intent >= th.hot_intent - margin:
            reasons.append("intent>=25")
        if s.total >= th.hot_total - margin:
            reasons.append("total>=50")
        if s.bant >= th.hot_bant:
            reasons.append("bant>=3")
        return reasons
    if level == WARM:
        return ["total>=21"] if s.total >= th.warm_total - margin else []
    return ["below_thresholds"]


def classify(
    previous: str | None, s: Scores, disqualified: list[str], model: Model
) -> tuple[str, list[str]]:
    """The temperature after an event: up by the entry rules, down only past the exit margin."""
    if disqualified:
        return DISQUALIFIED, disqualified
    for level in (HOT, WARM, COLD):
        reasons = rules_that_hold(level, s, model)
        if reasons:
            break
    if RANK.get(previous, -1) > RANK[level]:
        return settle_below(previous, s, model, include_previous=True)
    return level, reasons


def settle_below(
    previous: str | None, s: Scores, model: Model, include_previous: bool = False
) -> tuple[str, list[str]]:
    """The highest temperature (at most `previous`) whose rules hold with the exit margin."""
    margin = model.rules.thresholds.exit_margin
    for level in (HOT, WARM, COLD):
        if RANK[level] > RANK.get(previous, -1) or (level == previous and not include_previous):
            continue
        reasons = rules_that_hold(level, s, model, margin)
        if reasons:
            return level, reasons
    raise AssertionError("cold always holds")


def lead_temperature(state: LeadState, at: int, model: Model) -> tuple[str, list[str], Scores]:
    """Classify the lead at `at`, from its current temperature."""
    s = scores_at(state, at, model)
    why = disqualifiers(state, model) if is_disqualified(state, model) else []
    temp, reasons = classify(state.temp, s, why, model)
    return temp, reasons, s


def next_drop(state: LeadState, model: Model) -> int | None:
    """When the lead's temperature falls if nothing else happens (ms), or None if it never does."""
    if state.temp == HOT:
        ends = [
            _hot_sql_end(state, model),
            _intent_end(state, model),
            _total_end(state, model, True),
            _bant_end(state, model),
        ]
    elif state.temp == WARM:
        ends = [_total_end(state, model, False)]
    else:
        return None
    end = max(ends)
    if math.isinf(end):
        return None
    return max(math.ceil(end), state.clock + 1)


def _hot_sql_end(state: LeadState, model: Model) -> float:
    return float(max((at + model.auto_sql_ms for at in state.sql.values()), default=state.clock))


def _intent_end(state: LeadState, model: Model) -> float:
    th = model.rules.thresholds
    line = th.hot_intent - th.exit_margin
    end = decaying_crossing(state.intent, line, state.clock, model.intent_half_life_ms)
    return math.inf if end is None else end


def _total_end(state: LeadState, model: Model, hot: bool) -> float:
    th = model.rules.thresholds
    line = (th.hot_total if hot else th.warm_total) - th.exit_margin - fit_score(state, model)
    if line <= 0:
        return math.inf
    end = capped_sum_crossing(
        state.eng, model.caps, line - state.neg, state.clock, model.eng_half_life_ms
    )
    return math.inf if end is None else end


def _bant_end(state: LeadState, model: Model) -> float:
    needed = model.rules.thresholds.hot_bant - has_authority(state, model)
    if needed <= 0:
        return math.inf
    valid = model.bant_valid_ms
    expiries = sorted(
        (t + valid for t in (state.budget_at, state.need_at, state.timeline_at) if t is not None),
        reverse=True,
    )
    if len(expiries) < needed:
        return float(state.clock)
    return float(expiries[needed - 1])
