"""The `leadtemp` command line."""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from scoring.records import Record
from scoring.rules import Rules, RulesError, rules_as_yaml, rules_from_yaml
from scoring.times import ms_from_rfc3339

if TYPE_CHECKING:
    from alerts.routing import Routing
    from scoring.replay import Replay

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


# --------------------------------------------------------------------------- worker


@main.command()
@click.option(
    "--brokers",
    "kafka_bootstrap_servers",
    help="Kafka bootstrap servers [KAFKA_BOOTSTRAP_SERVERS].",
)
@click.option("--redis-url", help="Redis URL [REDIS_URL].")
@click.option("--rules", "rules_path", help="Rules file (YAML) [LEADTEMP_RULES].")
@click.option("--topic-prefix", help="Prefix of every topic name [LEADTEMP_TOPIC_PREFIX].")
@click.option("--redis-prefix", help="Prefix of every Redis key [LEADTEMP_REDIS_PREFIX].")
@click.option(
    "--partitions", type=int, help="Partitions of the topics it creates [LEADTEMP_PARTITIONS]."
)
@click.option("--batch-size", type=int, help="Events per scoring batch [LEADTEMP_BATCH_SIZE].")
@click.option(
    "--metrics-port", type=int, help="Port of /metrics, 0 for none [LEADTEMP_METRICS_PORT]."
)
@click.option("--loglevel", default="info", show_default=True)
def worker(loglevel: str, **flags: object) -> None:
    """Score events from Kafka live, with state in Redis."""
    import faust

    from streams.app import build_app
    from streams.settings import SettingsError, settings_from

    try:
        settings = settings_from(flags)
    except SettingsError as e:
        err.print(f"[red]error:[/red] {e}", markup=True, highlight=False)
        sys.exit(2)
    rules_obj = load_rules_or_exit(settings.rules_path)
    from streams.topics import all_topics, ensure_topics

    serve_metrics_or_exit(settings.metrics_port, "LEADTEMP_METRICS_PORT")
    ensure_topics(settings.kafka_bootstrap_servers, all_topics(settings), settings.partitions)
    app = build_app(settings, rules_obj)
    sys.argv = [sys.argv[0]]  # Faust's worker parses argv itself
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()


def serve_metrics_or_exit(port: int, variable: str) -> None:
    """Serve /metrics on `port` (0: not at all); exit 2 naming the setting if it cannot."""
    if not port:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(port)
    except OSError as e:
        err.print(f"[red]error:[/red] setting metrics_port ({variable}): port {port}: {e.strerror}")
        sys.exit(2)


# --------------------------------------------------------------------------- notify


@main.command()
@click.option("--routes", "routes_path", help="Routing file (YAML) [LEADTEMP_ROUTES].")
@click.option("--brokers", "kafka_bootstrap_servers", help="Kafka [KAFKA_BOOTSTRAP_SERVERS].")
@click.option("--redis-url", help="Redis URL [REDIS_URL].")
@click.option("--topic-prefix", help="Prefix of every topic name [LEADTEMP_TOPIC_PREFIX].")
@click.option("--redis-prefix", help="Prefix of every Redis key [LEADTEMP_REDIS_PREFIX].")
@click.option(
    "--metrics-port",
    type=int,
    help="Port of /metrics, 0 for none [LEADTEMP_NOTIFIER_METRICS_PORT].",
)
@click.option("--loglevel", default="info", show_default=True)
def notify(loglevel: str, **flags: object) -> None:
    """Deliver hot-lead and hot-account alerts to the routing file's destinations."""
    import asyncio
    import logging
    import signal

    from alerts.notifier import NOTIFIER_ENVIRONMENT, NotifierSettings, run
    from streams.settings import SettingsError, settings_from

    try:
        settings = settings_from(flags, None, NotifierSettings, NOTIFIER_ENVIRONMENT)
    except SettingsError as e:
        err.print(f"[red]error:[/red] {e}", markup=True, highlight=False)
        sys.exit(2)
    routing = load_routing_or_exit(settings.routes_path)
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve_metrics_or_exit(settings.metrics_port, "LEADTEMP_NOTIFIER_METRICS_PORT")
    from streams.topics import all_topics, ensure_topics

    ensure_topics(settings.kafka_bootstrap_servers, all_topics(settings), settings.partitions)

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, routing, stop)

    asyncio.run(main_loop())


def load_routing_or_exit(path: str | None) -> Routing:
    """The routing file at `path` (default: console only); exit 2 naming the bad key."""
    from alerts.routing import RoutingError, routing_from_file

    try:
        return routing_from_file(path)
    except RoutingError as e:
        err.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


@main.group()
def routes() -> None:
    """Check a routing file (destinations, people, owners, routes)."""


@routes.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def routes_check(path: str) -> None:
    """Validate a routing file, its secrets included; exit 2 with the key and reason."""
    r = load_routing_or_exit(path)
    names = ", ".join(f"{n} ({d.type})" for n, d in r.destinations.items())
    click.echo(f"{path}: ok: destinations {names}; {len(r.routes)} routes, {len(r.owners)} owners")


# --------------------------------------------------------------------------- rules & schema


def load_rules_or_exit(path: str | None) -> Rules:
    """The rules from `path` (or $LEADTEMP_RULES, or the defaults); exit 2 naming the bad key."""
    path = path or os.environ.get("LEADTEMP_RULES")
    if not path:
        return Rules()
    try:
        text = Path(path).read_text()
    except OSError as e:
        err.print(f"[red]error:[/red] rules file {path}: {e.strerror}")
        sys.exit(2)
    try:
        return rules_from_yaml(text, source=path)
    except RulesError as e:
        err.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


@main.group()
def rules() -> None:
    """Check or show a rules file."""


@rules.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def rules_check(path: str) -> None:
    """Validate a rules file; exit 2 with the key and reason when it is wrong."""
    r = load_rules_or_exit(path)
    click.echo(f"{path}: ok (version {r.version})")


@rules.command("show")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def rules_show(path: str | None) -> None:
    """Print the effective rules (defaults filled in) as YAML."""
    click.echo(rules_as_yaml(load_rules_or_exit(path)), nl=False)


@main.command()
@click.option("--outputs", is_flag=True, help="Print the output records' schema instead.")
def schema(outputs: bool) -> None:
    """Print the JSON Schema of the input events (or of the output records)."""
    from scoring.schemas import event_schema, output_schema

    click.echo(
        orjson.dumps(
            output_schema() if outputs else event_schema(), option=orjson.OPT_INDENT_2
        ).decode()
    )


# --------------------------------------------------------------------------- replay


def parse_time_option(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return ms_from_rfc3339(value)
    except ValueError as e:
        raise click.BadParameter(f"{value!r}: {e}", param_hint=name) from None


@main.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--until", help="Emit decay downgrades up to this time (RFC 3339) at the end.")
@click.option("--now", help="The processor's clock for the 5-minute future limit (RFC 3339).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Where to write the records (JSONL); default stdout.",
)
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file (YAML).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def replay(
    input_path: str,
    until: str | None,
    now: str | None,
    output: str,
    rules_path: str | None,
    quiet: bool,
) -> None:
    """Score an events file (JSONL, '-' for stdin) offline, with no Kafka or Redis."""
    from scoring.engine import Engine
    from scoring.replay import Replay

    tune_gc_for_batch()
    until_ms = parse_time_option(until, "--until")
    now_ms = parse_time_option(now, "--now")
    engine = Engine(load_rules_or_exit(rules_path))
    run = Replay(engine, now_ms if now_ms is not None else int(time.time() * 1000))
    src = sys.stdin.buffer if input_path == "-" else open(input_path, "rb")  # noqa: SIM115
    dst = sys.stdout.buffer if output == "-" else open(output, "wb")  # noqa: SIM115
    size = None if input_path == "-" else os.path.getsize(input_path)
    show = not quiet and size is not None and err.is_terminal
    try:
        with Progress(
            TextColumn("replay"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not show,
            transient=True,
        ) as progress:
            task = progress.add_task("replay", total=size)
            for line_no, line in enumerate(src):
                stripped = line.rstrip(b"\r\n")
                if stripped:
                    write_records(dst, run.feed(stripped, line_no))
                if show and line_no % 4096 == 0:
                    progress.update(task, completed=src.tell())
            write_records(dst, run.finish(until_ms))
    finally:
        dst.flush()
        if src is not sys.stdin.buffer:
            src.close()
        if dst is not sys.stdout.buffer:
            dst.close()
    if not quiet:
        print_summary(run)


def tune_gc_for_batch() -> None:
    """Collect garbage less often: a replay keeps many small long-lived state objects, and
    the default thresholds rescan them every few hundred allocations."""
    gc.set_threshold(100_000, 50, 100)


def write_records(dst: IO[bytes], records: list[Record]) -> None:
    for r in records:
        dst.write(orjson.dumps(r.as_replay_line()) + b"\n")


def print_summary(run: Replay) -> None:
    s = run.summary
    table = Table(title="replay summary", show_header=False)
    table.add_row("events accepted", str(s.events))
    table.add_row("duplicates skipped", str(s.duplicates))
    table.add_row("anonymous, held", str(s.held))
    table.add_row(
        "dead letters",
        str(sum(s.dead_letters.values()))
        + (
            f" ({', '.join(f'{k} {v}' for k, v in sorted(s.dead_letters.items()))})"
            if s.dead_letters
            else ""
        ),
    )
    table.add_row("leads", str(len(run.store.leads)))
    table.add_row("accounts", str(len(run.store.accounts)))
    temps = run.temperatures()
    table.add_row(
        "leads now", ", ".join(f"{t} {temps[t]}" for t in ("hot", "warm", "cold", "disqualified"))
    )
    table.add_row(
        "temperature changes", ", ".join(f"to {k} {v}" for k, v in sorted(s.changes.items()))
    )
    table.add_row(
        "hot-lead alerts", ", ".join(f"{k} {v}" for k, v in sorted(s.alerts.items())) or "0"
    )
    table.add_row("hot-account alerts", str(s.account_alerts))
    table.add_row("alerts suppressed (cooldown)", str(s.alerts_suppressed))
    err.print(table)


if __name__ == "__main__":
    main()
