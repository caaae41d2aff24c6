"""`leadtemp tail`, `leadtemp export`, `leadtemp lead` and `leadtemp account`: what a running
deployment holds (toolkit/)."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson
from rich.console import Console

from cli.options import (
    check_kafka_or_exit,
    connection_options,
    err,
    fail,
    load_rules_or_exit,
    output_option,
    parse_time_option,
    rules_option,
    settings_or_exit,
    stop_requested,
)
from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections
from toolkit.files import output_sink
from toolkit.settings import TOOL_ENVIRONMENT, ToolSettings


@click.command()
@connection_options
@click.option("--topic", "topic_names", multiple=True,
              help="An output topic to follow (repeatable; default: all outputs and dead "
              "letters).")  # fmt: skip
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record.")
def tail(topic_names: tuple[str, ...], from_beginning: bool, **flags: Any) -> None:
    """Follow the output topics in readable, coloured form (Ctrl-C stops)."""
    from toolkit.tail import tail as follow_topics
    from toolkit.views.records import line_of

    settings = settings_or_exit(flags, Connections, CONNECTION_ENVIRONMENT)
    check_kafka_or_exit(settings)
    out = Console(highlight=False)
    follow_topics(settings, list(topic_names), lambda t, v: out.print(line_of(t, v)),
                  from_beginning, stop_requested())  # fmt: skip


@click.command()
@connection_options
@click.option("--since", help="Only events that arrived from this time on (RFC 3339).")
@click.option("--before", help="Only events that arrived before this time (RFC 3339).")
@output_option("events")
def export(since: str | None, before: str | None, output: str, **flags: Any) -> None:
    """Write the events the input topics hold (up to now) as JSONL, in arrival order, for
    `leadtemp replay` and `leadtemp rules diff`."""
    from aiokafka.errors import KafkaConnectionError
    from kafka.errors import KafkaError

    from toolkit.export import export_to

    settings = settings_or_exit(flags, Connections, CONNECTION_ENVIRONMENT)
    check_kafka_or_exit(settings)
    since_ms = parse_time_option(since, "--since")
    before_ms = parse_time_option(before, "--before")
    try:
        with output_sink(output) as dst:
            counts = export_to(settings, dst.write, since_ms, before_ms)
    except (KafkaConnectionError, KafkaError) as e:  # aiokafka's / kafka-python's (admin)
        fail(f"Kafka at {settings.kafka_bootstrap_servers} does not answer: {e}")
    by_topic = "".join(
        f", {t.removeprefix(settings.topic_prefix)} {n:,}" for t, n in sorted(counts.items())
    )
    err.print(f"exported {sum(counts.values()):,} events{by_topic}")


def explain(kind: str, key: str, flags: dict[str, Any], as_json: bool) -> None:
    """`leadtemp lead` / `leadtemp account`: the explained state from Redis; exit 1 when there
    is none, 3 when Redis does not answer."""
    from redis.exceptions import RedisError

    from toolkit.lookup import report
    from toolkit.views.explain import account_table, lead_table

    settings = settings_or_exit(flags, ToolSettings, TOOL_ENVIRONMENT)
    rules = load_rules_or_exit(settings.rules_path)
    try:
        found = report(settings, rules, kind, key)
    except (RedisError, OSError) as e:
        fail(f"Redis at {settings.redis_shown}: {e}", 3)
    if found is None:
        err.print(f"{kind} {key!r} not found (no state under prefix {settings.redis_prefix!r})",
                  markup=False)  # fmt: skip
        sys.exit(1)
    if as_json:
        click.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
    else:
        Console().print(lead_table(found) if kind == "lead" else account_table(found))


@click.command()
@click.argument("lead_id")
@connection_options
@rules_option
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
def lead(lead_id: str, as_json: bool, **flags: Any) -> None:
    """Why a lead is where it is: scores, BANT, disqualifiers, top signals, next drop."""
    explain("lead", lead_id, flags, as_json)


@click.command()
@click.argument("account_id")
@connection_options
@rules_option
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
def account(account_id: str, as_json: bool, **flags: Any) -> None:
    """An account's temperature, engaged stakeholders, hot and warm leads."""
    explain("account", account_id, flags, as_json)

