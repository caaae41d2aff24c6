"""`leadtemp gateway`: events over HTTP onto the input topics (gateway/)."""

from __future__ import annotations

from typing import Any

import click

from cli.options import bind_or_exit, connection_options, fail, settings_or_exit
from gateway.settings import GATEWAY_ENVIRONMENT, GatewaySettings


@click.command()
@connection_options
@click.option("--sources", "sources_path", help="Sources file (YAML) [LEADTEMP_SOURCES].")
@click.option("--port", type=int, help="Port of the event endpoints, /metrics and the probes "
              "[LEADTEMP_GATEWAY_PORT; default 9110].")  # fmt: skip
@click.option("--loglevel", default="info", show_default=True)
def gateway(loglevel: str, **flags: Any) -> None:
    """Take events over HTTP (POST /v1/events: one JSON event, an array, or NDJSON; Segment's
    API when the sources file turns it on) and publish them to the input topics; 200 once
    Kafka acknowledged them, 503 while it does not."""
    from gateway.process import run_gateway
    from gateway.sources import SourcesError, sources_from_file
    from streams.plumbing.logs import setup_logging
    from streams.plumbing.settings import SettingsError

    settings = settings_or_exit(flags, GatewaySettings, GATEWAY_ENVIRONMENT)
    setup_logging(settings.log_format, loglevel, "gateway")  # before anything may fail
    try:
        sources = sources_from_file(settings.sources_path)
    except SourcesError as e:
        fail(str(e))
    sock = bind_or_exit(settings.port, "LEADTEMP_GATEWAY_PORT", settings.http_host, "port")
    assert sock is not None  # the port is at least 1
    try:
        run_gateway(settings, sources, sock)
    except SettingsError as e:
        fail(str(e))
