"""Accounts: engaged stakeholders, the multiple-stakeholder bonus, and account temperature."""

from __future__ import annotations

from dataclasses import dataclass

from scoring.state import AccountState, Member
from scoring.temperature import COLD, HOT, WARM


def is_engaged(member: Member, at: int, window_ms: int) -> bool:
    """Not disqualified, with a scored event in the window [last_scored, last_scored + window)."""
    return (
        not member.disqualified
        and member.last_scored is not None
        and member.last_scored <= at < member.last_scored + window_ms
    )


@dataclass(slots=True)  # never mutated; __init__ written out for the compiled build (Scores)
class AccountView:
    """What the account rules look at, at one instant."""

    engaged: int
    hot_leads: list[str]
    warm_leads: list[str]
    authority_engaged: bool

    def __init__(
        self, engaged: int, hot_leads: list[str], warm_leads: list[str], authority_engaged: bool
    ) -> None:
        self.engaged = engaged
        self.hot_leads = hot_leads
        self.warm_leads = warm_leads
        self.authority_engaged = authority_engaged

    def as_record(self) -> dict[str, object]:
        return {
            "engaged_stakeholders": self.engaged,
            "hot_leads": self.hot_leads,
            "warm_leads": self.warm_leads,
            "authority_engaged": self.authority_engaged,
        }


def account_view(account: AccountState, at: int, window_ms: int) -> AccountView:
    # One pass: this runs whenever a member changes in a way the account rules see.
    engaged = 0
    authority = False
    hot: list[str] = []
    warm: list[str] = []
    for lead_id, m in account.members.items():
        if is_engaged(m, at, window_ms):
            engaged += 1
            authority = authority or m.authority
        if m.temp == HOT:
            hot.append(lead_id)
        elif m.temp == WARM:
            warm.append(lead_id)
    hot.sort()
    warm.sort()
    return AccountView(engaged, hot, warm, authority)


def engaged_stakeholders(account: AccountState, at: int, window_ms: int) -> int:
    return sum(is_engaged(m, at, window_ms) for m in account.members.values())


def account_temperature(view: AccountView) -> tuple[str, list[str]]:
    """Account temperature and every rule of it that holds, in the spec's order."""
    hot = []
    if view.hot_leads and view.engaged >= 2:
        hot.append("hot_lead+stakeholders>=2")
    if view.engaged >= 3 and view.authority_engaged:
        hot.append("stakeholders>=3+authority")
    if hot:
        return HOT, hot
    warm = []
    if view.hot_leads or view.warm_leads:
        warm.append("warm_lead")
    if view.engaged >= 2:
        warm.append("stakeholders>=2")
    if warm:
        return WARM, warm
    return COLD, ["below_thresholds"]


def next_window_end(account: AccountState, at: int, window_ms: int) -> int | None:
    """When the next engaged stakeholder's window ends (the account may cool then)."""
    ends = [
        m.last_scored + window_ms
        for m in account.members.values()
        if is_engaged(m, at, window_ms) and m.last_scored is not None
    ]
    return min(ends, default=None)


def prune_members(account: AccountState, at: int, window_ms: int) -> None:
    """Forget leads that no longer count for anything (not engaged, neither warm nor hot)."""
    for lead_id in [
        k for k, m in account.members.items()
        if m.temp not in (HOT, WARM) and not is_engaged(m, at, window_ms)
        and (m.last_scored is None or m.last_scored + window_ms <= at)
    ]:  # fmt: skip
        del account.members[lead_id]
