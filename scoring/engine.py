"""The engine: applies an event (or the passing of time) to state and returns the records.

The same Engine runs in `leadtemp replay` (in-memory store) and in the live worker
(a store backed by Redis); they differ only in where state comes from and goes to.

It is one module because its steps call each other over the same states in flight: an
event's evaluation updates its account and may give its lead the stakeholder bonus first; a
lead's downgrade by time re-evaluates its account; leaving an account re-evaluates the old
one. What stands on its own is elsewhere: signals, profile, temperature, accounts, stitching,
records.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring import accounts as acc
from scoring.alerting import (
    ACCOUNT_ALERT_PRIORITY,
    alert_due,
    lead_priority,
    remember_signal,
)
from scoring.decay import decay_factor
from scoring.events import Event
from scoring.model import Model
from scoring.profile import account_from, is_disqualified, merge_profile, profile_facts
from scoring.records import Record, account_alert, account_change, lead_alert, lead_change
from scoring.rules import Rules
from scoring.signals import Contributions, contributions_of
from scoring.state import (
    ACCOUNT,
    LEAD,
    VISITOR,
    AccountState,
    LeadState,
    Member,
    VisitorState,
    event_fingerprint,
)
from scoring.stitching import hold, link
from scoring.store import StateStore
from scoring.temperature import (
    DECAY,
    HOT,
    LEAD_REMOVED,
    lead_temperature,
    next_drop,
    scores_at,
    settle_below,
)
from scoring.topics import (
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
)


@dataclass(slots=True)  # __init__ written out for the compiled build (see temperature.Scores)
class Outcome:
    """What applying one event did."""

    records: list[Record]
    duplicate: bool
    held: bool  # anonymous web activity held for identity stitching
    suppressed: list[tuple[str, str]]  # alerts the cooldown held back: (alert topic, priority)

    def __init__(self) -> None:
        self.records = []
        self.duplicate = False
        self.held = False
        self.suppressed = []


class Engine:
    """Scores leads and accounts per the rules; pure: state in, state and records out."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.model = Model(rules or Rules())
        self.version = self.model.version

    # ------------------------------------------------------------------ events

    def keys_of(self, event: Event) -> list[tuple[str, str]]:
        """The states applying `event` reads, as far as the event alone tells (its lead or
        visitor, the account its profile names), so a store can fetch them up front."""
        keys = []
        if event.lead_id is not None:
            keys.append((LEAD, event.lead_id))
        if event.visitor_id is not None:
            keys.append((VISITOR, event.visitor_id))
        if event.lead is not None and (
            account := account_from(event.lead.account_id, event.lead.email, self.model)
        ):
            keys.append((ACCOUNT, account))
        return keys

    @staticmethod
    def keys_linked_to(state: LeadState | AccountState | VisitorState) -> list[tuple[str, str]]:
        """The states applying an event also reads once it has read `state`: a lead's
        account, a visitor's lead."""
        if isinstance(state, LeadState) and state.account is not None:
            return [(ACCOUNT, state.account)]
        if isinstance(state, VisitorState) and state.lead is not None:
            return [(LEAD, state.lead)]
        return []

    def is_repeat(self, event: Event, state: LeadState) -> bool:
        """Whether the lead already had this event (a repeated delivery: applying it does
        nothing)."""
        return event_fingerprint(event.event_id) in state.seen

    def account_after(self, event: Event, state: LeadState | None) -> str | None:
        """The account the event's lead is in once the event is applied: the latest profile's,
        with what the event says merged in (it may name another account)."""
        lead = event.lead
        if lead is None or not (lead.model_fields_set - {"id"}):
            return None if state is None else profile_facts(state, self.model).account
        merged = LeadState(profile={} if state is None else dict(state.profile))
        merge_profile(merged, lead, event.at)
        return profile_facts(merged, self.model).account

    def release(
        self, lead_id: str, event: Event, store: StateStore
    ) -> tuple[list[Record], LeadState]:
        """Hand a lead over to another store before `event`, which moves it to an account this
        store does not hold: what applying the event would do here first (its downgrades due
        before the event, leaving its account), and the state to send on, in no account. The
        other store applies the event to that state; the records of both are those applying
        the event in one store gives (tests/scoring/test_moves.py)."""
        state = store.lead(lead_id)
        assert state is not None
        records = self._lead_crossings(lead_id, state, event.at, store)
        if state.account is not None:
            records += self._leave_account(lead_id, state.account, event.at, event, store)
            state.account = None
        return records, state

    def forget(self, lead_id: str, store: StateStore) -> tuple[list[Record], LeadState | None]:
        """Remove a lead (a privacy deletion, or idle past retention): its state, its due time
        and its place in its account, which is evaluated again without it at the lead's last
        moment (its records: an account that cools). The state removed, None if none was held."""
        state = store.lead(lead_id)
        if state is None:
            return [], None
        records: list[Record] = []
        if state.account is not None:
            records = self._leave_account(lead_id, state.account, state.clock, None, store)
        store.delete_lead(lead_id)
        store.schedule(LEAD, lead_id, None)
        return records, state

    def apply(self, event: Event, store: StateStore) -> Outcome:
        """Apply one validated event; downgrades due before it (for its lead) come first."""
        out = Outcome()
        lead_id = event.lead_id
        visitor = None
        if event.visitor_id is not None:
            visitor = store.visitor(event.visitor_id)
            if lead_id is None:
                if visitor is None or visitor.lead is None:
                    visitor = visitor or VisitorState()
                    if hold(event, visitor):
                        out.held = True
                        store.put_visitor(event.visitor_id, visitor)
                    else:
                        out.duplicate = True
                    return out
                lead_id = visitor.lead
        assert lead_id is not None  # parse_event guarantees a lead id or a visitor id

        state = store.lead(lead_id)
        if state is None:
            state = LeadState()
        fingerprint = event_fingerprint(event.event_id)
        if fingerprint in state.seen:
            out.duplicate = True
            return out

        out.records += self._lead_crossings(lead_id, state, event.at, store)

        stitched: list[Event] = []
        linking = event.visitor_id is not None and event.lead_id is not None
        if linking and (visitor is None or visitor.lead is None):
            assert event.visitor_id is not None
            linked, stitched = link(event, visitor or VisitorState(), lead_id)
            store.put_visitor(event.visitor_id, linked)
        for held in stitched:
            held_fp = event_fingerprint(held.event_id)
            if held_fp not in state.seen:
                self._absorb(state, held, contributions_of(held, self.model), held_fp)
        c = contributions_of(event, self.model)
        self._absorb(state, event, c, fingerprint)

        scored_at = event.at if c.scored else None
        out.records += self._evaluate(lead_id, state, event, scored_at, store, out)
        return out

    def _absorb(self, state: LeadState, event: Event, c: Contributions, fingerprint: str) -> None:
        """Add one event's contributions to the lead (order-independent by construction)."""
        model = self.model
        at = event.at
        merge_profile(state, event.lead, at)
        if at > state.clock:
            self._rebase(state, at)
        if at == state.clock:  # the usual case: the lead's latest event so far
            f_eng = f_int = 1.0
        else:
            f_eng = decay_factor(state.clock - at, model.eng_half_life_ms)
            f_int = decay_factor(state.clock - at, model.intent_half_life_ms)
        for signal, group, points in c.engagement:
            if points < 0:
                state.neg += points  # negative points do not decay
                continue
            state.eng[group] = state.eng.get(group, 0.0) + points * f_eng
            remember_signal(state, "engagement", signal.removeprefix("form."), at, points, model)
        for signal, points in c.intent:
            state.intent += points * f_int
            remember_signal(state, "intent", signal, at, points, model)
        if c.need:
            if not state.pain_point:
                state.pain_point, state.facts = True, None
            state.need_at = _latest(state.need_at, at)
        if c.budget:
            state.budget_at = _latest(state.budget_at, at)
        if c.timeline:
            state.timeline_at = _latest(state.timeline_at, at)
        if c.uses_integration and not state.uses_integration:
            state.uses_integration, state.facts = True, None
        if c.auto_sql is not None:
            state.sql[c.auto_sql] = _latest(state.sql.get(c.auto_sql), at)
        state.spam_reported |= c.spam_reported
        state.hard_bounce |= c.hard_bounce
        if c.scored:
            state.last_scored = _latest(state.last_scored, at)
        state.seen.append(fingerprint)

    def _rebase(self, state: LeadState, to: int) -> None:
        """Move the reference time of the decayed sums (and the clock) forward to `to`."""
        model = self.model
        elapsed = to - state.clock
        if state.clock and elapsed:
            f_eng = decay_factor(elapsed, model.eng_half_life_ms)
            eng = state.eng
            for k, v in eng.items():
                eng[k] = v * f_eng
            state.intent *= decay_factor(elapsed, model.intent_half_life_ms)
        state.clock = to

    def _add_bonus(self, state: LeadState, at: int) -> None:
        """The multiple-stakeholder bonus, at the time of the event that earned it."""
        model = self.model
        eng = model.rules.engagement.points["multiple_stakeholders"]
        intent = model.rules.intent.points["multiple_stakeholders"]
        state.eng["multiple_stakeholders"] = state.eng.get("multiple_stakeholders", 0.0) + eng * (
            decay_factor(state.clock - at, model.eng_half_life_ms)
        )
        state.intent += intent * decay_factor(state.clock - at, model.intent_half_life_ms)
        if eng > 0:
            remember_signal(state, "engagement", "multiple_stakeholders", at, eng, model)
        if intent > 0:
            remember_signal(state, "intent", "multiple_stakeholders", at, intent, model)
        state.bonus = True

    def _evaluate(
        self,
        lead_id: str,
        state: LeadState,
        event: Event,
        scored_at: int | None,
        store: StateStore,
        out: Outcome,
    ) -> list[Record]:
        """After an event: stakeholder bonus, lead temperature, alerts, account temperature."""
        model = self.model
        records: list[Record] = []
        facts = profile_facts(state, model)
        account_id = facts.account
        if state.account is not None and state.account != account_id:
            records += self._leave_account(lead_id, state.account, event.at, event, store)
        state.account = account_id

        account = None
        seen_by_account = None
        if account_id is not None:
            account = store.account(account_id) or AccountState()
            # At the lead's clock, not the event's: the lead is evaluated there, and a late
            # event must not look at the account from before the lead's latest scored event
            # (it would not count the lead as engaged, yet list it as warm).
            records += self._account_window_ends(account_id, account, state.clock, store)
            account.clock = max(account.clock, state.clock)
            member = account.members.get(lead_id)
            if member is None:
                member = account.members[lead_id] = Member()
            else:
                seen_by_account = self._member_view(member, account.clock)
            member.last_scored = state.last_scored
            member.disqualified = is_disqualified(state, model)
            member.authority = facts.authority
            window = model.stakeholder_window_ms
            if (
                scored_at is not None
                and not state.bonus
                and acc.engaged_stakeholders(account, account.clock, window) >= 2
            ):
                self._add_bonus(state, scored_at)

        previous = state.temp
        temp, reasons, scores = lead_temperature(state, state.clock, model)
        if temp != previous:
            records.append(
                lead_change(lead_id, state, previous, temp, reasons, scores, event, None, model)
            )
            if temp == HOT:
                if alert_due(state.last_alert, event.at, model):
                    state.last_alert = event.at
                    records.append(lead_alert(lead_id, state, reasons, scores, event, self.model))
                else:
                    out.suppressed.append((ALERTS_HOT_LEAD, lead_priority(reasons, scores.bant)))
        state.temp = temp
        state.next_drop = next_drop(state, model)
        store.schedule(LEAD, lead_id, state.next_drop)
        store.put_lead(lead_id, state)

        if account is not None and account_id is not None:
            member = account.members[lead_id]
            member.temp = temp
            if seen_by_account == self._member_view(member, account.clock):
                # Nothing the account rules look at changed: its temperature cannot have.
                # (A moved window end only makes the pending check early, never late.)
                store.put_account(account_id, account)
            else:
                records += self._account_change(account_id, account, event, state, store, out)
        return records

    def _member_view(self, member: Member, at: int) -> tuple[bool, bool, str | None, bool]:
        """What the account rules see of one lead."""
        window = self.model.stakeholder_window_ms
        return (
            acc.is_engaged(member, at, window),
            member.disqualified,
            member.temp,
            member.authority,
        )

    # ------------------------------------------------------------------ time

    def advance(self, store: StateStore, watermark: int) -> list[Record]:
        """Emit every downgrade by time whose moment the watermark has reached."""
        records: list[Record] = []
        while (due := store.pop_due(watermark)) is not None:
            _, kind, key = due
            if kind == LEAD:
                state = store.lead(key)
                if state is not None:
                    records += self._lead_crossings(key, state, watermark, store)
            elif kind == ACCOUNT:
                account = store.account(key)
                if account is not None:
                    records += self._account_window_ends(key, account, watermark, store)
        return records

    def reschedule(self, state: LeadState | AccountState) -> bool:
        """Set when `state` may next change by time under these rules, the lead's drop or the
        account's window end; True if that moved (the state was last evaluated under other
        rules), and the caller re-indexes it."""
        if isinstance(state, LeadState):
            before = state.next_drop
            state.next_drop = next_drop(state, self.model)
            return state.next_drop != before
        # An account's check only re-evaluates it, so one that comes early is harmless (the
        # engine leaves them early itself when a member's window moves on); only a window
        # end that comes sooner must move.
        end = acc.next_window_end(state, state.clock, self.model.stakeholder_window_ms)
        if end is None or (state.next_check is not None and state.next_check <= end):
            return False
        state.next_check = end
        return True

    def _lead_crossings(
        self, lead_id: str, state: LeadState, until: int, store: StateStore
    ) -> list[Record]:
        """Downgrades by time of one lead up to `until`, each at its crossing instant."""
        records: list[Record] = []
        model = self.model
        changed = False
        while state.next_drop is not None and state.next_drop <= until:
            at = state.next_drop
            changed = True
            fresh = next_drop(state, model)
            if fresh != at:
                # Set under other rules (the worker restarted with a new rules file): the
                # lead may still hold its temperature then, or have lost it earlier.
                state.next_drop = fresh
                continue
            if at > state.clock:
                self._rebase(state, at)
            scores = scores_at(state, at, model)
            previous = state.temp
            temp, reasons = settle_below(previous, scores, model)
            reasons = [*reasons, DECAY]
            records.append(
                lead_change(lead_id, state, previous, temp, reasons, scores, None, at, self.model)
            )
            state.temp = temp
            state.next_drop = next_drop(state, model)
            if state.account is not None:
                account = store.account(state.account)
                if account is not None:
                    records += self._account_window_ends(state.account, account, at, store)
                    member = account.members.get(lead_id)
                    if member is not None:
                        member.temp = temp
                    account.clock = max(account.clock, at)
                    records += self._account_change(
                        state.account, account, None, state, store, None, at
                    )
        if changed:
            store.schedule(LEAD, lead_id, state.next_drop)
            store.put_lead(lead_id, state)
        return records

    def _account_window_ends(
        self, account_id: str, account: AccountState, until: int, store: StateStore
    ) -> list[Record]:
        """Re-evaluate an account at every stakeholder window end up to `until`."""
        records: list[Record] = []
        while account.next_check is not None and account.next_check <= until:
            at = account.next_check
            account.clock = max(account.clock, at)
            records += self._account_change(account_id, account, None, None, store, None, at)
        return records

    # ------------------------------------------------------------------ accounts

    def _leave_account(
        self, lead_id: str, account_id: str, at: int, event: Event | None, store: StateStore
    ) -> list[Record]:
        """The lead leaves its account at `at`: with `event` (it moved to another), or without
        one (it was removed)."""
        account = store.account(account_id)
        if account is None or lead_id not in account.members:
            return []
        records = self._account_window_ends(account_id, account, at, store)
        account.members.pop(lead_id, None)  # (a window end may have pruned it just now)
        account.clock = max(account.clock, at)
        return records + self._account_change(
            account_id, account, event, None, store, None, None if event else at, LEAD_REMOVED
        )

    def _account_change(
        self,
        account_id: str,
        account: AccountState,
        event: Event | None,
        lead: LeadState | None,
        store: StateStore,
        out: Outcome | None,
        crossing: int | None = None,
        without_event: str = DECAY,
    ) -> list[Record]:
        """Evaluate an account at its clock, record a change, raise a hot-account alert, save it;
        a change with no event gives `without_event` as its last reason."""
        model = self.model
        window = model.stakeholder_window_ms
        records: list[Record] = []
        view = acc.account_view(account, account.clock, window)
        temp, reasons = acc.account_temperature(view)
        previous = account.temp
        if temp != previous:
            if event is None:
                reasons = [*reasons, without_event]
            records.append(
                account_change(account_id, previous, temp, reasons, view, event, crossing,
                               self.model)
            )
            if temp == HOT and event is not None and lead is not None:
                if alert_due(account.last_alert, event.at, model):
                    account.last_alert = event.at
                    records.append(account_alert(account_id, reasons, view, event, lead, model))
                elif out is not None:
                    out.suppressed.append((ALERTS_HOT_ACCOUNT, ACCOUNT_ALERT_PRIORITY))
        account.temp = temp
        acc.prune_members(account, account.clock, window)
        account.next_check = acc.next_window_end(account, account.clock, window)
        store.schedule(ACCOUNT, account_id, account.next_check)
        store.put_account(account_id, account)
        return records

def _latest(current: int | None, at: int) -> int:
    return at if current is None or at > current else current
