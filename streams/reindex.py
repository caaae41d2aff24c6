"""After a change of rules, every stored lead's next drop and account's next window end moved
to where the new rules put them (README: "Changing the rules of a running deployment")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from scoring import Engine, Rules, rules_fingerprint
from streams import metrics
from streams.pipeline import with_backoff
from streams.store import RedisState

log = logging.getLogger("leadtemp.worker")

CLAIM_POLL_SECONDS = 30.0  # how often a worker checks whether another finished re-indexing


async def reschedule_if_rules_changed(
    state: RedisState, engine: Engine, rules: Rules, poll_s: float = CLAIM_POLL_SECONDS
) -> None:
    """After a change of rules, move every stored lead's next drop (and account's next window
    end) to where the new rules put it: the decay timer then downgrades a lead that no longer
    holds its temperature at once, instead of when the old rules said. One worker does it;
    the others wait, and take over if its claim lapses (it died) before it is done."""
    fingerprint = rules_fingerprint(rules)
    metrics.RULES.labels(rules.version, fingerprint).set(1)
    waiting = False
    while True:
        stored = await with_backoff("reading the rules fingerprint", state.rules_fingerprint)
        if stored == fingerprint:
            return
        if await with_backoff("claiming the re-index", lambda: state.claim_reschedule(fingerprint)):
            break
        if not waiting:
            log.info("rules %s (fingerprint %s): another worker is re-indexing the stored "
                     "states", rules.version, fingerprint)  # fmt: skip
            waiting = True
        await asyncio.sleep(poll_s)
    started = time.monotonic()
    try:
        examined, moved = await with_backoff(
            "re-indexing under the new rules", lambda: state.reschedule_all(engine, fingerprint)
        )
    finally:
        with contextlib.suppress(Exception):  # it lapses anyway
            await state.release_reschedule(fingerprint)
    log.info(
        "rules %s (fingerprint %s) differ from those the stored states were scheduled under: "
        "%d leads and accounts re-indexed, %d moved, in %.1f s",
        rules.version, fingerprint, examined, moved, time.monotonic() - started,
    )  # fmt: skip
