"""Why a lead or account is where it is: the answer to "why is this lead hot?" at an instant."""

from __future__ import annotations

from typing import Any

from scoring.accounts import account_temperature, account_view, next_window_end
from scoring.alerting import contact_of, routing_of, top_signals
from scoring.model import Model
from scoring.profile import disqualifiers
from scoring.state import AccountState, LeadState
from scoring.temperature import lead_temperature, next_drop, scores_at
from scoring.times import rfc3339_from_ms


def _time(ms: int | None) -> str | None:
    return None if ms is None else rfc3339_from_ms(ms)


def lead_report(lead_id: str, state: LeadState, at: int, model: Model) -> dict[str, Any]:
    """Scores, flags, disqualifiers, top signals and the next drop of a lead at `at` (ms)."""
    at = max(at, state.clock)  # its scores are known from its clock on
    s = scores_at(state, at, model)
    drop = next_drop(state, model)
    drop_to = lead_temperature(state, drop, model)[0] if drop is not None else None
    return {
        "lead_id": lead_id,
        "temperature": state.temp,
        "as_of": rfc3339_from_ms(at),
        "scores": s.as_record(),
        "bant": {
            "budget": s.budget,
            "authority": s.authority,
            "need": s.need,
            "timeline": s.timeline,
        },
        "auto_sql": list(s.auto_sql),
        "disqualifiers": disqualifiers(state, model),
        "top_signals": top_signals(state, at, model),
        "next_drop": None if drop is None else {"at": rfc3339_from_ms(drop), "to": drop_to},
        "account_id": state.account,
        "contact": contact_of(state),
        "routing": routing_of(state, model),
        "last_event_at": _time(state.last_scored),
        "last_alert_at": _time(state.last_alert),
    }


def account_report(account_id: str, state: AccountState, at: int, model: Model) -> dict[str, Any]:
    """Stakeholders, hot and warm leads and the next window end of an account at `at` (ms)."""
    at = max(at, state.clock)
    window = model.stakeholder_window_ms
    view = account_view(state, at, window)
    temperature_now, reasons = account_temperature(view)
    ends = next_window_end(state, at, window)
    return {
        "account_id": account_id,
        "temperature": state.temp,
        "as_of": rfc3339_from_ms(at),
        "reasons": reasons if temperature_now == state.temp else [],
        **view.as_record(),
        "members": {
            k: {
                "temperature": m.temp,
                "last_event_at": _time(m.last_scored),
                "authority": m.authority,
                "disqualified": m.disqualified,
            }
            for k, m in sorted(state.members.items())
        },
        "next_window_end": _time(ends),
        "last_alert_at": _time(state.last_alert),
    }
