"""The JSON Schemas `leadtemp schema` prints: what producers and consumers validate against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from scoring.schemas import event_schema, output_schema
from tests.scoring.helpers import replay

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


def personas_records() -> list[Any]:
    lines = (EXAMPLES / "personas.jsonl").read_bytes().splitlines()
    return replay(list(lines), until="2026-12-31T00:00:00Z")


def test_every_schema_declares_its_draft() -> None:
    schemas = {"input": event_schema(), **output_schema()}
    assert {name: s["$schema"] for name, s in schemas.items()} == dict.fromkeys(schemas, DRAFT)


def test_every_record_of_the_personas_is_valid_against_its_topics_schema() -> None:
    records = personas_records()
    schemas = {topic: validator(s) for topic, s in output_schema().items()}
    assert {r.topic for r in records} >= {"leads.temperature", "alerts.hot-lead",
                                          "accounts.temperature"}  # fmt: skip
    for r in records:
        schemas[r.topic].validate(r.value)


@pytest.mark.parametrize(
    ("topic", "field"),
    [("leads.temperature", "occurred_at"), ("alerts.hot-lead", "respond_by"),
     ("accounts.temperature", "occurred_at"), ("events.deadletter", "received_at")],
)  # fmt: skip
def test_timestamps_are_date_times(topic: str, field: str) -> None:
    record = next(r.value for r in personas_records() + replay([b"{oops"]) if r.topic == topic)
    check = validator(output_schema()[topic])
    check.validate(record)
    with pytest.raises(ValidationError, match="date-time"):
        check.validate({**record, field: "2026-11-20 14:03"})


def test_a_top_signals_time_is_a_date_time() -> None:
    alert = next(r.value for r in personas_records() if r.topic == "alerts.hot-lead")
    bad = {**alert, "top_signals": [{**alert["top_signals"][0], "at": "yesterday"}]}
    with pytest.raises(ValidationError, match="date-time"):
        validator(output_schema()["alerts.hot-lead"]).validate(bad)


def test_the_input_schema_refuses_control_characters_in_identifiers() -> None:
    line = (EXAMPLES / "personas.jsonl").read_bytes().splitlines()[0]
    event = orjson.loads(line)
    check = validator(event_schema())
    check.validate(event)
    [error] = check.iter_errors({**event, "lead": {**event["lead"], "id": "lisa\nadmin"}})
    assert any("does not match" in why.message for why in error.context)  # its type's schema
