"""`leadtemp notify` and `leadtemp routes check`: alerts to people (alerts/)."""

from __future__ import annotations

from typing import Any

import click

from alerts.settings import NOTIFIER_ENVIRONMENT, NotifierSettings
from cli.options import (
    bind_or_exit,
    connection_options,
    fail,
    load_routing_or_exit,
    settings_or_exit,
)


@click.command()
@click.option("--routes", "routes_path", help="Routing file (YAML) [LEADTEMP_ROUTES].")
@connection_options
@click.option(
    "--metrics-port",
    type=int,
    help="Port of /metrics, /healthz, /readyz; 0 for none [LEADTEMP_NOTIFIER_METRICS_PORT].",
)
@click.option("--loglevel", default="info", show_default=True)
def notify(loglevel: str, **flags: Any) -> None:
    """Deliver hot-lead and hot-account alerts to the routing file's destinations."""
    from alerts.process import run_notifier
    from streams.plumbing.logs import setup_logging

    settings = settings_or_exit(flags, NotifierSettings, NOTIFIER_ENVIRONMENT)
    setup_logging(settings.log_format, loglevel, "notifier")  # before anything may fail
    routing = load_routing_or_exit(settings.routes_path)
    http_socket = bind_or_exit(settings.metrics_port, "LEADTEMP_NOTIFIER_METRICS_PORT",
                               settings.http_host)  # fmt: skip
    from streams.plumbing.settings import SettingsError
    from streams.plumbing.topics import PlanError

    try:
        run_notifier(settings, routing, http_socket)
    except (PlanError, SettingsError) as e:
        fail(str(e))


@click.group()
def routes() -> None:
    """Check a routing file (destinations, people, owners, routes)."""


@routes.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def routes_check(path: str) -> None:
    """Validate a routing file, its secrets included; exit 2 with the key and reason."""
    r = load_routing_or_exit(path)
    names = ", ".join(f"{n} ({d.type})" for n, d in r.destinations.items())
    click.echo(f"{path}: ok: destinations {names}; {len(r.routes)} routes, {len(r.owners)} owners")
