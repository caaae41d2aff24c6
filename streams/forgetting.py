"""A lead forgotten on request (`leadtemp forget`, toolkit/forget.py) as the score hop carries
it out: a FORGET item (streams/bundles.py) reaches the partition that owns the lead, whose
owner removes the lead's state, due time and place in its account (`scoring.Engine.forget`)
and writes the `leads.forgotten` record, in the partition's transaction like any event; the
item then goes on to every partition holding a visitor linked to the lead or a pointer it
left when it moved, whose owners remove those. The directory forgets the lead and its
visitors after the commits (streams/score.py)."""

from __future__ import annotations

from scoring import LEAD, VISITOR, Engine, Record, lead_forgotten
from streams.batch import BatchStore
from streams.bundles import FORGET
from streams.messages import Incoming
from streams.placement import partition_of
from streams.plan import Plan


def forgotten_lead(msg: Incoming) -> str:
    """The lead a FORGET item names (its value)."""
    assert msg.value is not None
    return msg.value.decode()


def keys_forgotten(msg: Incoming, p: int, partitions: int) -> list[tuple[str, str]]:
    """The states of `p` a FORGET item removes (the lead's account is read with the lead)."""
    attachment = msg.attachment or {}
    visitors = [(VISITOR, v) for v in attachment.get("visitors", [])
                if partition_of(v, partitions) == p]  # fmt: skip
    return visitors if attachment.get("rest") else [(LEAD, forgotten_lead(msg)), *visitors]


def forget(
    engine: Engine, partitions: int, p: int, msg: Incoming, store: BatchStore, plan: Plan
) -> list[Record]:
    """What a FORGET item does on partition `p`: at the lead's owner, its state, due time and
    place in its account, and a record saying so; on every partition it reaches (the owner's
    included), the visitors linked to it and the pointer it left there."""
    lead = forgotten_lead(msg)
    attachment = msg.attachment or {}
    records: list[Record] = []
    if not attachment.get("rest"):
        if store.lead(lead) is None:
            elsewhere = plan.pointers.get(lead) or plan.placed.get(lead)
            if lead in store.released:  # moved on by an earlier item of this batch
                elsewhere = (int(store.released[lead].split("|")[0]), 0)
            if elsewhere is not None and elsewhere[0] != p:
                plan.forward(elsewhere[0], msg)
                return []
        records, state = engine.forget(lead, store)
        records.append(lead_forgotten(lead, state, attachment["request"], attachment["at"]))
        plan.forgotten.append(lead)
        others = {partition_of(v, partitions) for v in attachment.get("visitors", [])}
        for q in sorted((others | set(attachment.get("pointers", []))) - {p}):
            plan.forward(q, msg, FORGET, {**attachment, "rest": True})
    for visitor in attachment.get("visitors", []):
        if partition_of(visitor, partitions) != p:
            continue
        view = store.visitor(visitor)
        if view is not None and view.lead == lead:
            store.delete(VISITOR, visitor)
            plan.unlinked.append(visitor)
    store.drop_pointer(lead)
    return records
