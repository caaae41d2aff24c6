"""The alerts the worker publishes (`outputs.md`), as the notifier reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from scoring import ALERTS_HOT_ACCOUNT, ALERTS_HOT_LEAD, problems

Kind = Literal["hot_lead", "hot_account"]
TOPIC_OF_KIND: dict[Kind, str] = {"hot_lead": ALERTS_HOT_LEAD, "hot_account": ALERTS_HOT_ACCOUNT}


class Signal(BaseModel):
    model_config = ConfigDict(extra="allow")

    signal: str
    kind: str
    points: float
    at: datetime


class Alert(BaseModel):
    """A hot-lead or hot-account alert; unknown fields are kept for the webhook."""

    model_config = ConfigDict(extra="allow")

    kind: Kind
    alert_id: str = Field(min_length=1, max_length=200)
    priority: Literal["P1", "P2"]
    occurred_at: datetime
    respond_by: datetime
    lead_id: str | None = None
    account_id: str | None = None
    caused_by_event_id: str | None = None
    scores: dict[str, float] = {}
    reasons: list[str] = []
    top_signals: list[Signal] = []
    contact: dict[str, Any] = {}
    routing: dict[str, str] = {}
    hot_leads: list[str] = []
    engaged_stakeholders: int | None = None
    rules_version: str | None = None
    _original: dict[str, Any] = PrivateAttr(default_factory=dict)

    def original(self) -> dict[str, Any]:
        """The alert exactly as the worker published it."""
        return self._original

    @property
    def subject_id(self) -> str:
        """The lead id of a lead alert, the account id of an account alert."""
        return (self.lead_id if self.kind == "hot_lead" else self.account_id) or "?"

    def field(self, name: str) -> str | None:
        """A routing field by the name routes match on (`region`, `contact.country`, ...)."""
        if name.startswith("contact."):
            value = self.contact.get(name.removeprefix("contact."))
        elif name in ("segment", "region"):
            value = self.routing.get(name)
        else:
            value = getattr(self, name, None)
        return None if value is None else str(value)


class InvalidAlert(ValueError):
    """A message on an alert topic that is not an alert (it is dead-lettered, not dropped)."""


def alert_from(kind: Kind, value: object) -> Alert:
    """The alert in a message of `alerts.hot-lead` (kind hot_lead) or `alerts.hot-account`."""
    if not isinstance(value, dict):
        raise InvalidAlert(f"not a JSON object but {type(value).__name__}")
    try:
        alert = Alert.model_validate({**value, "kind": kind})
    except ValidationError as e:
        first = problems(e)[0]
        raise InvalidAlert(f"{first.path}: {first.reason}") from None
    alert._original = value
    return alert
