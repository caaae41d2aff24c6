"""The scoring model compiled from the rules: sets, regexes and constants in engine units."""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from scoring.phrases import phrase_pattern
from scoring.rules import Rules
from scoring.times import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE

_SEPARATORS = re.compile(r"[\s\-]+")


def industry_key(value: str) -> str:
    """Industries compare case-insensitively with spaces and hyphens read as underscores."""
    return _SEPARATORS.sub("_", value.strip().lower())


@dataclass(frozen=True)
class Model:
    """Everything `Rules` says, precomputed once for the hot path."""

    rules: Rules
    version: str = field(init=False)
    eng_half_life_ms: float = field(init=False)
    intent_half_life_ms: float = field(init=False)
    caps: dict[str, float] = field(init=False)
    industries: frozenset[str] = field(init=False)
    integrations: frozenset[str] = field(init=False)
    countries: frozenset[str] = field(init=False)
    free_mail: frozenset[str] = field(init=False)
    competitor_domains: frozenset[str] = field(init=False)
    disposable_domains: frozenset[str] = field(init=False)
    academic_suffixes: tuple[str, ...] = field(init=False)
    student_title: re.Pattern[str] | None = field(init=False)
    authority_title: re.Pattern[str] | None = field(init=False)
    phrases: dict[str, re.Pattern[str] | None] = field(init=False)
    auto_sql_ms: int = field(init=False)
    bant_valid_ms: int = field(init=False)
    stakeholder_window_ms: int = field(init=False)
    cooldown_ms: int = field(init=False)
    respond_within_ms: dict[str, int] = field(init=False)
    region_of: dict[str, str] = field(init=False)
    # signals.contributions_of's memo of what an event's kind alone decides
    fixed_contributions: dict[Hashable, Any] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        r = self.rules
        competitor_phrases = [
            *r.intent.phrases["competitive_evaluation"],
            *r.intent.competitor_names,
        ]
        values = {
            "version": r.version,
            "eng_half_life_ms": r.engagement.half_life_days * MS_PER_DAY,
            "intent_half_life_ms": r.intent.half_life_days * MS_PER_DAY,
            "caps": dict(r.engagement.caps),
            "industries": frozenset(industry_key(i) for i in r.icp.industries),
            "integrations": frozenset(i.strip().lower() for i in r.icp.integrations),
            "countries": frozenset(c.strip().upper() for c in r.icp.countries),
            "free_mail": frozenset(d.lower() for d in r.disqualify.free_mail_domains),
            "competitor_domains": frozenset(d.lower() for d in r.disqualify.competitor_domains),
            "disposable_domains": frozenset(d.lower() for d in r.disqualify.disposable_domains),
            "academic_suffixes": tuple(s.lower() for s in r.disqualify.academic_suffixes),
            "student_title": phrase_pattern(r.disqualify.student_titles),
            "authority_title": phrase_pattern(r.authority_titles),
            "phrases": {
                **{k: phrase_pattern(v) for k, v in r.intent.phrases.items()},
                "competitive_evaluation": phrase_pattern(competitor_phrases),
            },
            "auto_sql_ms": round(r.thresholds.auto_sql_days * MS_PER_DAY),
            "bant_valid_ms": round(r.bant.valid_days * MS_PER_DAY),
            "stakeholder_window_ms": round(r.accounts.stakeholder_window_days * MS_PER_DAY),
            "cooldown_ms": round(r.alerts.cooldown_hours * MS_PER_HOUR),
            "respond_within_ms": {
                "P1": round(r.alerts.respond_within_minutes.P1 * MS_PER_MINUTE),
                "P2": round(r.alerts.respond_within_minutes.P2 * MS_PER_MINUTE),
            },
            "region_of": {
                c.upper(): region for region, codes in r.routing.regions.items() for c in codes
            },
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)


def domain_matches(domain: str, domains: frozenset[str]) -> bool:
    """True when the domain or one of its parent domains is in the set."""
    if domain in domains:
        return True
    parts = domain.split(".")
    return any(".".join(parts[i:]) in domains for i in range(1, len(parts) - 1))
