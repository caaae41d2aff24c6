"""What a validation found wrong, said the same way for every file and message."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from scoring.validation import problems, validation_message


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    inner: Inner | None = None

    @field_validator("name")
    @classmethod
    def _short(cls, value: str) -> str:
        if len(value) > 3:
            raise ValueError("at most 3 letters")
        return value


def error_of(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as e:
        Doc.model_validate(data)
    return e.value


def test_a_reason_is_the_validators_own_words() -> None:
    assert [(p.path, p.reason) for p in problems(error_of({"name": "long"}))] == [
        ("name", "at most 3 letters")
    ]


def test_a_missing_key_is_required_and_an_extra_one_unknown() -> None:
    found = problems(error_of({"colour": 1, "inner": {"size": 1, "x": 2}}))
    assert sorted((p.path, p.reason) for p in found) == [
        ("colour", "unknown key"), ("inner.x", "unknown key"), ("name", "required"),
    ]  # fmt: skip


def test_a_union_tag_is_left_out_of_the_path() -> None:
    assert problems(error_of({"name": 7}), tags={"name"})[0].path == ""


def test_a_files_message_has_one_line_per_problem_naming_the_file() -> None:
    assert validation_message(error_of({"inner": {"size": "x"}}), "doc.yaml").splitlines() == [
        "doc.yaml: name: required",
        "doc.yaml: inner.size: Input should be a valid integer, unable to parse string as an "
        "integer",
    ]
