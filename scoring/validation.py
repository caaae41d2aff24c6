"""One way to say what a validation found wrong, whatever was validated (an event, the rules
file, the routing file, a setting, an alert): each problem as a dotted path and a reason, in
the same words everywhere."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from pydantic import ValidationError

# pydantic's wording where ours is plainer.
REASONS = {"missing": "required", "extra_forbidden": "unknown key"}


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # "a.b.c"; "" for the whole document
    reason: str
    kind: str  # pydantic's error type, for callers that word one kind their own way


def problems(error: ValidationError, tags: Collection[str] = ()) -> list[Problem]:
    """Every problem of `error`; a path that starts with one of `tags` (a discriminated
    union's tag, which the document has no key for) goes without it."""
    found = []
    for e in error.errors():
        loc = [str(p) for p in e["loc"]]
        if loc and loc[0] in tags:
            loc = loc[1:]
        reason = REASONS.get(e["type"], e["msg"].removeprefix("Value error, "))
        found.append(Problem(".".join(loc), reason, e["type"]))
    return found


def validation_message(error: ValidationError, source: str) -> str:
    """A file's problems as one `source: key.path: reason` line each."""
    return "\n".join(f"{source}: {p.path or '(top level)'}: {p.reason}" for p in problems(error))
