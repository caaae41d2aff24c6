"""Per-lead, per-account and per-visitor state, and its compact serialization.

State never grows with a lead's history: decayed sums are kept per signal group
at a reference time (the lead's clock), because p·2^(-(t-t_e)/H) summed over
events can be rebased exactly by one factor; explanations and recently seen
event ids are bounded lists.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

import orjson

SEEN_IDS_PER_LEAD = 128  # duplicate deliveries are detected among the last N event ids
TOP_PER_KIND = 5  # explanations kept per kind; the top 5 overall is always among them
HELD_PER_VISITOR = 200  # anonymous page views held per visitor until identity stitching

FORMAT = 1  # bump when the serialized layout changes

# The kinds of state, as stores and the due index name them.
LEAD = "lead"
ACCOUNT = "account"
VISITOR = "visitor"


FINGERPRINT_CHARS = 8  # 48 bits: a collision among one lead's last 128 ids is ~1e-11


def event_fingerprint(event_id: str) -> str:
    """A short stable digest of an event id (what is kept for duplicate detection)."""
    digest = blake2b(event_id.encode(), digest_size=6).digest()
    return b2a_base64(digest, newline=False).decode()  # what base64.b64encode calls


# Names that recur in every lead's state are stored as their index here. Append only:
# changing an existing position changes the meaning of stored state (bump FORMAT then).
NAMES = (
    "email.sent", "email.opened", "email.clicked", "email.replied", "email.bounced",
    "email.unsubscribed", "email.spam_reported", "web.page_viewed", "webinar.registered",
    "webinar.attended", "webinar.no_show", "form.submitted", "multiple_stakeholders",
    "web.pricing_page_viewed", "content_download", "case_study_download", "demo_request",
    "trial_request", "contact_sales", "pricing_request", "implementation_question",
    "budget_confirmation", "timeline_mention", "competitive_evaluation", "engagement", "intent",
    "name", "email", "account_id", "job_title", "company", "company_size", "industry",
    "annual_revenue", "country",
)  # fmt: skip
_CODE = {name: i for i, name in enumerate(NAMES)}


class RecentIds:
    """The fingerprints of the last `limit` event ids seen, oldest first, held as one string
    of fixed-width entries: state loads and saves it as is (splitting 128 entries on every
    load cost the worker ≈16 µs a lead)."""

    __slots__ = ("limit", "text")

    def __init__(self, limit: int, text: str = "") -> None:
        self.limit = limit
        self.text = text

    def __contains__(self, fingerprint: object) -> bool:
        if not isinstance(fingerprint, str):
            return False
        text = self.text
        i = text.find(fingerprint)
        while i != -1:  # only a match at an entry's start counts
            if i % FINGERPRINT_CHARS == 0:
                return True
            i = text.find(fingerprint, i + 1)
        return False

    def append(self, fingerprint: str) -> None:
        """Remember one more; past the limit, the oldest is forgotten."""
        assert len(fingerprint) == FINGERPRINT_CHARS
        self.text = (self.text + fingerprint)[-self.limit * FINGERPRINT_CHARS :]

    def __len__(self) -> int:
        return len(self.text) // FINGERPRINT_CHARS

    def __iter__(self) -> Iterator[str]:
        n = FINGERPRINT_CHARS
        return (self.text[i : i + n] for i in range(0, len(self.text), n))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecentIds) and (self.limit, self.text) == (other.limit, other.text)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"RecentIds({self.limit}, {self.text!r})"


def _encode(name: str) -> int | str:
    return _CODE.get(name, name)


def _decode(code: int | str) -> str:
    return NAMES[code] if isinstance(code, int) else code


def _compact_number(x: float) -> float | int:
    # Exact either way; an integral float is written without ".0".
    return int(x) if isinstance(x, float) and x.is_integer() and abs(x) < 2**53 else x


@dataclass(slots=True, init=False)  # __init__ below
class LeadState:
    """Everything the engine knows about one lead."""

    clock: int  # latest occurred_at (or crossing time) seen for the lead, ms
    temp: str | None  # None until the first classification
    eng: dict[str, float]  # cap group -> decayed sum at `clock`
    neg: float  # negative engagement, which does not decay
    intent: float  # decayed intent at `clock`
    profile: dict[str, list[Any]]  # field -> [value, occurred_at]
    pain_point: bool
    uses_integration: bool
    bonus: bool  # multiple-stakeholder bonus received
    spam_reported: bool
    hard_bounce: bool
    budget_at: int | None
    need_at: int | None
    timeline_at: int | None
    sql: dict[str, int]  # auto-SQL kind -> latest request time
    last_scored: int | None
    last_alert: int | None
    account: str | None  # the account this lead is counted in
    next_drop: int | None  # when the temperature falls by time alone, if nothing happens
    top: list[list[Any]]  # [kind, signal, at, points]
    seen: RecentIds
    moves: int  # how often it moved to another owner (the live worker: streams/placement.py)
    facts: Any = field(default=None, compare=False, repr=False)  # profile.ProfileFacts cache

    # Written out because, compiled, this __init__ is native and a generated one stays Python
    # (≈1 µs): the worker builds a LeadState per event it loads. Parameters in field order.
    def __init__(
        self,
        clock: int = 0,
        temp: str | None = None,
        eng: dict[str, float] | None = None,
        neg: float = 0.0,
        intent: float = 0.0,
        profile: dict[str, list[Any]] | None = None,
        pain_point: bool = False,
        uses_integration: bool = False,
        bonus: bool = False,
        spam_reported: bool = False,
        hard_bounce: bool = False,
        budget_at: int | None = None,
        need_at: int | None = None,
        timeline_at: int | None = None,
        sql: dict[str, int] | None = None,
        last_scored: int | None = None,
        last_alert: int | None = None,
        account: str | None = None,
        next_drop: int | None = None,
        top: list[list[Any]] | None = None,
        seen: RecentIds | None = None,
        moves: int = 0,
        facts: Any = None,
    ) -> None:
        self.clock = clock
        self.temp = temp
        self.eng = {} if eng is None else eng
        self.neg = neg
        self.intent = intent
        self.profile = {} if profile is None else profile
        self.pain_point = pain_point
        self.uses_integration = uses_integration
        self.bonus = bonus
        self.spam_reported = spam_reported
        self.hard_bounce = hard_bounce
        self.budget_at = budget_at
        self.need_at = need_at
        self.timeline_at = timeline_at
        self.sql = {} if sql is None else sql
        self.last_scored = last_scored
        self.last_alert = last_alert
        self.account = account
        self.next_drop = next_drop
        self.top = [] if top is None else top
        self.seen = RecentIds(SEEN_IDS_PER_LEAD) if seen is None else seen
        self.moves = moves
        self.facts = facts

    def to_bytes(self) -> bytes:
        """Compact JSON: a positional array; recurring names as codes, times relative to clock.

        Floats are written exactly (shortest round-trip form): the live worker, which loads
        and saves state between events, must decide exactly as a replay that never does.
        """
        clock = self.clock
        by_time: dict[int, list[Any]] = {}  # attributes usually arrive together: one time each
        for name, (value, at) in self.profile.items():
            by_time.setdefault(at - clock, []).extend((_encode(name), value))
        return orjson.dumps([
            FORMAT, clock, self.temp,
            [[_encode(k), v] for k, v in self.eng.items()], self.neg, self.intent,
            [[at, *pairs] for at, pairs in by_time.items()],
            self.pain_point | self.uses_integration << 1 | self.bonus << 2
            | self.spam_reported << 3 | self.hard_bounce << 4,
            self.budget_at, self.need_at, self.timeline_at, self.sql, self.last_scored,
            self.last_alert, self.account, self.next_drop,
            [[_encode(kind), _encode(signal), at - clock, _compact_number(points)]
             for kind, signal, at, points in self.top],
            self.seen.text,
            # (written only once it moved: a state that never did keeps its size)
            *((self.moves,) if self.moves else ()),
        ])  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> LeadState:
        (fmt, clock, temp, eng, neg, intent, profile, flags, budget_at, need_at, timeline_at,
         sql, last_scored, last_alert, account, next_drop, top, seen, *moved) = orjson.loads(
            data)  # fmt: skip
        if fmt != FORMAT:
            raise ValueError(f"lead state format {fmt} is not {FORMAT}")
        return cls(
            clock, temp, {_decode(k): v for k, v in eng}, neg, intent,
            {_decode(g[i]): [g[i + 1], g[0] + clock] for g in profile for i in range(1, len(g), 2)},
            bool(flags & 1), bool(flags & 2), bool(flags & 4), bool(flags & 8), bool(flags & 16),
            budget_at, need_at, timeline_at, sql, last_scored, last_alert, account, next_drop,
            [[_decode(k), _decode(s), at + clock, p] for k, s, at, p in top],
            RecentIds(SEEN_IDS_PER_LEAD, seen), moved[0] if moved else 0,
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
    seen: RecentIds = field(default_factory=lambda: RecentIds(HELD_PER_VISITOR))
    clock: int = 0

    def to_bytes(self) -> bytes:
        return orjson.dumps([FORMAT, self.lead, self.held, self.seen.text, self.clock])

    @classmethod
    def from_bytes(cls, data: bytes) -> VisitorState:
        fmt, lead, held, seen, clock = orjson.loads(data)
        if fmt != FORMAT:
            raise ValueError(f"visitor state format {fmt} is not {FORMAT}")
        return cls(lead, held, RecentIds(HELD_PER_VISITOR, seen), clock)
