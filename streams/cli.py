"""The `leadtemp` command line."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)


@click.group()
def main() -> None:
    """leadtemp: real-time lead scoring from Kafka events."""


# --------------------------------------------------------------------------- dev


@main.group()
def dev() -> None:
    """Run a real Kafka broker and Redis locally (no Docker needed)."""


@dev.command("up")
def dev_up() -> None:
    """Start Kafka (KRaft, one node) and Redis; print their addresses."""
    from streams.devservices import DevStack, ServiceError

    stack = DevStack.from_env()
    try:
        with err.status("starting Redis and Kafka (the first start fetches Kafka's jars)…"):
            addresses = stack.up()
    except ServiceError as e:
        err.print(f"[red]error:[/red] {e}")
        sys.exit(1)
    for key, value in addresses.items():
        click.echo(f"{key}={value}")


@dev.command("down")
def dev_down() -> None:
    """Stop the broker and Redis started by `leadtemp dev up`."""
    from streams.devservices import DevStack

    stopped = DevStack.from_env().down()
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@dev.command("status")
def dev_status() -> None:
    """Show whether the dev broker and Redis run and answer."""
    from streams.devservices import DevStack

    status = DevStack.from_env().status()
    table = Table("service", "pid", "address", "answers", "log")
    for name, s in status.items():
        table.add_row(
            name, str(s["pid"] or "-"), str(s["address"]), str(s["answers"]), str(s["log"])
        )
    Console().print(table)
    if not all(s["answers"] for s in status.values()):
        sys.exit(3)


if __name__ == "__main__":
    main()
