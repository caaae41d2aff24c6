"""The notifier's core: one alert to its destinations, each delivery's effect exactly once.

Consumption is at-least-once (alerts/process.py, alerts/offsets.py): an alert's offset is
committed only when every one of its deliveries reached an end (delivered, held for a digest,
or dead-lettered), and the ledger (alerts/ledger.py) turns redelivered alerts into no-ops.
Deliveries run as independent tasks, so a destination that is slow or failing holds back only
its own messages (and, for at most `max_in_flight` alerts, the offset commit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from alerts import metrics
from alerts.alert import Alert, InvalidAlert, Kind, alert_from
from alerts.destinations import senders_for
from alerts.destinations.base import Delivered, Failed, Outcome, Retry, Sender
from alerts.ledger import Hold, Ledger
from alerts.routing import Delivery, Person, Routing, deliveries_for
from alerts.settings import NotifierSettings
from scoring import ALERTS_DEADLETTER
from streams.plumbing.backoff import counted_backoff
from streams.plumbing.clock import now_ms
from streams.plumbing.isolation import error_detail

log = logging.getLogger(__name__)

# A dead-letter reason beyond the delivery outcomes: handling the alert raised.
PROCESSING_ERROR = "processing_error"

# Redis and Kafka calls retried while they fail transiently, each failure counted.
with_backoff = counted_backoff(metrics.REDIS_ERRORS, metrics.KAFKA_ERRORS)


def dead_reason(outcome: Failed) -> str:
    """A bounded reason code for metrics and dead letters (the detail says the rest)."""
    for code in ("no_recipient", "retries_exhausted"):
        if outcome.reason.startswith(code):
            return code
    return "rejected"


class Notifier:
    """Routing, ledger and retries over injected senders and a dead-letter publisher."""

    def __init__(
        self,
        settings: NotifierSettings,
        routing: Routing,
        ledger: Ledger,
        publish: Callable[[str, bytes, bytes], Awaitable[None]],
        senders: dict[str, Sender] | None = None,
    ) -> None:
        self.settings = settings
        self.routing = routing
        self.ledger = ledger
        self.publish = publish
        self.senders = senders if senders is not None else senders_for(routing)

    # ------------------------------------------------------------------ one alert

    async def handle(self, kind: Kind, raw: bytes, origin: dict[str, Any]) -> None:
        """Every delivery of one alert message, to its end."""
        try:
            alert = alert_from(kind, orjson.loads(raw))
        except (orjson.JSONDecodeError, InvalidAlert) as e:
            metrics.INVALID.inc()
            record = {**origin, "reason": "invalid_alert", "detail": str(e),
                      "original": raw.decode("utf-8", "replace")}  # fmt: skip
            await self._dead_letter(b"", record)
            return
        deliveries = deliveries_for(alert, self.routing)
        await asyncio.gather(*(self.deliver(alert, d) for d in deliveries))

    async def deliver(self, alert: Alert, d: Delivery) -> None:
        """One alert to one recipient of one destination: at most one message, ever."""
        sender = self.senders[d.destination]
        dest = self.routing.destinations[d.destination]
        person = self.routing.people.get(d.person) if d.person else None
        lease = self.lease_ms(dest.timeout_seconds)
        zone = self.zone_of(person, dest)
        limit = (dest.limit.messages, int(dest.limit.per_minutes * 60_000)) if dest.limit else None

        async def admit() -> str:
            """Claim the delivery, then take a rate slot or hold it for a digest."""
            while True:
                claim = await self.ledger.claim(alert.alert_id, d.key, lease)
                if claim in ("done", "held", "dead"):
                    return "duplicate"
                if claim == "busy":  # another notifier has it, or a dead one's lease runs
                    await asyncio.sleep(min(1.0, self.settings.lease_ms / 4000))
                    continue
                now = now_ms()
                quiet = dest.quiet_hours.end_after(now, zone, alert.priority) if (
                    dest.quiet_hours) else None  # fmt: skip
                verdict = await self.ledger.admit(
                    alert, d.key, d.destination, d.person, now, limit, quiet or 0
                )
                if verdict != "lost":
                    return str(verdict)

        verdict = await with_backoff("claiming a delivery", admit)
        if verdict == "duplicate":
            metrics.DUPLICATES.labels(sender.kind).inc()
            return
        if verdict in ("rate_limit", "quiet_hours"):
            metrics.HELD.labels(sender.kind, verdict).inc()
            metrics.DELIVERIES.labels(sender.kind, "held").inc()
            return
        try:
            outcome = await self.send_with_retries(
                sender, [alert], person, dest.timeout_seconds,
                lambda ms: self.ledger.extend(alert.alert_id, d.key, ms),
            )  # fmt: skip
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.ledger.release(alert.alert_id, d.key))
            raise
        if isinstance(outcome, Delivered):
            await with_backoff(
                "recording a delivery", lambda: self.ledger.done(alert.alert_id, d.key)
            )
            metrics.DELIVERIES.labels(sender.kind, "delivered").inc()
            metrics.LATENCY.labels(sender.kind).observe(
                max(0.0, time.time() - alert.occurred_at.timestamp())
            )
            return
        assert isinstance(outcome, Failed)
        await self._dead_letter_delivery(alert, d, sender, outcome)
        await with_backoff(
            "recording a dead letter", lambda: self.ledger.dead(alert.alert_id, d.key)
        )

    def lease_ms(self, timeout_seconds: float) -> int:
        return self.settings.lease_ms + int(timeout_seconds * 1000)

    @staticmethod
    def zone_of(person: Person | None, dest: Any) -> str:
        if person is not None:
            return person.timezone
        return str(getattr(dest, "timezone", "UTC"))

    # ------------------------------------------------------------------ retries

    async def send_with_retries(
        self,
        sender: Sender,
        alerts: list[Alert],
        person: Person | None,
        timeout_seconds: float,
        keep_lease: Callable[[int], Awaitable[bool]] | None = None,
    ) -> Delivered | Failed:
        """Send until the provider accepts or refuses for good, or the retry budget is spent:
        exponential backoff with full jitter, or the provider's Retry-After when it gives one."""
        budget = self.routing.retry
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome: Outcome = await asyncio.wait_for(
                    sender.send(alerts, person), timeout=timeout_seconds * 4 + 5
                )
            except TimeoutError:
                outcome = Retry("timeout")
            except Exception as e:  # a bug or an unforeseen answer: retried, then dead-lettered
                log.exception("sending to %s failed", sender.kind)
                outcome = Retry(f"error: {type(e).__name__}")
            if not isinstance(outcome, Retry):
                return outcome
            cap = min(budget.max_backoff_seconds, budget.base_seconds * 2 ** (attempt - 1))
            delay = outcome.after if outcome.after is not None else random.uniform(0, cap)
            elapsed = time.monotonic() - started
            if attempt >= budget.max_attempts or elapsed + delay > budget.max_seconds:
                return Failed(
                    f"retries_exhausted after {attempt} attempts: {outcome.reason}", outcome.status
                )
            why = ("rate_limited" if outcome.status == 429 else
                   "server_error" if outcome.status else
                   "timeout" if outcome.reason == "timeout" else "network")  # fmt: skip
            metrics.RETRIES.labels(sender.kind, why).inc()
            if keep_lease is not None:
                ms = int((delay + timeout_seconds) * 1000) + self.settings.lease_ms
                await with_backoff("extending a lease", lambda ms=ms: keep_lease(ms))
            await asyncio.sleep(delay)

    # ------------------------------------------------------------------ digests

    async def flush_due_holds(self) -> int:
        """Send the digests that are due; returns how many were sent or dead-lettered."""
        budget = self.routing.retry
        lease = int((budget.max_seconds + 120) * 1000)
        holds = await with_backoff("reading holds", lambda: self.ledger.due_holds(now_ms(), lease))
        for hold in holds:
            await self.flush(hold)
        return len(holds)

    async def flush(self, hold: Hold) -> None:
        dest = self.routing.destinations.get(hold.destination)
        # The destination may have left the routing file since the alert was held.
        sender = self.senders.get(hold.destination) if dest is not None else None
        delivery = Delivery(destination=hold.destination, person=hold.person)
        window = int(dest.limit.per_minutes * 60_000) if dest and dest.limit else 0
        if not hold.alerts:  # emptied by another notifier's flush: just drop the due entry
            await with_backoff("dropping an empty hold", lambda: self.ledger.hold_sent(
                hold, delivery.key, now_ms(), 0, state="done"))  # fmt: skip
            return
        if sender is None or dest is None:
            outcome: Delivered | Failed = Failed("rejected: destination no longer configured")
        else:
            person = self.routing.people.get(hold.person) if hold.person else None
            outcome = await self.send_with_retries(
                sender, hold.alerts, person, dest.timeout_seconds
            )
        kind = sender.kind if sender else "unknown"
        if isinstance(outcome, Delivered):
            await with_backoff("recording a digest", lambda: self.ledger.hold_sent(
                hold, delivery.key, now_ms(), window))  # fmt: skip
            metrics.DIGESTS.labels(kind).inc()
            metrics.DELIVERIES.labels(kind, "delivered").inc(len(hold.alerts))
            return
        for alert in hold.alerts:
            await self._dead_letter_delivery(alert, delivery, sender, outcome)
        await with_backoff("recording dead letters", lambda: self.ledger.hold_sent(
            hold, delivery.key, now_ms(), window, state="dead"))  # fmt: skip

    # ------------------------------------------------------------------ dead letters

    async def _dead_letter_delivery(
        self, alert: Alert, d: Delivery, sender: Sender | None, outcome: Failed
    ) -> None:
        reason = dead_reason(outcome)
        kind = sender.kind if sender else "unknown"
        metrics.DEAD_LETTERS.labels(kind, reason).inc()
        metrics.DELIVERIES.labels(kind, "dead_letter").inc()
        log.warning("alert %s to %s dead-lettered: %s", alert.alert_id, d.destination, reason)
        await self._dead_letter(alert.alert_id.encode(), {
            "alert_id": alert.alert_id,
            "type": alert.kind,
            "destination": {"name": d.destination, "type": kind,
                            "target": sender.describe() if sender else None},
            "recipient": d.person,
            "status": outcome.status,
            "reason": reason,
            "detail": outcome.reason,
            "failed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "alert": alert.original(),
        })  # fmt: skip

    async def handling_failed(self, raw: bytes, origin: dict[str, Any], error: Exception) -> None:
        """An alert whose handling raised something other than an outage: dead-lettered (its
        deliveries that ended stay ended: the ledger), never retried as if Kafka were down."""
        metrics.DEAD_LETTERS.labels("unknown", PROCESSING_ERROR).inc()
        await self._dead_letter(b"", {**origin, "reason": PROCESSING_ERROR,
                                      "detail": error_detail(error),
                                      "original": raw.decode("utf-8", "replace")})  # fmt: skip

    async def _dead_letter(self, key: bytes, record: dict[str, Any]) -> None:
        topic = self.settings.topic(ALERTS_DEADLETTER)
        await with_backoff("publishing a dead letter",
                           lambda: self.publish(topic, key, orjson.dumps(record)),
                           "kafka")  # fmt: skip


