"""`leadtemp notify`: alerts from Kafka to people, each delivery's effect exactly once.

Consumption is at-least-once: an alert's offset is committed only when every one of its
deliveries reached an end (delivered, held for a digest, or dead-lettered), and the ledger
(alerts/ledger.py) turns redelivered alerts into no-ops. Deliveries run as independent tasks, so
a destination that is slow or failing holds back only its own messages (and, for at most
`max_in_flight` alerts, the offset commit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import Field
from redis.asyncio import Redis

from alerts import metrics
from alerts.alert import TOPIC_OF_KIND, Alert, InvalidAlert, Kind, alert_from
from alerts.destinations import senders_for
from alerts.destinations.base import Delivered, Failed, Outcome, Retry, Sender
from alerts.ledger import Hold, Ledger
from alerts.routing import Delivery, Person, Routing, deliveries_for
from scoring.records import ALERTS_DEADLETTER
from streams.http import health_app, redis_answers, serve
from streams.plumbing.backoff import Service
from streams.plumbing.backoff import with_backoff as retry_transient
from streams.plumbing.isolation import error_detail
from streams.plumbing.kafka_backoff import MetadataBackoffProducer, with_metadata_backoff
from streams.settings import CONNECTION_ENVIRONMENT, Connections

log = logging.getLogger(__name__)

# A dead-letter reason beyond the delivery outcomes: handling the alert raised.
PROCESSING_ERROR = "processing_error"

NOTIFIER_ENVIRONMENT = {
    **CONNECTION_ENVIRONMENT,
    "LEADTEMP_ROUTES": "routes_path",
    "LEADTEMP_NOTIFIER_GROUP_ID": "group_id",
    "LEADTEMP_NOTIFIER_METRICS_PORT": "metrics_port",
    "LEADTEMP_NOTIFIER_MAX_IN_FLIGHT": "max_in_flight",
    "LEADTEMP_NOTIFIER_LEASE_MS": "lease_ms",
    "LEADTEMP_NOTIFIER_FLUSH_INTERVAL_MS": "flush_interval_ms",
}


class NotifierSettings(Connections):
    """What `leadtemp notify` needs; the routing file holds everything about destinations."""

    routes_path: str | None = None
    group_id: str = Field(default="leadtemp-notifier", min_length=1)
    metrics_port: int = Field(default=9109, ge=0, le=65535)
    max_in_flight: int = Field(default=1000, ge=1, le=100_000)
    # How long a crashed notifier's claim on a delivery blocks others (each attempt extends it
    # by the destination's timeout on top).
    lease_ms: int = Field(default=30_000, ge=1_000, le=3_600_000)
    flush_interval_ms: int = Field(default=1_000, ge=50, le=3_600_000)


def count_trouble(service: Service) -> None:
    (metrics.REDIS_ERRORS if service == "redis" else metrics.KAFKA_ERRORS).inc()


async def with_backoff(
    what: str, call: Callable[[], Awaitable[Any]], service: Service = "redis"
) -> Any:
    return await retry_transient(what, call, service, count=count_trouble)


def now_ms() -> int:
    return int(time.time() * 1000)


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


class Offsets:
    """Offsets in flight per partition; what may be committed is everything below the lowest."""

    def __init__(self) -> None:
        self.pending: dict[TopicPartition, set[int]] = {}
        self.next: dict[TopicPartition, int] = {}
        self.committed: dict[TopicPartition, int] = {}

    def start(self, tp: TopicPartition, offset: int) -> None:
        self.pending.setdefault(tp, set()).add(offset)
        self.next[tp] = max(self.next.get(tp, 0), offset + 1)

    def finish(self, tp: TopicPartition, offset: int) -> None:
        self.pending.get(tp, set()).discard(offset)

    def in_flight(self) -> int:
        return sum(len(p) for p in self.pending.values())

    def to_commit(self) -> dict[TopicPartition, int]:
        """Partitions whose committable offset moved since the last commit."""
        out = {}
        for tp, nxt in self.next.items():
            pending = self.pending.get(tp)
            offset = min(pending) if pending else nxt
            if self.committed.get(tp) != offset:
                out[tp] = offset
        return out

    def forget(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            self.pending.pop(tp, None)
            self.next.pop(tp, None)
            self.committed.pop(tp, None)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, offsets: Offsets) -> None:
        self.offsets = offsets

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Deliveries still running for these partitions finish harmlessly (the ledger); the
        # new owner starts from the last commit and finds them done.
        self.offsets.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass


async def run(
    settings: NotifierSettings, routing: Routing, stop: asyncio.Event,
    http_socket: socket.socket | None = None,
) -> None:  # fmt: skip
    """The notify process: consume both alert topics until `stop` is set; /metrics, /healthz
    and /readyz on `http_socket` when given."""
    kinds: dict[str, Kind] = {settings.topic(t): k for k, t in TOPIC_OF_KIND.items()}
    redis = Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
    # Both back off between failed metadata updates: see streams/kafka_backoff.py.
    producer = MetadataBackoffProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_interval_ms=600_000,
    )
    with_metadata_backoff(consumer._client)
    offsets = Offsets()
    await with_backoff("starting the Kafka producer", producer.start, "kafka")

    async def publish(topic: str, key: bytes, value: bytes) -> None:
        await producer.send_and_wait(topic, value, key=key)

    notifier = Notifier(settings, routing, Ledger(redis, settings.redis_prefix), publish)
    consumer.subscribe(list(kinds), listener=_Rebalance(offsets))
    await with_backoff("starting the Kafka consumer", consumer.start, "kafka")
    tasks: set[asyncio.Task[None]] = set()

    async def handle(tp: TopicPartition, msg: Any) -> None:
        origin = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
        raw = msg.value or b""
        try:
            try:  # outages are retried inside; anything else is this alert's own fault
                await notifier.handle(kinds[msg.topic], raw, origin)
            except Exception as e:
                log.exception("alert at %s/%s:%s failed; dead-lettering it", *origin.values())
                await notifier.handling_failed(raw, origin, e)
            offsets.finish(tp, msg.offset)
        except asyncio.CancelledError:
            pass  # not finished: its offset is not committed, and it is read again

    async def flusher() -> None:
        while True:
            await asyncio.sleep(settings.flush_interval_ms / 1000)
            try:
                await notifier.flush_due_holds()
            except Exception:
                log.exception("flushing digests failed")

    async def readiness() -> dict[str, bool]:
        return {"redis": await redis_answers(redis), "partitions_assigned": bool(
            consumer.assignment())}  # fmt: skip

    runner = await serve(health_app(readiness), http_socket) if http_socket else None
    flush_task = asyncio.create_task(flusher())
    log.info("notifier started: destinations %s", ", ".join(routing.destinations))
    try:
        while not stop.is_set():
            assigned = consumer.assignment()
            if offsets.in_flight() >= settings.max_in_flight:
                consumer.pause(*assigned)
            elif consumer.paused():
                consumer.resume(*consumer.paused())
            batch = await consumer.getmany(timeout_ms=200, max_records=200)
            for tp, messages in batch.items():
                for msg in messages:
                    offsets.start(tp, msg.offset)
                    task = asyncio.create_task(handle(tp, msg))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            await _commit(consumer, offsets)
    finally:
        flush_task.cancel()
        if tasks:  # let deliveries in flight finish briefly, then give their leases back
            _, late = await asyncio.wait(tasks, timeout=5)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        with contextlib.suppress(Exception):
            await _commit(consumer, offsets)
        await consumer.stop()
        await producer.stop()
        for sender in notifier.senders.values():
            await sender.close()
        await redis.aclose()
        if runner is not None:
            await runner.cleanup()


async def _commit(consumer: AIOKafkaConsumer, offsets: Offsets) -> None:
    todo = {tp: o for tp, o in offsets.to_commit().items() if tp in consumer.assignment()}
    if not todo:
        return
    try:
        await consumer.commit(todo)
    except (CommitFailedError, KafkaError) as e:  # a rebalance: the new owner redoes (no-ops)
        log.info("commit skipped: %s", e)
        return
    offsets.committed.update(todo)
