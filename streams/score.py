"""The score hop: the re-keyed topic's items, partition by partition. Each item is applied where
its lead's state lives, with the same `scoring.Engine` as replay, and the partition's states,
due index, applied offset and outbox are committed in one transaction (streams/store.py).

An item can reach a partition that does not (or no longer) own its state: it is sent on, in
the same transaction, to the one that does. That is also how state changes owner:

- a lead whose account is now on another partition is released here (its downgrades due
  before the event and its leaving the old account, as the engine would do them) and sent
  on with the event (ARRIVE) and a pointer left behind for the events still routed here;
- a lead's event naming a visitor that no lead has claimed goes first to the visitor's
  partition (LINK), which links the visitor and sends its held page views on (STITCH);
- a new lead is placed in the directory by the ingest hop, before any of its events is sent.

The one writer of a partition's state is its owner, so a batch reads without WATCH; the
epoch checked by the commit fences a worker that lost the partition (streams/store.py). The
decay timer (streams/timer.py) runs between batches, under the same lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson

from scoring import (
    EVENTS_DEADLETTER,
    LEAD,
    REPARTITION_TOPIC,
    VISITOR,
    Engine,
    Event,
    LeadState,
    Record,
    Rejection,
    VisitorState,
    parse_event,
)
from streams import metrics
from streams.batch import BatchStore, Outgoing
from streams.bundles import ARRIVE, EVENT, FORGET, LINK, STITCH, bundle, unbundle
from streams.forgetting import forget, forgotten_lead, keys_forgotten
from streams.health import Progress
from streams.messages import PROCESSING_ERROR, Incoming, dead_letter_of
from streams.metrics import with_backoff
from streams.placement import lead_partition, partition_of
from streams.plan import Plan
from streams.plumbing.clock import now_ms
from streams.plumbing.isolation import error_detail, isolating
from streams.publish import Publisher, outgoing_of
from streams.settings import Settings
from streams.store import Fenced, Recompute, RedisState

log = logging.getLogger("leadtemp.worker")

MAX_FORWARD_BYTES = 3 * 1024 * 1024  # one bundle of items sent on, below Kafka's limits


def items_of(msg: Incoming) -> list[Incoming]:
    """A message of the re-keyed topic as its items."""
    items = unbundle(msg.value) if msg.value is not None else None
    if items is None:  # a single event (written by something other than a worker)
        return [msg]
    last = len(items) - 1
    return [Incoming(it.value, None, msg.topic, msg.partition, msg.offset, it.timestamp,
                     i == last, it.kind, it.attachment) for i, it in enumerate(items)]  # fmt: skip


class Scorer:
    """The score hop and the decay timer, over the partitions this worker owns."""

    def __init__(
        self, settings: Settings, engine: Engine, state: RedisState, publisher: Publisher
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.state = state
        self.publisher = publisher
        self.partitions = settings.partitions
        self.epochs: dict[int, str] = {}  # partitions owned -> the epoch they are owned under
        self.lock = asyncio.Lock()  # one batch or timer round at a time: one writer
        self.progress = Progress()  # of the re-keyed partitions, as batches are stored
        self.latest_event_ms: int | None = None  # the watermark when settings.clock == "event"
        self.topic = settings.topic(REPARTITION_TOPIC)

    # ------------------------------------------------------------------ ownership

    async def take_over(self, partitions: set[int]) -> dict[int, int]:
        """Own these partitions from now on (an earlier owner is fenced); where each is to be
        read from (after what is applied), once what an earlier owner committed but may not
        have published is."""
        starts = {}
        for p in sorted(partitions):
            self.epochs[p] = await with_backoff(
                "taking over a partition", lambda p=p: self.state.take_over(p)
            )
            applied = await with_backoff(
                "reading an applied offset", lambda p=p: self.state.applied_offset(p)
            )
            starts[p] = applied + 1
            if republished := await self.publisher.republish_outboxes(p):
                log.info("partition %d: republished %d committed batches its previous owner had "
                         "not confirmed", p, republished)  # fmt: skip
        return starts

    async def resume_points(self, partitions: set[int]) -> dict[int, int]:
        """Where partitions this worker keeps through a rebalance are to be read from: after
        what is applied. (Faust would seek them to its committed offsets, which can be past
        it: it acknowledges messages it fetched in a `finally`, processed or not.)"""
        return {p: 1 + await with_backoff("reading an applied offset",
                                          lambda p=p: self.state.applied_offset(p))
                for p in sorted(partitions)}  # fmt: skip

    def give_up(self, partitions: set[int]) -> None:
        for p in partitions:
            self.epochs.pop(p, None)

    def fenced(self, p: int, epoch: str) -> None:
        """A commit under `epoch` was refused: `p` has another owner, unless this worker took
        it over again meanwhile (then its new epoch stands)."""
        if self.epochs.get(p) == epoch:
            del self.epochs[p]

    # ------------------------------------------------------------------ batches

    async def score(self, batch: Sequence[Incoming]) -> None:
        """Apply a batch of the re-keyed topic's messages, partition by partition."""
        started = time.perf_counter()
        by_partition: dict[int, list[Incoming]] = {}
        for msg in batch:
            by_partition.setdefault(msg.partition, []).extend(items_of(msg))
        async with self.lock:
            # Partitions share no state: their transactions run together, so a round costs
            # about one partition's Redis round trips, not the sum of them.
            await asyncio.gather(*(self._score_partition(p, items)
                                   for p, items in by_partition.items()))  # fmt: skip
        metrics.BATCH_SIZE.observe(sum(len(i) for i in by_partition.values()))
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.LAST_BATCH.set_to_current_time()

    async def _score_partition(self, p: int, items: list[Incoming]) -> None:
        epoch = self.epochs.get(p)
        if epoch is None:
            return  # given up meanwhile: its new owner reads it
        try:
            await isolating(items, lambda part: self._score(p, part),
                            lambda item, e: self._failed(p, item, e), passes=(Fenced,))
        except Fenced:
            log.warning("partition %d has another owner: its batch is left to it", p)
            metrics.REDIS_RETRIES.labels("raced").inc()
            self.fenced(p, epoch)

    async def _failed(self, p: int, msg: Incoming, error: Exception) -> None:
        await self._score(p, [msg], {0: (PROCESSING_ERROR, error_detail(error))})

    async def _score(
        self, p: int, items: Sequence[Incoming], poisoned: dict[int, tuple[str, str]] | None = None
    ) -> None:
        """Apply `items` of partition `p` in one transaction; those in `poisoned` (index ->
        reason, detail) and those the engine fails on are dead-lettered instead, in it."""
        poisoned = dict(poisoned or {})
        parsed: list[tuple[Incoming, Event | None]] = []
        forgets = []
        for i, msg in enumerate(items):
            if msg.kind == FORGET:
                forgets.append(msg)
                parsed.append((msg, None))
                continue
            event = parse_event(msg.value, now_ms() + 10 * 60_000)  # ingest checked the clock
            if isinstance(event, Rejection):  # cannot happen unless the topic is written by others
                poisoned[i] = (event.reason, event.detail)
                parsed.append((msg, None))
            else:
                parsed.append((msg, event))
        live = [(m, e) for i, (m, e) in enumerate(parsed) if e is not None and i not in poisoned]
        offset = max((m.offset for m in items if m.ends_message), default=None)
        epoch = self.epochs[p]
        plan = await self._plan(p, live, forgets)
        first_keys = {k for msg, e in live for k in self._keys_of(p, msg, e)}
        first_keys |= {k for msg in forgets for k in keys_forgotten(msg, p, self.partitions)}

        def compute(store: BatchStore, applied: int) -> tuple[list[Record], list[Outgoing]]:
            plan.forwards.clear()  # (a second pass starts over)
            plan.arrived.clear()
            plan.links.clear()
            plan.forgotten.clear()
            plan.unlinked.clear()
            plan.moves = plan.duplicates = 0
            plan.suppressed.clear()
            records: list[Record] = []
            for i, (msg, event) in enumerate(parsed):
                if msg.offset <= applied:
                    continue  # applied before a crash or a rebalance
                if i in poisoned or (event is None and msg.kind != FORGET):
                    records.append(dead_letter_of(msg, *poisoned[i]))
                    continue
                try:
                    if event is None:  # a lead to forget
                        records += forget(self.engine, self.partitions, p, msg, store, plan)
                    else:
                        records += self._item(p, msg, event, store, plan)
                except Exception as e:
                    log.exception("scoring %s failed; dead-lettering it", f"event {event.event_id}"
                                  if event is not None else f"a FORGET at offset {msg.offset}")
                    poisoned[i] = (PROCESSING_ERROR, error_detail(e))
                    raise Recompute from e  # state may be half-changed: start over without it
            return records, outgoing_of(records) + self._forwards(plan)

        fresh = [plan.applied]  # for the first attempt; a retry reads it (a commit may be in)
        committed = await with_backoff("storing a batch", lambda: self.state.run_batch(
            p, epoch, compute, first_keys, offset, raw=plan.raw,
            applied=fresh.pop() if fresh else None))  # fmt: skip
        if committed.recomputed:
            metrics.REDIS_RETRIES.labels("state_not_read").inc(committed.recomputed)
        await self._after_commit(p, plan)
        latest = max((e.at for _, e in live), default=None)
        if latest is not None and (self.latest_event_ms is None or latest > self.latest_event_ms):
            self.latest_event_ms = latest
        if offset is not None:
            self.progress.processed((self.topic, p), offset + 1)
        metrics.DUPLICATES.labels("event_id").inc(plan.duplicates)
        metrics.MOVES.inc(plan.moves)
        metrics.FORWARDED.inc(sum(len(v) for v in plan.forwards.values()))
        for kind, priority in plan.suppressed:
            metrics.ALERTS_SUPPRESSED.labels(kind, priority).inc()
        for r in committed.records:
            if r.topic == EVENTS_DEADLETTER:
                metrics.DEAD_LETTERS.labels(r.value["reason"]).inc()
        await self.publisher.publish_committed(
            p, committed.outgoing, committed.records, committed.outbox,
            [m.timestamp for m in items if m.timestamp],
        )  # fmt: skip

    def _keys_of(self, p: int, msg: Incoming, event: Event) -> list[tuple[str, str]]:
        keys = self.engine.keys_of(event)
        hint = (msg.attachment or {}).get("v")
        if hint is not None:
            keys.append((LEAD, hint))
        return keys

    def _forwards(self, plan: Plan) -> list[Outgoing]:
        out = []
        for q, items in plan.forwards.items():
            start, size = 0, 0
            for i, item in enumerate(items):
                size += len(item.value) + 17
                if size > MAX_FORWARD_BYTES and i > start:
                    out.append(Outgoing(REPARTITION_TOPIC, None, bundle(items[start:i]), q))
                    start, size = i, len(item.value) + 17
            out.append(Outgoing(REPARTITION_TOPIC, None, bundle(items[start:]), q))
        return out

    async def _plan(
        self, p: int, live: list[tuple[Incoming, Event]], forgets: list[Incoming]
    ) -> Plan:
        """Read what the batch's items need before computing: the states of `p` they name,
        pointers of the leads that left `p`, and the directory's word on the leads `p` does
        not hold."""
        plan = Plan()
        subjects = {lead for msg, e in live if (lead := _lead_of(msg, e)) is not None}
        subjects |= {forgotten_lead(msg) for msg in forgets}
        wanted = {(LEAD, lead) for lead in subjects} | {
            (VISITOR, e.visitor_id) for _, e in live if e.visitor_id is not None
            and partition_of(e.visitor_id, self.partitions) == p}  # fmt: skip
        plan.pointers, plan.applied = await with_backoff("reading states", lambda: (
            self.state.read_for_batch(p, wanted, plan.raw, list(subjects))))
        absent = [lead for lead in subjects if plan.raw.get((LEAD, lead)) is None]
        # A visitor of `p` already linked: its events go to its lead.
        linked = {VisitorState.from_bytes(v).lead for (kind, _), v in plan.raw.items()
                  if kind == VISITOR and v is not None} - {None}  # fmt: skip
        unknown = [lead for lead in absent if lead not in plan.pointers] + [
            lead for lead in linked if lead is not None and lead not in subjects]  # fmt: skip
        unknown += [e.lead_id for msg, e in live if msg.kind == LINK and e.lead_id is not None]
        directory = self.state.directory
        if unknown:
            plan.placed = await with_backoff(
                "reading the directory", lambda: directory.leads(unknown)
            )
        return plan

    async def _after_commit(self, p: int, plan: Plan) -> None:
        directory = self.state.directory
        if plan.forgotten or plan.unlinked:
            forgotten, unlinked = plan.forgotten, plan.unlinked
            await with_backoff("forgetting leads",
                               lambda: directory.forget_all(forgotten, unlinked))  # fmt: skip
        for lead, moves in plan.arrived.items():
            await with_backoff(
                "placing a lead", lambda lead=lead, m=moves: directory.place_lead(lead, p, m)
            )
        for visitor, lead in plan.links.items():
            await with_backoff(
                "linking a visitor", lambda v=visitor, ld=lead: directory.link_visitor(v, ld)
            )

    # ------------------------------------------------------------------ one item

    def _item(
        self, p: int, msg: Incoming, event: Event, store: BatchStore, plan: Plan
    ) -> list[Record]:
        """What one item does on partition `p`: its records (items sent on go to `plan`)."""
        if msg.kind == LINK:
            return self._link(p, msg, event, store, plan)
        visitor = event.visitor_id
        lead = _lead_of(msg, event)
        if lead is None:  # an anonymous page view of a visitor of `p`
            assert visitor is not None
            view = store.visitor(visitor)
            if view is not None and view.lead is not None:  # linked since it was routed
                plan.forward(self._where(view.lead, plan), msg, EVENT, {"v": view.lead})
                return []
            return self._apply(event, store, plan)
        attachment = msg.attachment or {}
        state = store.lead(lead)
        if state is None and msg.kind == ARRIVE:
            state = self._arrive(lead, attachment, store, plan)
            if state is None:
                plan.duplicates += 1  # an arrival of an earlier move, sent again
                return []
        if state is None:
            if lead in store.released:  # moved on by an earlier item of this batch
                plan.forward(int(store.released[lead].split("|")[0]), msg)
                return []
            elsewhere = plan.pointers.get(lead) or plan.placed.get(lead)
            if elsewhere is not None and elsewhere[0] != p:
                plan.forward(elsewhere[0], msg)
                return []
            if elsewhere is None:  # new, and not placed by the ingest hop: placed here
                q = lead_partition(self.engine, event, None, lead, self.partitions)
                if q != p:
                    plan.forward(q, msg)
                    return []
                plan.arrived.setdefault(lead, 0)
        elif not self.engine.is_repeat(event, state):
            q = lead_partition(self.engine, event, state, lead, self.partitions)
            if q != p:
                return self._release(lead, q, msg, event, store, plan)
        if visitor is not None and partition_of(visitor, self.partitions) != p:
            if "held" in attachment:  # its owner linked it: credit its held views (STITCH)
                store.remote_visitors[visitor] = VisitorState(
                    held=attachment["held"], clock=attachment.get("clock", 0))
            else:  # linked already, to the lead the routing said
                store.remote_visitors[visitor] = VisitorState(lead=attachment.get("v", lead))
        return self._apply(event, store, plan)

    def _apply(self, event: Event, store: BatchStore, plan: Plan) -> list[Record]:
        outcome = self.engine.apply(event, store)
        plan.duplicates += outcome.duplicate
        plan.suppressed.extend(outcome.suppressed)
        return outcome.records

    def _release(
        self, lead: str, q: int, msg: Incoming, event: Event, store: BatchStore, plan: Plan
    ) -> list[Record]:
        """The lead moves to partition `q` with this event."""
        records, state = self.engine.release(lead, event, store)
        state.moves += 1
        store.release_lead(lead, f"{q}|{state.moves}")
        attachment = {**(msg.attachment or {}), "lead": lead, "moves": state.moves,
                      "state": orjson.loads(state.to_bytes())}  # fmt: skip
        plan.forward(q, msg, ARRIVE, attachment)
        plan.moves += 1
        return records

    def _arrive(
        self, lead: str, attachment: dict[str, Any], store: BatchStore, plan: Plan
    ) -> LeadState | None:
        """Install a lead that moved here; None for an arrival already superseded (the lead
        has moved on since: the pointer it left says so)."""
        moves = int(attachment["moves"])
        left = plan.pointers.get(lead)
        if left is not None and left[1] >= moves:
            return None
        state = LeadState.from_bytes(orjson.dumps(attachment["state"]))
        store.install_lead(lead, state)
        plan.arrived[lead] = moves
        return state

    def _link(
        self, p: int, msg: Incoming, event: Event, store: BatchStore, plan: Plan
    ) -> list[Record]:
        """A lead's event names a visitor of `p` that no lead had claimed when it was routed:
        link the visitor, and send its held page views on with the event."""
        lead, visitor_id = event.lead_id, event.visitor_id
        assert lead is not None and visitor_id is not None
        q = self._where(lead, plan, event)
        if q == p:  # the lead is here too: the engine links it
            return self._item(p, Incoming(msg.value, msg.key, msg.topic, msg.partition,
                                          msg.offset, msg.timestamp, msg.ends_message),
                              event, store, plan)  # fmt: skip
        visitor = store.visitor(visitor_id)
        if visitor is not None and visitor.lead is not None:  # claimed meanwhile
            plan.forward(q, msg, EVENT, {"v": visitor.lead})
            return []
        held = visitor.held if visitor is not None else []
        clock = visitor.clock if visitor is not None else 0
        store.put_visitor(visitor_id, VisitorState(lead=lead, clock=clock))
        plan.links[visitor_id] = lead
        plan.forward(q, msg, STITCH, {"held": held, "clock": clock})
        return []

    def _where(self, lead: str, plan: Plan, event: Event | None = None) -> int:
        """The partition a lead lives on, as far as this batch knows."""
        if lead in plan.placed:
            return plan.placed[lead][0]
        if event is not None:
            return lead_partition(self.engine, event, None, lead, self.partitions)
        return partition_of(lead, self.partitions)


def _lead_of(msg: Incoming, event: Event) -> str | None:
    """The lead whose state an item is about (a linked visitor's, from the routing hint);
    None for an anonymous page view of an unlinked visitor, and for a LINK (the visitor's)."""
    if msg.kind == LINK:
        return None
    return event.lead_id or (msg.attachment or {}).get("v")
