"""`leadtemp worker`: the live pipeline (streams/)."""

from __future__ import annotations

from typing import Any

import click

from cli.options import (
    bind_or_exit,
    connection_options,
    fail,
    load_rules_or_exit,
    rules_option,
    settings_or_exit,
)
from streams.settings import ENVIRONMENT, Settings


@click.command()
@connection_options
@rules_option
@click.option(
    "--partitions", type=int, help="Partitions of the topics it creates [LEADTEMP_PARTITIONS]."
)
@click.option("--batch-size", type=int, help="Events per scoring batch [LEADTEMP_BATCH_SIZE].")
@click.option(
    "--metrics-port",
    type=int,
    help="Port of /metrics, /healthz, /readyz, /livez, /leads/ID, /accounts/ID; 0 for none "
    "[LEADTEMP_METRICS_PORT].",
)
@click.option(
    "--role",
    type=click.Choice(["all", "ingest", "score"]),
    help="The hops this process runs: ingest (input topics -> re-keyed topic), score "
    "(re-keyed topic -> state and outputs) or all [LEADTEMP_ROLE; default all].",
)
@click.option("--loglevel", default="info", show_default=True)
def worker(loglevel: str, **flags: Any) -> None:
    """Score events from Kafka live, with state in Redis."""
    from streams.layout import LayoutError
    from streams.plumbing.logs import setup_logging
    from streams.plumbing.settings import SettingsError
    from streams.plumbing.topics import PlanError
    from streams.worker import run_worker

    settings = settings_or_exit(flags, Settings, ENVIRONMENT)
    setup_logging(settings.log_format, loglevel, "worker")  # before anything may fail
    rules = load_rules_or_exit(settings.rules_path)
    http_socket = bind_or_exit(settings.metrics_port, "LEADTEMP_METRICS_PORT", settings.http_host)
    try:
        run_worker(settings, rules, http_socket, loglevel)
    except (LayoutError, PlanError, SettingsError) as e:
        fail(str(e))
