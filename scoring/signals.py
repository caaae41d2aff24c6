"""What one event contributes: engagement and intent points, BANT evidence, sticky flags."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from scoring.events import (
    EmailBounced,
    EmailReplied,
    Event,
    FormSubmitted,
    WebPageViewed,
)
from scoring.model import Model
from scoring.phrases import mentions, normalized_text

AUTO_SQL_KINDS = ("demo_request", "trial_request", "contact_sales")

_FORM_ENGAGEMENT = {
    "content_download": "form.content_download",
    "case_study_download": "form.case_study_download",
    "demo_request": "form.demo_request",
    "trial_request": "form.trial_request",
    "contact_sales": "form.contact_sales",
}
_FORM_INTENT = {
    "demo_request": "demo_request",
    "trial_request": "trial_request",
    "contact_sales": "contact_sales",
    "pricing_request": "pricing_request",
    "quote_request": "pricing_request",
}
_SIMPLE_ENGAGEMENT = {
    "email.opened": "email.opened",
    "email.clicked": "email.clicked",
    "email.replied": "email.replied",
    "webinar.attended": "webinar.attended",
    "email.unsubscribed": "email.unsubscribed",
}
# Phrase lists that are intent signals, in the order of the spec's intent table.
_PHRASE_SIGNALS = (
    "pricing_request",
    "implementation_question",
    "budget_confirmation",
    "timeline_mention",
    "competitive_evaluation",
)


@dataclass(frozen=True, slots=True)
class Contributions:
    """Everything one event adds to a lead, before decay (shared between events: immutable)."""

    engagement: tuple[tuple[str, str, float], ...] = ()  # signal, cap group, points
    intent: tuple[tuple[str, float], ...] = ()  # signal, points
    budget: bool = False
    need: bool = False  # also the pain-point fit criterion
    timeline: bool = False
    uses_integration: bool = False
    auto_sql: str | None = None  # demo_request / trial_request / contact_sales
    spam_reported: bool = False
    hard_bounce: bool = False
    scored: bool = False  # the event earns engagement or intent points above 0 by itself


def _integrations(value: object) -> set[str]:
    if isinstance(value, str):
        return {v.strip().lower() for v in value.split(",") if v.strip()}
    if isinstance(value, list):
        return {v.strip().lower() for v in value if isinstance(v, str) and v.strip()}
    return set()


def _non_empty(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return bool(value)
    return value is not None and value is not False


def contributions_of(event: Event, model: Model) -> Contributions:
    """The points and evidence an event carries, per the spec's tables."""
    # Most events contribute what their kind alone decides (an opened email, a page view of
    # a category): that is computed once per model.
    key = _fixed_key(event, model)
    if key is None:
        return _contributions(event, model)
    cache = model.fixed_contributions
    c = cache.get(key)
    if c is None:
        c = cache[key] = _contributions(event, model)
    return c


def _fixed_key(event: Event, model: Model) -> Hashable | None:
    """What decides the event's contributions when that is not its text or form fields.
    Every field `_contributions` reads for this kind of event must be in the key."""
    if isinstance(event, FormSubmitted):
        return None
    if isinstance(event, EmailReplied):
        return None if event.body else event.type
    if isinstance(event, WebPageViewed):
        long_view = event.duration_seconds >= model.rules.engagement.long_view_seconds
        return event.type, event.page_category, long_view
    if isinstance(event, EmailBounced):
        return event.type, event.bounce
    return event.type


def _contributions(event: Event, model: Model) -> Contributions:
    engagement: list[tuple[str, str, float]] = []
    need = uses_integration = spam_reported = hard_bounce = False
    auto_sql: str | None = None
    eng_points = model.rules.engagement.points
    intent_points = model.rules.intent.points
    intent: set[str] = set()
    text: str | None = None

    kind = event.type
    if kind in _SIMPLE_ENGAGEMENT:
        signal = _SIMPLE_ENGAGEMENT[kind]
        engagement.append((signal, kind, eng_points[signal]))
        if isinstance(event, EmailReplied) and event.body:
            text = event.body
    elif isinstance(event, WebPageViewed):
        if event.page_category == "pricing":
            engagement.append(
                ("web.pricing_page_viewed", kind, eng_points["web.pricing_page_viewed"])
            )
        elif event.duration_seconds >= model.rules.engagement.long_view_seconds:
            engagement.append(("web.page_viewed", kind, eng_points["web.page_viewed"]))
        if event.page_category == "comparison":
            intent.add("competitive_evaluation")
    elif isinstance(event, FormSubmitted):
        form_kind = event.form_kind
        if form_kind in _FORM_ENGAGEMENT:
            signal = _FORM_ENGAGEMENT[form_kind]
            engagement.append((signal, kind, eng_points[signal]))
        if form_kind in _FORM_INTENT:
            intent.add(_FORM_INTENT[form_kind])
        if form_kind in AUTO_SQL_KINDS:
            auto_sql = form_kind
        fields = event.fields
        budget = fields.get("budget")
        if isinstance(budget, str) and budget.strip().lower() == "approved":
            intent.add("budget_confirmation")
        if _non_empty(fields.get("timeline")):
            intent.add("timeline_mention")
        if _non_empty(fields.get("pain_point")):
            need = True
        if _integrations(fields.get("uses_integrations")) & model.integrations:
            uses_integration = True
        text = event.message
    elif isinstance(event, EmailBounced):
        hard_bounce = event.bounce == "hard"
    elif kind == "email.spam_reported":
        spam_reported = True

    if text:
        text = normalized_text(text)
        phrases = model.phrases
        for signal in _PHRASE_SIGNALS:
            if signal not in intent and mentions(phrases[signal], text):
                intent.add(signal)
        if not need and mentions(phrases["need"], text):
            need = True

    # A stable order (the spec's table) keeps explanations deterministic.
    eng = tuple(e for e in engagement if e[2] != 0)
    intents = tuple(
        (s, intent_points[s]) for s in intent_points if s in intent and intent_points[s] != 0
    )
    return Contributions(
        engagement=eng,
        intent=intents,
        budget="budget_confirmation" in intent,
        need=need,
        timeline="timeline_mention" in intent,
        uses_integration=uses_integration,
        auto_sql=auto_sql,
        spam_reported=spam_reported,
        hard_bounce=hard_bounce,
        scored=any(p > 0 for _, _, p in eng) or any(p > 0 for _, p in intents),
    )
