"""`leadtemp gateway`: events over HTTP onto the input topics (gateway/)."""

from __future__ import annotations

from typing import Any

import click

from cli.options import bind_or_exit, connection_options, fail, settings_or_exit
from gateway.settings import GATEWAY_ENVIRONMENT, GatewaySettings


@click.command()
@connection_options
@click.option("--port", type=int, help="Port of the event endpoints, /metrics and the probes "
              "[LEADTEMP_GATEWAY_PORT; default 9110].")  # fmt: skip
@click.option("--loglevel", default="info", show_default=True)
def gateway(loglevel: str, **flags: Any) -> None:
    """Take events over HTTP (POST /v1/events: one JSON event, an array, or NDJSON) and publish
    them to the input topics; 200 once Kafka acknowledged them, 503 while it does not."""
    from gateway.process import run_gateway
    from streams.plumbing.logs import setup_logging
    from streams.plumbing.settings import SettingsError

    settings = settings_or_exit(flags, GatewaySettings, GATEWAY_ENVIRONMENT)
    setup_logging(settings.log_format, loglevel, "gateway")  # before anything may fail
    sock = bind_or_exit(settings.port, "LEADTEMP_GATEWAY_PORT", settings.http_host, "port")
    assert sock is not None  # the port is at least 1
    try:
        run_gateway(settings, sock)
    except SettingsError as e:
        fail(str(e))
