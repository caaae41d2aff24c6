"""What a rule change would do: two replays of the same events, compared lead by lead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from scoring.records import Record
from scoring.replay import Replay
from scoring.temperature import scores_at
from scoring.times import ms_from_rfc3339, rfc3339_from_ms
from scoring.topics import LEADS_TEMPERATURE

TEMPERATURES = ("hot", "warm", "cold", "disqualified")
ACCOUNT_TEMPERATURES = ("hot", "warm", "cold")
_RANK = {t: i for i, t in enumerate(TEMPERATURES)}


def note_first_hot(records: Iterable[Record], first_hot: dict[str, int]) -> None:
    """Add to `first_hot` (lead id → ms) the leads these records make hot for the first
    time; "first" is in production order, the order an SDR would have been alerted in."""
    for r in records:
        if r.topic == LEADS_TEMPERATURE and r.value["to"] == "hot":
            first_hot.setdefault(r.value["lead_id"], ms_from_rfc3339(r.value["occurred_at"]))


@dataclass
class LeadDiff:
    """One lead under both rule sets, at the end of the replay."""

    lead_id: str
    before: str | None
    after: str | None
    total_before: float | None
    total_after: float | None
    first_hot_before: int | None
    first_hot_after: int | None

    def as_record(self) -> dict[str, Any]:
        def t(ms: int | None) -> str | None:
            return None if ms is None else rfc3339_from_ms(ms)

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 2)

        return {
            "lead_id": self.lead_id,
            "temperature": {"before": self.before, "after": self.after},
            "total": {"before": r(self.total_before), "after": r(self.total_after)},
            "first_hot_at": {"before": t(self.first_hot_before), "after": t(self.first_hot_after)},
        }


@dataclass
class RulesDiff:
    """The same events replayed under the rules in use ("before") and a candidate ("after")."""

    version_before: str
    version_after: str
    events: int
    leads: int
    # (final temperature before, after) → how many leads; None: never classified
    temperatures: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    alerts_before: Counter[str] = field(default_factory=Counter)  # hot-lead alerts by priority
    alerts_after: Counter[str] = field(default_factory=Counter)
    account_alerts_before: int = 0
    account_alerts_after: int = 0
    accounts_before: Counter[str] = field(default_factory=Counter)  # by final temperature
    accounts_after: Counter[str] = field(default_factory=Counter)
    # leads hot at some point under both: candidate's first-hot time minus the current one's
    hot_shifts: list[int] = field(default_factory=list)
    hot_only_before: int = 0  # leads ever hot under the current rules only
    hot_only_after: int = 0
    moved: list[LeadDiff] = field(default_factory=list)  # final temperature differs

    def totals(self, side: int) -> Counter[str]:
        """Leads at each final temperature, before (side 0) or after (side 1)."""
        out: Counter[str] = Counter()
        for pair, n in self.temperatures.items():
            if (temp := pair[side]) is not None:
                out[temp] += n
        return out

    def as_record(self) -> dict[str, Any]:
        """The whole comparison as JSON-ready data (`leadtemp rules diff --json`)."""
        shifts = self.hot_shifts
        before, after = self.totals(0), self.totals(1)
        return {
            "rules_version": {"before": self.version_before, "after": self.version_after},
            "events": self.events,
            "leads": self.leads,
            "temperatures": {t: {"before": before[t], "after": after[t]} for t in TEMPERATURES},
            "matrix": [
                {"before": b, "after": a, "leads": n}
                for (b, a), n in sorted(self.temperatures.items(), key=_pair_order)
            ],
            "hot_lead_alerts": {
                p: {"before": self.alerts_before[p], "after": self.alerts_after[p]}
                for p in sorted(self.alerts_before.keys() | self.alerts_after.keys())
            },
            "accounts": {
                t: {"before": self.accounts_before[t], "after": self.accounts_after[t]}
                for t in ACCOUNT_TEMPERATURES
            },
            "hot_account_alerts": {
                "before": self.account_alerts_before,
                "after": self.account_alerts_after,
            },
            "first_hot": {
                "sooner": sum(s < 0 for s in shifts),
                "later": sum(s > 0 for s in shifts),
                "same": sum(s == 0 for s in shifts),
                "median_shift_seconds": median_shift_ms(shifts) / 1000 if shifts else None,
                "only_before": self.hot_only_before,
                "only_after": self.hot_only_after,
            },
            "moved": [m.as_record() for m in self.moved],
        }


def _pair_order(item: tuple[tuple[str | None, str | None], int]) -> tuple[int, int]:
    (b, a), _ = item
    return _RANK.get(b or "", len(_RANK)), _RANK.get(a or "", len(_RANK))


def median_shift_ms(shifts: list[int]) -> float:
    """The median of the first-hot shifts that are not zero (0 when none moved)."""
    moved = sorted(s for s in shifts if s)
    if not moved:
        return 0.0
    mid = len(moved) // 2
    return float(moved[mid]) if len(moved) % 2 else (moved[mid - 1] + moved[mid]) / 2


class LeadOutcome(NamedTuple):
    """Where one replay left a lead."""

    temp: str | None
    total: float
    first_hot: int | None


@dataclass
class RunOutcome:
    """What a comparison needs of one finished replay (small enough to pass between
    processes: the two replays of `leadtemp rules diff` run side by side)."""

    version: str
    events: int
    alerts: Counter[str]
    account_alerts: int
    leads: dict[str, LeadOutcome]
    accounts: Counter[str]  # accounts at each final temperature


def outcome_of(run: Replay, first_hot: dict[str, int]) -> RunOutcome:
    """A finished replay's outcome; `first_hot` comes from `note_first_hot` over its records."""
    model = run.engine.model
    leads = {}
    for lead_id, state in run.store.leads.items():
        at = max(run.watermark or state.clock, state.clock)
        total = scores_at(state, at, model).total
        leads[lead_id] = LeadOutcome(state.temp, total, first_hot.get(lead_id))
    s = run.summary
    accounts = Counter(a.temp for a in run.store.accounts.values() if a.temp is not None)
    return RunOutcome(
        run.engine.version, s.events, Counter(s.alerts), s.account_alerts, leads, accounts
    )


def rules_diff(before: RunOutcome, after: RunOutcome) -> RulesDiff:
    """Compare two replays of the same events, lead by lead."""
    diff = RulesDiff(
        version_before=before.version,
        version_after=after.version,
        events=after.events,
        leads=len(before.leads.keys() | after.leads.keys()),
        alerts_before=before.alerts,
        alerts_after=after.alerts,
        account_alerts_before=before.account_alerts,
        account_alerts_after=after.account_alerts,
        accounts_before=before.accounts,
        accounts_after=after.accounts,
    )
    for lead_id in sorted(before.leads.keys() | after.leads.keys()):
        b, a = before.leads.get(lead_id), after.leads.get(lead_id)
        temp_b, temp_a = b.temp if b else None, a.temp if a else None
        diff.temperatures[temp_b, temp_a] += 1
        hot_b, hot_a = b.first_hot if b else None, a.first_hot if a else None
        if hot_b is not None and hot_a is not None:
            diff.hot_shifts.append(hot_a - hot_b)
        elif hot_b is not None:
            diff.hot_only_before += 1
        elif hot_a is not None:
            diff.hot_only_after += 1
        if temp_b != temp_a:
            totals = (b.total if b else None, a.total if a else None)
            diff.moved.append(LeadDiff(lead_id, temp_b, temp_a, *totals, hot_b, hot_a))
    # The leads an SDR would gain first (hot under the candidate), highest total first.
    diff.moved.sort(
        key=lambda m: (
            _RANK.get(m.after or "", len(_RANK)),
            _RANK.get(m.before or "", len(_RANK)),
            -(m.total_after or 0.0),
        )
    )
    return diff
