"""JSON Schemas of the input contract and of the output records, for producers and consumers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from scoring.events import EVENT_ADAPTER

# What pydantic writes; consumers' validators need to be told.
DRAFT = "https://json-schema.org/draft/2020-12/schema"
Temperature = Literal["cold", "warm", "hot", "disqualified"]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoresOut(_Out):
    fit: float
    engagement: float
    intent: float
    bant: int
    total: float


class SignalOut(_Out):
    signal: str
    kind: Literal["engagement", "intent"]
    points: float
    at: Timestamp


class LeadTemperatureChange(_Out):
    """`leads.temperature`: a lead's temperature changed."""

    change_id: str
    lead_id: str
    account_id: str | None
    from_: Temperature | None
    to: Temperature
    occurred_at: Timestamp
    caused_by_event_id: str | None
    scores: ScoresOut
    reasons: list[str]
    sales_action: Literal["educate", "nurture", "fast_follow_up", "none"]
    rules_version: str


class HotLeadAlert(_Out):
    """`alerts.hot-lead`: a lead became hot."""

    alert_id: str
    lead_id: str
    account_id: str | None
    priority: Literal["P1", "P2"]
    occurred_at: Timestamp
    respond_by: Timestamp
    caused_by_event_id: str
    scores: ScoresOut
    reasons: list[str]
    top_signals: list[SignalOut]
    contact: dict[str, Any]
    routing: dict[str, str]
    rules_version: str


class _AccountFields(_Out):
    engaged_stakeholders: int
    hot_leads: list[str]
    warm_leads: list[str]
    authority_engaged: bool


class AccountTemperatureChange(_AccountFields):
    """`accounts.temperature`: an account's temperature changed."""

    change_id: str
    account_id: str
    from_: Literal["cold", "warm", "hot"] | None
    to: Literal["cold", "warm", "hot"]
    occurred_at: Timestamp
    caused_by_event_id: str | None
    reasons: list[str]
    sales_action: Literal["educate", "nurture", "fast_follow_up"]
    rules_version: str


class HotAccountAlert(_AccountFields):
    """`alerts.hot-account`: an account became hot."""

    alert_id: str
    account_id: str
    priority: Literal["P2"]
    occurred_at: Timestamp
    respond_by: Timestamp
    caused_by_event_id: str
    reasons: list[str]
    top_signals: list[SignalOut]
    routing: dict[str, str]
    rules_version: str


class DeadLetter(_Out):
    """`events.deadletter`: input that could not be processed."""

    reason: Literal[
        "invalid_json", "invalid_event", "unknown_type", "future_event", "too_large",
        "processing_error",  # the live worker: a valid event whose scoring raised
    ]  # fmt: skip
    detail: str
    topic: str | None
    partition: int | None
    offset: int | None
    key: str | None
    original: str
    received_at: Timestamp
    source: str | None = None  # `gateway:<source>`: a request's part that was not an event


class LeadForgotten(_Out):
    """`leads.forgotten`: a lead leadtemp forgot on request (`leadtemp forget`); the lead's id
    and its account's, nothing of its profile."""

    forgotten_id: str
    lead_id: str
    account_id: str | None
    request_id: str
    requested_at: Timestamp
    state_held: bool  # whether leadtemp held a state for the lead when it was forgotten


OUTPUTS: dict[str, type[_Out]] = {
    "leads.temperature": LeadTemperatureChange,
    "alerts.hot-lead": HotLeadAlert,
    "accounts.temperature": AccountTemperatureChange,
    "alerts.hot-account": HotAccountAlert,
    "events.deadletter": DeadLetter,
    "leads.forgotten": LeadForgotten,
}


def _rename_from(schema: dict[str, Any]) -> dict[str, Any]:
    # `from` is a Python keyword; the wire name is "from".
    props = schema.get("properties", {})
    if "from_" in props:
        props["from"] = props.pop("from_")
        schema["required"] = ["from" if r == "from_" else r for r in schema.get("required", [])]
    return schema


def event_schema() -> dict[str, Any]:
    """JSON Schema of one input event (a union on `type`)."""
    return {"$schema": DRAFT, **EVENT_ADAPTER.json_schema()}


def output_schema() -> dict[str, Any]:
    """JSON Schemas of the output records, by default topic."""
    return {
        topic: {"$schema": DRAFT, **_rename_from(TypeAdapter(model).json_schema())}
        for topic, model in OUTPUTS.items()
    }
