"""The rules file: every number and list of the scoring model, defaults = shared/spec/scoring.md."""

from __future__ import annotations

import hashlib
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scoring.stitching import VISITOR_HOLD_MS
from scoring.times import MS_PER_DAY
from scoring.validation import validation_message

ENGAGEMENT_POINTS: dict[str, float] = {
    "email.opened": 1,
    "email.clicked": 3,
    "web.page_viewed": 2,  # a view of at least `engagement.long_view_seconds`
    "web.pricing_page_viewed": 5,  # in place of the 2 above, any duration
    "form.content_download": 5,
    "form.case_study_download": 6,
    "webinar.attended": 8,
    "form.demo_request": 15,
    "form.trial_request": 15,
    "form.contact_sales": 15,
    "email.replied": 5,
    "multiple_stakeholders": 3,
    "email.unsubscribed": -10,
}
ENGAGEMENT_CAPS: dict[str, float] = {"email.opened": 10, "email.clicked": 15, "web.page_viewed": 20}

INTENT_POINTS: dict[str, float] = {
    "demo_request": 15,
    "trial_request": 15,
    "contact_sales": 15,
    "pricing_request": 10,
    "implementation_question": 10,
    "budget_confirmation": 10,
    "timeline_mention": 8,
    "competitive_evaluation": 5,
    "multiple_stakeholders": 5,
}
INTENT_PHRASES: dict[str, list[str]] = {
    "implementation_question": [
        "implementation timeline", "how long does deployment take", "onboarding",
        "integrate with",
    ],
    "pricing_request": ["pricing", "quote", "contract terms", "volume discount", "payment terms"],
    "timeline_mention": [
        "by Q1", "by Q2", "by Q3", "by Q4", "this month", "this quarter",
        "before fiscal year end", "contract expires",
    ],
    "budget_confirmation": [
        "budget approved", "budget is set aside", "in our capital plan", "allocating resources",
    ],
    "competitive_evaluation": ["how are you different from", "compared to", "evaluating you and"],
    "need": [
        "we need", "we are looking for", "we're looking for", "struggling with", "our challenge",
    ],
}  # fmt: skip

FREE_MAIL_DOMAINS = [
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "outlook.com", "hotmail.com",
    "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "mail.com", "zoho.com", "yandex.com",
    "yandex.ru", "mail.ru", "web.de", "qq.com", "163.com", "126.com", "fastmail.com",
    "tutanota.com", "hey.com",
]  # fmt: skip
DISPOSABLE_DOMAINS = [
    "mailinator.com", "guerrillamail.com", "guerrillamail.net", "sharklasers.com",
    "10minutemail.com", "yopmail.com", "temp-mail.org", "tempmail.com", "throwawaymail.com",
    "trashmail.com", "getnada.com", "dispostable.com", "maildrop.cc", "mintemail.com",
    "fakeinbox.com", "mohmal.com", "emailondeck.com", "burnermail.io",
]  # fmt: skip


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the key and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Range(_Strict):
    min: float = Field(ge=0)
    max: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self

    def __contains__(self, value: float) -> bool:
        return self.min <= value <= self.max


class Icp(_Strict):
    company_size: Range = Range(min=200, max=10_000)
    industries: list[str] = ["software", "manufacturing", "healthcare", "financial_services"]
    annual_revenue: Range = Range(min=10_000_000, max=1_000_000_000)
    integrations: list[str] = ["salesforce", "hubspot", "slack", "zoom"]
    countries: list[str] = []


class FitPoints(_Strict):
    company_size: float = Field(default=5, ge=0)
    industry: float = Field(default=5, ge=0)
    annual_revenue: float = Field(default=5, ge=0)
    pain_point: float = Field(default=5, ge=0)
    integrations: float = Field(default=3, ge=0)


class Disqualify(_Strict):
    competitor_domains: list[str] = []
    free_mail_domains: list[str] = FREE_MAIL_DOMAINS
    disposable_domains: list[str] = DISPOSABLE_DOMAINS
    academic_suffixes: list[str] = [".edu", ".ac.uk", ".edu.au"]
    student_titles: list[str] = ["student"]


class Segment(_Strict):
    """A company-size band; `max` absent means no upper bound."""

    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)


class Routing(_Strict):
    segments: dict[str, Segment] = {
        "smb": Segment(min=0, max=199),
        "mid_market": Segment(min=200, max=1_999),
        "enterprise": Segment(min=2_000),
    }
    regions: dict[str, list[str]] = {
        "NA": ["US", "CA"],
        "LATAM": ["MX", "BR", "AR", "CL", "CO"],
        "EMEA": [
            "GB", "IE", "DE", "FR", "NL", "BE", "ES", "IT", "SE", "NO", "DK", "FI", "CH",
            "AT", "PL",
        ],
        "APAC": ["AU", "NZ", "JP", "SG", "IN", "KR"],
    }  # fmt: skip


def _merge_known(given: dict[str, Any], defaults: dict[str, Any], what: str) -> dict[str, Any]:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r} (known: {', '.join(defaults)})")
    return {**defaults, **given}


class Engagement(_Strict):
    half_life_days: float = Field(default=30, gt=0)
    long_view_seconds: float = Field(default=120, ge=0)
    points: dict[str, float] = ENGAGEMENT_POINTS
    caps: dict[str, float] = ENGAGEMENT_CAPS

    @field_validator("points", mode="after")
    @classmethod
    def _known_points(cls, value: dict[str, float]) -> dict[str, float]:
        return _merge_known(value, ENGAGEMENT_POINTS, "signal")

    @field_validator("caps", mode="after")
    @classmethod
    def _known_caps(cls, value: dict[str, float]) -> dict[str, float]:
        from scoring.events import EVENT_TYPES

        for key, cap in value.items():
            if key not in EVENT_TYPES:
                raise ValueError(f"{key!r} is not an event type")
            if cap <= 0:
                raise ValueError(f"cap of {key} must be above 0")
        return value


class Intent(_Strict):
    half_life_days: float = Field(default=14, gt=0)
    points: dict[str, float] = INTENT_POINTS
    phrases: dict[str, list[str]] = INTENT_PHRASES
    competitor_names: list[str] = []

    @field_validator("points", mode="after")
    @classmethod
    def _known_points(cls, value: dict[str, float]) -> dict[str, float]:
        merged = _merge_known(value, INTENT_POINTS, "signal")
        negative = [k for k, v in merged.items() if v < 0]
        if negative:
            raise ValueError(f"{negative[0]}: intent points must not be negative")
        return merged

    @field_validator("phrases", mode="after")
    @classmethod
    def _known_phrases(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _merge_known(value, INTENT_PHRASES, "phrase list")


class Thresholds(_Strict):
    warm_total: float = Field(default=21, ge=0)
    hot_total: float = Field(default=50, ge=0)
    hot_intent: float = Field(default=25, ge=0)
    hot_bant: int = Field(default=3, ge=1, le=4)
    auto_sql_days: float = Field(default=30, ge=0)
    exit_margin: float = Field(default=2, ge=0)

    @model_validator(mode="after")
    def _warm_below_hot(self) -> Self:
        if self.warm_total > self.hot_total:
            raise ValueError(
                f"warm_total ({self.warm_total:g}) is above hot_total ({self.hot_total:g})"
            )
        return self


class Bant(_Strict):
    valid_days: float = Field(default=90, gt=0)


class Accounts(_Strict):
    stakeholder_window_days: float = Field(default=30, gt=0)


class RespondWithin(_Strict):
    P1: float = Field(default=5, gt=0)
    P2: float = Field(default=15, gt=0)


class Alerts(_Strict):
    cooldown_hours: float = Field(default=24, ge=0)
    respond_within_minutes: RespondWithin = RespondWithin()


class Rules(_Strict):
    """The whole scoring model; `Rules()` is the built-in default of the spec."""

    version: str = Field(default="default", min_length=1)
    icp: Icp = Icp()
    fit: FitPoints = FitPoints()
    disqualify: Disqualify = Disqualify()
    routing: Routing = Routing()
    authority_titles: list[str] = [
        "chief", "ceo", "cfo", "cto", "coo", "cmo", "cio", "vp", "vice president", "head of",
        "director", "owner", "founder", "president",
    ]  # fmt: skip
    engagement: Engagement = Engagement()
    intent: Intent = Intent()
    thresholds: Thresholds = Thresholds()
    bant: Bant = Bant()
    accounts: Accounts = Accounts()
    alerts: Alerts = Alerts()


def rules_from_mapping(data: Any, source: str = "rules") -> Rules:
    """Validate an already parsed rules document; RulesError names every bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError(
            f"{source}: (top level): must be a mapping of keys, not {type(data).__name__}"
        )
    if "version" in data and isinstance(data["version"], int | float):
        data = {**data, "version": str(data["version"])}  # YAML reads 2026.1 as a number
    try:
        return Rules.model_validate(data)
    except ValidationError as e:
        raise RulesError(validation_message(e, source)) from None


def rules_from_yaml(text: str, source: str = "rules") -> Rules:
    """Parse and validate rules from YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RulesError(f"{source}: not valid YAML: {e}") from None
    return rules_from_mapping(data, source)


def rules_as_yaml(rules: Rules) -> str:
    """The effective rules, defaults filled in, as YAML."""
    return yaml.safe_dump(rules.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def rules_fingerprint(rules: Rules) -> str:
    """A hash of the effective rules: equal for equal rules, however the file spelled them."""
    return hashlib.sha256(rules.model_dump_json().encode()).hexdigest()[:16]


def longest_window_days(rules: Rules) -> float:
    """The longest time an event still counts by a hard window of the rules (a demo request's
    automatic SQL, BANT answers, an account's stakeholders, an anonymous visitor's held page
    views): history shorter than this cannot be replayed into the same temperatures. Decayed
    points have no window; they fade by half-lives."""
    return max(rules.thresholds.auto_sql_days, rules.bant.valid_days,
               rules.accounts.stakeholder_window_days, VISITOR_HOLD_MS / MS_PER_DAY)  # fmt: skip
