"""After a change of rules, every stored lead's next drop and account's next window end moved
to where the new rules put them (README: "Changing the rules of a running deployment"): the
decay timer then downgrades a lead that no longer holds its temperature at once, instead of
when the old rules said. Each partition is re-indexed by its owner, between its batches."""

from __future__ import annotations

import logging
import time

from scoring import Engine, Rules, rules_fingerprint
from streams.metrics import with_backoff
from streams.score import Scorer
from streams.store import Fenced

log = logging.getLogger("leadtemp.worker")


async def reindex(scorer: Scorer, engine: Engine, rules: Rules) -> None:
    """Re-index the partitions this worker owns whose due times were set under other rules."""
    fingerprint = rules_fingerprint(rules)
    state = scorer.state
    started = time.monotonic()
    examined = moved = partitions = 0
    for p, epoch in list(scorer.epochs.items()):
        stored = await with_backoff("reading the rules fingerprint",
                                    lambda p=p: state.rules_fingerprint(p))  # fmt: skip
        if stored == fingerprint:
            continue
        async with scorer.lock:
            if scorer.epochs.get(p) != epoch:
                continue  # given up meanwhile: its new owner does it
            try:
                e, m = await with_backoff(
                    "re-indexing under the new rules",
                    lambda p=p, held=epoch: state.reschedule(p, held, engine, fingerprint),
                )
            except Fenced:
                continue
        examined, moved, partitions = examined + e, moved + m, partitions + 1
    if partitions:
        log.info(
            "rules %s (fingerprint %s) differ from those the stored states were scheduled under: "
            "%d leads and accounts re-indexed, %d moved, in %.1f s (%d partitions)",
            rules.version, fingerprint, examined, moved, time.monotonic() - started, partitions,
        )  # fmt: skip
