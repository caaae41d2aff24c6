"""The `leadtemp` command: one group, its commands registered from one module per group."""

from __future__ import annotations

import click

from cli.dev import demo, dev
from cli.gateway import gateway
from cli.inspect import account, export, lead, tail
from cli.notify import notify, routes
from cli.replay import replay, schema
from cli.rules import rules
from cli.state import forget, rebuild
from cli.topics import topics
from cli.traffic import produce, simulate
from cli.worker import worker


@click.group()
def main() -> None:
    """leadtemp: real-time lead scoring from Kafka events."""


for command in (dev, worker, notify, gateway, routes, demo, topics, produce, simulate, tail,
                export, lead, account, forget, rebuild, rules, schema, replay):  # fmt: skip
    main.add_command(command)

if __name__ == "__main__":
    main()
