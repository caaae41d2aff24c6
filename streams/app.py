"""The Faust app: the ingest hop (streams/ingest.py) -> the re-keyed topic -> the score agent
(streams/score.py); the decay timer; the checks and endpoints of an operator.

Faust acks a buffered batch in a `finally`, even when the agent was interrupted, so the
offsets Kafka keeps of the re-keyed topic are not trusted: the offsets applied to state are
kept in Redis, with the state, and a worker taking over a partition starts after them
(streams/fastdrain.py: FastDrainConsumer.seek_to_committed), raising its epoch first.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import shutil
import socket
import tempfile
from typing import Any

import faust

from scoring import REPARTITION_TOPIC, Engine, Rules, engine_build, rules_fingerprint
from streams import metrics
from streams.fastdrain import FastDrainTransport
from streams.health import Progress
from streams.http import web_app
from streams.ingest import Forwarder, Ingest, Router
from streams.messages import Incoming
from streams.plumbing.clients import redis_client
from streams.plumbing.clock import now_ms
from streams.plumbing.http import redis_answers, serve
from streams.plumbing.kafka_access import KafkaAccess, kafka_access
from streams.publish import Publisher
from streams.reindex import reindex
from streams.retention import retention_of
from streams.score import Scorer
from streams.settings import Settings
from streams.store import RedisState
from streams.take import take_events
from streams.timer import Timer

log = logging.getLogger("leadtemp.worker")

OUTBOX_CHECK_SECONDS = 5.0
LAG_CHECK_SECONDS = 5.0
OUTBOX_GRACE_MS = 30_000
# Bundles taken at a time. A trickle makes small bundles (one per partition per ingest window):
# taking few of them capped the score hop at 8 bundles per round of transactions, ≈430
# events/s at 1,000/s offered, so the lag grew without end. A backlog makes bundles of
# ≈batch_size / partitions events: 32 of them stay a few thousand events a round.
SCORE_BUNDLES = 32


def _incoming(event: Any) -> Incoming:
    m = event.message
    return Incoming(
        event.value, m.key, m.topic, m.partition, m.offset, m.timestamp if m.timestamp else None
    )


def faust_credentials(kafka: KafkaAccess) -> faust.types.auth.CredentialsT | None:
    """Faust's form of `kafka`'s security. SASLCredentials uses SASL_SSL only when given an SSL
    context (else SASL_PLAINTEXT, silently): so it gets one exactly when TLS is asked for."""
    if kafka.uses_sasl:
        return faust.SASLCredentials(
            username=kafka.username, password=kafka.password,
            mechanism=kafka.sasl_mechanism, ssl_context=kafka.ssl_context(),
        )  # fmt: skip
    if kafka.uses_tls:
        return faust.SSLCredentials(kafka.ssl_context())
    return None


def build_app(
    settings: Settings, rules: Rules, http_socket: socket.socket | None = None, replicas: int = 1
) -> faust.App:
    """A Faust app wired to the hops (run it with faust.Worker); HTTP endpoints on
    `http_socket` when given. `replicas`: of the topics Faust creates itself, as the topic
    plan has them (managed services refuse fewer)."""
    # Faust keeps table stores in a data directory, by default `<group>-data` in the current
    # directory; the worker has no tables, so a temporary one leaves nothing behind.
    datadir = tempfile.mkdtemp(prefix="leadtemp-faust-")
    atexit.register(shutil.rmtree, datadir, ignore_errors=True)
    app = faust.App(
        settings.group_id,
        broker=settings.broker_url,
        broker_credentials=faust_credentials(kafka_access(settings)),
        key_serializer="raw",
        value_serializer="raw",
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.partitions,
        # Of its leader-election topic (`<group>-__assignor-__leader`, Faust's own: an ingest-
        # only process subscribes to nothing else, and Faust's consumer refuses no topics).
        topic_replication_factor=replicas,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        stream_wait_empty=False,
        broker_commit_every=1000,
        producer_max_request_size=4 * 1024 * 1024,  # dead letters of too-large input
        datadir=datadir,
    )
    # Before anything reaches app.transport (app.topic does): see streams/fastdrain.py.
    app.transport = FastDrainTransport(app.conf.broker_consumer, app)
    without_faust_monitor(app)
    redis = redis_client(settings)
    state = RedisState(redis, settings.redis_prefix, settings.partitions)
    engine = Engine(rules)

    async def send(
        topic: str, key: bytes | None, value: bytes, timestamp: float | None, partition: int | None
    ) -> Any:
        return await app.producer.send(topic, key, value, partition, timestamp, None)

    publisher = Publisher(settings, state, send)
    scorer = Scorer(settings, engine, state, publisher)
    timer = Timer(scorer, retention_of(settings.state_retention_days, rules))
    inputs, rekeyed = Progress(), scorer.progress  # of the input and re-keyed partitions
    router = Router(engine, state.directory, settings.partitions)
    ingest = Ingest(settings, Forwarder(settings, router, publisher), inputs)
    by_lead = app.topic(
        settings.topic(REPARTITION_TOPIC),
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
    )

    within = settings.batch_within_ms / 1000

    if settings.ingests:

        @app.task
        async def run_ingest() -> None:
            await ingest.run()

    if settings.scores:

        @app.agent(by_lead)
        async def score(stream: Any) -> None:
            # Each message is a bundle of up to batch_size events: take a few, without
            # waiting long for more.
            async for events in take_events(stream, SCORE_BUNDLES, min(within, 0.005)):
                await scorer.score([_incoming(e) for e in events])

        @app.timer(interval=settings.timer_interval_ms / 1000)
        async def decay_timer() -> None:
            while await timer.tick() >= 1000:
                pass  # more were due than one round takes

        @app.timer(interval=OUTBOX_CHECK_SECONDS)
        async def recover_outboxes() -> None:
            # A batch committed here whose publishing failed for good (the confirmation gave
            # up): published again (older than any live publish takes).
            older_than = now_ms() - OUTBOX_GRACE_MS
            for p in list(scorer.epochs):
                if republished := await publisher.republish_outboxes(p, older_than):
                    log.warning("partition %d: republished %d batches not confirmed", p,
                                republished)  # fmt: skip

    @app.timer(interval=LAG_CHECK_SECONDS)
    async def measure_lag() -> None:
        # Input events count as done once forwarded (the ingest hop's commits), re-keyed ones
        # once applied (Redis's offsets: exact).
        if settings.ingests:
            with contextlib.suppress(Exception):  # a rebalance, or Kafka slow: next time
                await ingest.measure()
        held = [tp for tp in app.consumer.assignment() if tp.topic == by_lead.get_topic_name()]
        rekeyed.forget(set(rekeyed.held()) - {(tp.topic, tp.partition) for tp in held})
        with contextlib.suppress(Exception):
            highwaters = await app.consumer.highwaters(*held) if held else {}
            for tp in held:
                applied = await state.applied_offset(tp.partition)
                rekeyed.processed((tp.topic, tp.partition), applied + 1)
                if tp in highwaters:
                    rekeyed.written((tp.topic, tp.partition), highwaters[tp])
        with contextlib.suppress(Exception):
            await timer.measure()
        report_progress([inputs, rekeyed], settings.stuck_after_s)

    async def take_over(assigned: set[Any]) -> dict[Any, int]:
        # The re-keyed partitions start after what Redis says was applied (or at the start,
        # where nothing is yet); an offset the retention removed resets to the earliest kept.
        mine = {tp.partition: tp for tp in assigned if tp.topic == by_lead.get_topic_name()}
        scorer.give_up(set(scorer.epochs) - set(mine))
        kept = set(mine) & set(scorer.epochs)
        starts = await scorer.take_over(set(mine) - kept)
        starts.update(await scorer.resume_points(kept))
        reindexing.append(asyncio.ensure_future(reindex(scorer, engine, rules)))
        return {mine[p]: offset for p, offset in starts.items()}

    reindexing: list[asyncio.Future[None]] = []
    app.consumer.start_offsets = take_over  # type: ignore[attr-defined]  # FastDrainConsumer's

    async def readiness() -> dict[str, bool]:
        """Redis answers; this worker holds partitions (it is in the group, so Kafka answers
        too); none of them is stuck."""
        redis_ok = await redis_answers(redis)
        try:
            assigned = bool(app.consumer.assignment()) or bool(
                ingest.consumer and ingest.consumer.assignment())
        except Exception:
            assigned = False
        stuck = stuck_partitions([inputs, rekeyed], settings.stuck_after_s)
        return {"redis": redis_ok, "partitions_assigned": assigned, "no_partition_stuck": not stuck}

    async def liveness() -> dict[str, bool]:
        """The worker itself is wedged: a partition is stuck although Redis answers and the
        worker is in its groups. (An outage of Redis or Kafka stalls every partition too, and
        restarting would not help: that only fails readiness.)"""
        ready = await readiness()
        wedged = ready["redis"] and ready["partitions_assigned"] and not ready["no_partition_stuck"]
        return {"not_wedged": not wedged}

    if http_socket is not None:
        token = settings.api_token.get_secret_value() if settings.api_token else None
        endpoints = web_app(state, engine.model, readiness, liveness, token)

        @app.task
        async def serve_http() -> None:
            await serve(endpoints, http_socket)

    @app.task
    async def on_start() -> None:
        log.info("scoring engine: %s build", engine_build())
        metrics.RULES.labels(rules.version, rules_fingerprint(rules)).set(1)

    return app


def stuck_partitions(trackers: list[Progress], after_s: float) -> list[tuple[str, int]]:
    return [tp for progress in trackers for tp in progress.stuck(after_s)]


def report_progress(trackers: list[Progress], after_s: float) -> None:
    """Lag, stalled time and stuck flag of every partition held, as gauges (partitions no
    longer held drop out)."""
    for gauge in (metrics.LAG, metrics.STALLED, metrics.STUCK):
        gauge.clear()
    for progress in trackers:
        for topic, partition in progress.held():
            labels = (topic, str(partition))
            if (lag := progress.lag((topic, partition))) is not None:
                metrics.LAG.labels(*labels).set(lag)
            stalled = progress.stalled_seconds((topic, partition))
            metrics.STALLED.labels(*labels).set(stalled)
            metrics.STUCK.labels(*labels).set(1 if stalled > after_s else 0)


def without_faust_monitor(app: faust.App) -> None:
    """Take Faust's Monitor out of the app's sensors once it has started.

    The Monitor keeps statistics of every message for Faust's web views, which the worker
    does not serve (its metrics are streams/metrics.py). Without it, an agent that does
    nothing read 11% more messages/s (median of 7 pairs, bench/faust_ceiling) and the worker
    33-36% more events/s (2 pairs, bench/pipeline). Faust adds it at start, hence a task."""

    @app.task
    async def drop_monitor() -> None:
        if app.monitor in app.sensors:
            app.sensors.remove(app.monitor)
