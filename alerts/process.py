"""`leadtemp notify`, the process: consume both alert topics, hand every alert to the Notifier
(alerts/notifier.py) as its own task, commit what is finished (alerts/offsets.py), flush
digests, serve /metrics, /healthz and /readyz; and its start-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from alerts.alert import TOPIC_OF_KIND, Kind
from alerts.ledger import Ledger
from alerts.notifier import Notifier, with_backoff
from alerts.offsets import Offsets, Rebalance, commit_finished
from alerts.routing import Routing
from alerts.settings import NotifierSettings
from scoring import Rules, longest_window_days
from streams.plumbing.clients import check_credentials, redis_client
from streams.plumbing.http import health_app, redis_answers, serve
from streams.plumbing.kafka_access import kafka_access
from streams.plumbing.kafka_backoff import MetadataBackoffProducer, with_metadata_backoff
from streams.plumbing.logs import flush_repeats_forever, quiet_repeats
from streams.plumbing.producers import PRODUCER_OPTIONS
from streams.plumbing.topics import ensure_planned

log = logging.getLogger("alerts.notifier")


def run_notifier(
    settings: NotifierSettings, routing: Routing, http_socket: socket.socket | None
) -> None:
    """The notifier's start-up (logging is set up by then: streams/plumbing/logs.py): Kafka's
    and Redis's credentials checked (SettingsError), its topics (PlanError), then `run`
    until SIGINT or SIGTERM."""
    repeats = quiet_repeats()
    asyncio.run(check_credentials(settings))
    # The notifier has no rules file: the default rules' windows check the input retention
    # asked for (the worker checks it against its own rules).
    ensure_planned(settings, longest_window_days(Rules()))

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        flushing = asyncio.create_task(flush_repeats_forever(repeats))
        try:
            await run(settings, routing, stop, http_socket)
        finally:
            flushing.cancel()

    asyncio.run(main_loop())


async def run(
    settings: NotifierSettings, routing: Routing, stop: asyncio.Event,
    http_socket: socket.socket | None = None,
) -> None:  # fmt: skip
    """The notify process: consume both alert topics until `stop` is set; /metrics, /healthz
    and /readyz on `http_socket` when given."""
    kinds: dict[str, Kind] = {settings.topic(t): k for k, t in TOPIC_OF_KIND.items()}
    redis = redis_client(settings, timeout_s=10)  # the ledger's scripts take longer
    # Both back off between failed metadata updates: see streams/plumbing/kafka_backoff.py.
    kafka = kafka_access(settings).client_options()
    producer = MetadataBackoffProducer(**kafka, linger_ms=5, **PRODUCER_OPTIONS)
    consumer = AIOKafkaConsumer(
        **kafka,
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
    consumer.subscribe(list(kinds), listener=Rebalance(offsets))
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
            await commit_finished(consumer, offsets)
    finally:
        flush_task.cancel()
        if tasks:  # let deliveries in flight finish briefly, then give their leases back
            _, late = await asyncio.wait(tasks, timeout=5)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        with contextlib.suppress(Exception):
            await commit_finished(consumer, offsets)
        await consumer.stop()
        await producer.stop()
        for sender in notifier.senders.values():
            await sender.close()
        await redis.aclose()
        if runner is not None:
            await runner.cleanup()


