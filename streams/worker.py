"""`leadtemp worker`, the process's start-up: its topics, the Faust app (streams/app.py),
garbage collection tuned for a service, repeated client errors quieted, then Faust's worker
until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
from typing import Any

import faust

from scoring import REPARTITION_TOPIC, Rules, longest_window_days
from streams.app import build_app
from streams.layout import ensure_layout
from streams.plumbing.clients import check_credentials, redis_client
from streams.plumbing.kafka_access import kafka_access
from streams.plumbing.logs import logging_config, quiet_repeats
from streams.plumbing.topics import ensure_planned, partition_count
from streams.settings import Settings


def run_worker(
    settings: Settings, rules: Rules, http_socket: socket.socket | None, loglevel: str
) -> None:
    """The worker until SIGINT or SIGTERM; LayoutError, before anything starts, when the state
    in Redis is placed for another partition count; PlanError when the topic settings would
    lose history; SettingsError when Kafka or Redis refuses the credentials or its
    certificate is not trusted."""
    asyncio.run(check_credentials(settings))
    [(first, _), *_] = ensure_planned(settings, longest_window_days(rules))
    # State is placed by the re-keyed topic's partition: use the count it really has.
    by_lead = partition_count(kafka_access(settings), settings.topic(REPARTITION_TOPIC))
    settings = settings.model_copy(update={"partitions": by_lead})
    asyncio.run(_check_layout(settings))
    app = build_app(settings, rules, http_socket, replicas=first.replication)
    tune_gc_for_service()
    repeats = quiet_repeats()

    @app.timer(interval=repeats.interval_s)
    async def flush_held_back_logs() -> None:
        repeats.flush()

    sys.argv = [sys.argv[0]]  # Faust's worker parses argv itself
    config = logging_config(settings.log_format, loglevel, "worker")  # Faust sets it up again
    service_worker(app, loglevel, config).execute_from_commandline()


async def _check_layout(settings: Settings) -> None:
    redis = redis_client(settings)
    try:
        await ensure_layout(redis, settings.redis_prefix, settings.partitions)
    finally:
        await redis.aclose()


def tune_gc_for_service() -> None:
    """Exempt what start-up built (modules, the app) from garbage collection and collect
    less often: a batch's objects die by reference counting, so frequent collections only
    rescan."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def service_worker(
    app: faust.App, loglevel: str, logging_config: dict[str, Any] | None = None
) -> faust.Worker:
    """The Faust worker that runs `app` as a service, logging as `logging_config` says
    (streams/plumbing/logs.py) and without Faust's banner, which is not a log line."""
    worker = faust.Worker(app, loglevel=loglevel, logging_config=logging_config, quiet=True)
    # Faust's start-up spinner, at loglevel warning and above, sets the root logger to DEBUG
    # so that every log call turns it: every debug line of aiokafka (one per fetch, one per
    # record sent) then builds a record and goes through the handlers, 9-10% of the worker's
    # busy time at 1,000 events/s. Nobody watches a service's spinner.
    worker.spinner = None
    return worker
