"""`leadtemp topics create`: the topics a deployment reads and writes."""

from __future__ import annotations

from typing import Any

import click

from cli.options import connection_options, settings_or_exit
from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections


@click.group()
def topics() -> None:
    """Manage the topics leadtemp reads and writes."""


@topics.command("create")
@connection_options
@click.option("--partitions", type=int, help="Partitions of each new topic [LEADTEMP_PARTITIONS].")
def topics_create(**flags: Any) -> None:
    """Create every topic (inputs, repartition, outputs, dead letters); idempotent."""
    from streams.plumbing.topics import create_all

    settings = settings_or_exit(flags, Connections, CONNECTION_ENVIRONMENT)
    for name, created in create_all(settings):
        click.echo(f"{name}: {'created' if created else 'exists'}")
