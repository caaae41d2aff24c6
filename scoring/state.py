"""Per-lead, per-account and per-visitor state, and its compact serialization.

State never grows with a lead's history: decayed sums are kept per signal group
at a reference time (the lead's clock), because p·2^(-(t-t_e)/H) summed over
events can be rebased exactly by one factor; explanations and recently seen
event ids are bounded lists.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

SEEN_IDS_PER_LEAD = 128  # duplicate deliveries are detected among the last N event ids
TOP_PER_KIND = 5  # explanations kept per kind; the top 5 overall is always among them
HELD_PER_VISITOR = 200  # anonymous page views held per visitor until identity stitching

FORMAT = 1  # bump when the serialized layout changes


def event_fingerprint(event_id: str) -> str:
    """A short stable digest of an event id (what is kept for duplicate detection)."""
    return base64.b64encode(hashlib.blake2b(event_id.encode(), digest_size=8).digest())[
        :11
    ].decode()


@dataclass(slots=True)
class LeadState:
    """Everything the engine knows about one lead."""

    clock: int = 0  # latest occurred_at (or crossing time) seen for the lead, ms
    temp: str | None = None  # None until the first classification
    eng: dict[str, float] = field(default_factory=dict)  # cap group -> decayed sum at `clock`
    neg: float = 0.0  # negative engagement, which does not decay
    intent: float = 0.0  # decayed intent at `clock`
    profile: dict[str, list[Any]] = field(default_factory=dict)  # field -> [value, occurred_at]
    pain_point: bool = False
    uses_integration: bool = False
    bonus: bool = False  # multiple-stakeholder bonus received
    spam_reported: bool = False
    hard_bounce: bool = False
    budget_at: int | None = None
    need_at: int | None = None
    timeline_at: int | None = None
    sql: dict[str, int] = field(default_factory=dict)  # auto-SQL kind -> latest request time
    last_scored: int | None = None
    last_alert: int | None = None
    account: str | None = None  # the account this lead is counted in
    next_drop: int | None = None  # when the temperature falls by time alone, if nothing happens
    top: list[list[Any]] = field(default_factory=list)  # [kind, signal, at, points]
    seen: list[str] = field(default_factory=list)  # fingerprints of recent event ids

    def to_bytes(self) -> bytes:
        """Compact JSON: a positional array."""
        return orjson.dumps([
            FORMAT, self.clock, self.temp, self.eng, self.neg, self.intent, self.profile,
            self.pain_point | self.uses_integration << 1 | self.bonus << 2
            | self.spam_reported << 3 | self.hard_bounce << 4,
            self.budget_at, self.need_at, self.timeline_at, self.sql, self.last_scored,
            self.last_alert, self.account, self.next_drop, self.top, "".join(self.seen),
        ])  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> LeadState:
        (fmt, clock, temp, eng, neg, intent, profile, flags, budget_at, need_at, timeline_at,
         sql, last_scored, last_alert, account, next_drop, top, seen) = orjson.loads(
            data)  # fmt: skip
        if fmt != FORMAT:
            raise ValueError(f"lead state format {fmt} is not {FORMAT}")
        return cls(
            clock, temp, eng, neg, intent, profile, bool(flags & 1), bool(flags & 2),
            bool(flags & 4), bool(flags & 8), bool(flags & 16), budget_at, need_at, timeline_at,
            sql, last_scored, last_alert, account, next_drop, top,
            [seen[i : i + 11] for i in range(0, len(seen), 11)],
        )  # fmt: skip

    def profile_value(self, name: str) -> Any:
        entry = self.profile.get(name)
        return entry[0] if entry is not None else None


@dataclass(slots=True)
class Member:
    """What an account knows about one of its leads."""

    last_scored: int | None = None
    disqualified: bool = False
    temp: str | None = None
    authority: bool = False


@dataclass(slots=True)
class AccountState:
    clock: int = 0
    temp: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    last_alert: int | None = None
    next_check: int | None = None  # when a stakeholder's window ends next

    def to_bytes(self) -> bytes:
        return orjson.dumps([
            FORMAT, self.clock, self.temp,
            {k: [m.last_scored, m.disqualified, m.temp, m.authority]
             for k, m in self.members.items()},
            self.last_alert, self.next_check,
        ])  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> AccountState:
        fmt, clock, temp, members, last_alert, next_check = orjson.loads(data)
        if fmt != FORMAT:
            raise ValueError(f"account state format {fmt} is not {FORMAT}")
        return cls(clock, temp, {k: Member(*m) for k, m in members.items()}, last_alert, next_check)


@dataclass(slots=True)
class VisitorState:
    """An anonymous web visitor: the lead it was linked to, or the page views held for it."""

    lead: str | None = None
    held: list[dict[str, Any]] = field(default_factory=list)  # validated events, as JSON objects
    seen: list[str] = field(default_factory=list)
    clock: int = 0

    def to_bytes(self) -> bytes:
        return orjson.dumps([FORMAT, self.lead, self.held, "".join(self.seen), self.clock])

    @classmethod
    def from_bytes(cls, data: bytes) -> VisitorState:
        fmt, lead, held, seen, clock = orjson.loads(data)
        if fmt != FORMAT:
            raise ValueError(f"visitor state format {fmt} is not {FORMAT}")
        return cls(lead, held, [seen[i : i + 11] for i in range(0, len(seen), 11)], clock)
