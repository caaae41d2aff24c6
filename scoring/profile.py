"""The lead's profile: latest-wins merging; account, authority, fit and disqualifiers."""

from __future__ import annotations

from dataclasses import dataclass

from scoring.events import Profile
from scoring.model import Model, domain_matches, industry_key
from scoring.state import LeadState


@dataclass(slots=True)  # never mutated; __init__ written out for the compiled build (Scores)
class ProfileFacts:
    """What the profile decides, computed once per profile change (not serialized)."""

    fit: float
    authority: bool
    disqualifiers: tuple[str, ...]  # profile-based ones: competitor, student, …, geography
    account: str | None

    def __init__(
        self, fit: float, authority: bool, disqualifiers: tuple[str, ...], account: str | None
    ) -> None:
        self.fit = fit
        self.authority = authority
        self.disqualifiers = disqualifiers
        self.account = account


def merge_profile(state: LeadState, lead: Profile | None, at: int) -> None:
    """Take each non-null attribute whose occurred_at is not older than what we hold.

    Ties go to the later arrival, so arrival order does not matter otherwise.
    """
    if lead is None:
        return
    profile = state.profile
    extra = lead.model_extra or {}
    # Only what the producer sent: most events carry just the id.
    for name in lead.model_fields_set:
        value = extra[name] if name in extra else getattr(lead, name)
        if value is None or name == "id":
            continue
        held = profile.get(name)
        if held is None or at >= held[1]:
            if held is None or held[0] != value:
                state.facts = None
            profile[name] = [value, at]


def profile_facts(state: LeadState, model: Model) -> ProfileFacts:
    """The cached facts of the current profile."""
    facts = state.facts
    if facts is None:
        facts = state.facts = ProfileFacts(
            fit=_fit(state, model),
            authority=_authority(state, model),
            disqualifiers=tuple(_profile_disqualifiers(state, model)),
            account=_account(state, model),
        )
    return facts  # type: ignore[no-any-return]


def email_domain(state: LeadState) -> str | None:
    return _domain(state.profile_value("email"))


def _domain(email: object) -> str | None:
    if not isinstance(email, str) or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


def _account(state: LeadState, model: Model) -> str | None:
    return account_from(state.profile_value("account_id"), state.profile_value("email"), model)


def account_from(account_id: object, email: object, model: Model) -> str | None:
    """`account_id`, else the email's domain unless it is a free-mail domain."""
    if isinstance(account_id, str) and account_id:
        return account_id
    domain = _domain(email)
    if domain is None or domain_matches(domain, model.free_mail):
        return None
    return domain


def has_authority(state: LeadState, model: Model) -> bool:
    """The current job title shows a decision maker."""
    return profile_facts(state, model).authority


def _authority(state: LeadState, model: Model) -> bool:
    title = state.profile_value("job_title")
    return bool(
        isinstance(title, str) and model.authority_title and model.authority_title.search(title)
    )


def _profile_disqualifiers(state: LeadState, model: Model) -> list[str]:
    """Disqualifier names that the latest profile gives (lifted when the profile is corrected)."""
    reasons = []
    domain = email_domain(state)
    if domain is not None and domain_matches(domain, model.competitor_domains):
        reasons.append("competitor")
    title = state.profile_value("job_title")
    if (
        isinstance(title, str)
        and model.student_title is not None
        and model.student_title.search(title)
    ) or (domain is not None and domain.endswith(model.academic_suffixes)):
        reasons.append("student")
    if domain is not None and domain_matches(domain, model.disposable_domains):
        reasons.append("disposable_domain")
    country = state.profile_value("country")
    if (
        model.countries
        and isinstance(country, str)
        and country.strip().upper() not in model.countries
    ):
        reasons.append("geography")
    return reasons


def is_disqualified(state: LeadState, model: Model) -> bool:
    """Some disqualifier holds (without naming them all)."""
    facts = profile_facts(state, model)
    return bool(facts.disqualifiers) or state.spam_reported or state.hard_bounce


def disqualifiers(state: LeadState, model: Model) -> list[str]:
    """Every disqualifier that holds, as `disqualified:<why>` reasons in the spec's order."""
    why = list(profile_facts(state, model).disqualifiers)
    if state.spam_reported:
        why.append("spam_reported")
    if state.hard_bounce:
        why.append("hard_bounce")
    return [f"disqualified:{w}" for w in why]


def fit_score(state: LeadState, model: Model) -> float:
    """Firmographic fit from the latest profile (not decayed)."""
    return profile_facts(state, model).fit


def _fit(state: LeadState, model: Model) -> float:
    icp = model.rules.icp
    points = model.rules.fit
    fit = 0.0
    size = state.profile_value("company_size")
    if isinstance(size, int | float) and size in icp.company_size:
        fit += points.company_size
    industry = state.profile_value("industry")
    if isinstance(industry, str) and industry_key(industry) in model.industries:
        fit += points.industry
    revenue = state.profile_value("annual_revenue")
    if isinstance(revenue, int | float) and revenue in icp.annual_revenue:
        fit += points.annual_revenue
    if state.pain_point:
        fit += points.pain_point
    if state.uses_integration:
        fit += points.integrations
    return fit
