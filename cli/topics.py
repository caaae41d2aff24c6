"""`leadtemp topics create | check`: the topics a deployment reads and writes, as planned."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.options import (
    check_kafka_or_exit,
    connection_options,
    fail,
    load_rules_or_exit,
    rules_option,
    settings_or_exit,
)
from toolkit.settings import TOOL_ENVIRONMENT, ToolSettings

_PARTITIONS = click.option(
    "--partitions", type=int, help="Partitions of each topic [LEADTEMP_PARTITIONS]."
)


@click.group()
def topics() -> None:
    """Manage the topics leadtemp reads and writes."""


@topics.command("create")
@connection_options
@_PARTITIONS
@rules_option
def topics_create(**flags: Any) -> None:
    """Create every topic (inputs, repartition, outputs, dead letters) as planned: replicas,
    min.insync.replicas, retention, compaction; idempotent. Prints the plan."""
    from scoring import longest_window_days
    from streams.plumbing.topics import PlanError, ensure_planned

    settings = settings_or_exit(flags, ToolSettings, TOOL_ENVIRONMENT)
    check_kafka_or_exit(settings)
    rules = load_rules_or_exit(settings.rules_path)
    try:
        for spec, created in ensure_planned(settings, longest_window_days(rules)):
            configs = ", ".join(f"{k}={v}" for k, v in spec.configs.items())
            click.echo(f"{spec.name}: {'created' if created else 'exists'} "
                       f"(partitions {spec.partitions}, replicas {spec.replication}, {configs})")
    except PlanError as e:
        fail(str(e))


@topics.command("check")
@connection_options
@_PARTITIONS
@rules_option
@click.option("--apply", is_flag=True, help="Set the configs that differ to the plan's.")
def topics_check(apply: bool, **flags: Any) -> None:
    """Report topics whose partitions, replicas or configs differ from the plan; exit 1 when
    any does (after --apply: when any still does)."""
    from scoring import longest_window_days
    from streams.plumbing.kafka_access import kafka_access
    from streams.plumbing.topics import PlanError, check_plan, planned

    settings = settings_or_exit(flags, ToolSettings, TOOL_ENVIRONMENT)
    check_kafka_or_exit(settings)
    rules = load_rules_or_exit(settings.rules_path)
    try:
        plan = planned(settings, longest_window_days(rules))
    except PlanError as e:
        fail(str(e))
    drifts = check_plan(kafka_access(settings), plan, apply=apply)
    left = [d for d in drifts if not apply or d.what in ("missing", "partitions", "replication")]
    for d in drifts:
        click.echo(f"{d}{' (applied)' if d not in left else ''}")
    if not drifts:
        click.echo(f"{len(plan)} topics as planned")
    sys.exit(1 if left else 0)
