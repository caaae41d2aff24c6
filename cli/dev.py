"""`leadtemp dev up | down | status` and `leadtemp demo`: the local dev services (devstack/)."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from cli.options import err, fail, settings_or_exit
from devstack.processes import ServiceError
from devstack.settings import DEV_ENVIRONMENT, DevSettings
from devstack.stack import DevStack, status_table
from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections


def dev_stack() -> DevStack:
    return DevStack.of(settings_or_exit({}, DevSettings, DEV_ENVIRONMENT))


@click.group()
def dev() -> None:
    """Run a real Kafka broker and Redis locally (no Docker needed)."""


@dev.command("up")
def dev_up() -> None:
    """Start Kafka (KRaft, one node) and Redis; print their addresses."""
    stack = dev_stack()
    try:
        with err.status("starting Redis and Kafka (the first start fetches Kafka's jars)…"):
            addresses = stack.up()
    except ServiceError as e:
        fail(str(e), 1)
    for key, value in addresses.items():
        click.echo(f"{key}={value}")


@dev.command("down")
@click.option(
    "--wipe", is_flag=True, help="Then delete their data: every topic, offset and Redis key."
)
def dev_down(wipe: bool) -> None:
    """Stop the broker and Redis started by `leadtemp dev up`."""
    stack = dev_stack()
    stopped = stack.down()
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    if wipe:
        try:
            wiped = stack.wipe()
        except ServiceError as e:
            fail(str(e), 1)
        click.echo("wiped: " + (", ".join(wiped) if wiped else "no data was there"))


@dev.command("status")
def dev_status() -> None:
    """Show whether the dev broker and Redis run and answer."""
    status = dev_stack().status()
    Console().print(status_table(status))
    if not all(s["answers"] for s in status.values()):
        sys.exit(3)


@click.command()
@click.option("--rate", type=float, default=20, show_default=True, help="Simulated events/s.")
@click.option("--leads", type=int, default=300, show_default=True)
@click.option("--accounts", type=int, default=60, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
def demo(rate: float, leads: int, accounts: int, seed: int) -> None:
    """Everything at once: Kafka, Redis, worker, notifier (console) and simulated traffic;
    shows temperature changes and alerts as they happen. Ctrl-C stops it all."""
    from devstack.demo import run_demo

    dev = settings_or_exit({}, DevSettings, DEV_ENVIRONMENT)
    given = settings_or_exit({}, Connections, CONNECTION_ENVIRONMENT)
    try:
        code = run_demo(rate, leads, accounts, seed, dev, given)
    except ServiceError as e:
        fail(str(e), 1)
    sys.exit(code)
