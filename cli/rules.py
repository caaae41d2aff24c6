"""`leadtemp rules check | show | diff`: the rules file, and what a change of it would do."""

from __future__ import annotations

import click
import orjson
from rich.console import Console

from cli.options import err, load_rules_or_exit, parse_time_option, settings_or_exit
from scoring import rules_as_yaml
from streams.plumbing.clock import now_ms
from toolkit.settings import RULES_ENVIRONMENT, RulesSettings


def rules_in_use(path: str | None) -> str | None:
    """`path`, else $LEADTEMP_RULES (None: the built-in rules)."""
    return settings_or_exit({"rules_path": path}, RulesSettings, RULES_ENVIRONMENT).rules_path


@click.group()
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
    """Print the effective rules (defaults filled in) as YAML [LEADTEMP_RULES]."""
    click.echo(rules_as_yaml(load_rules_or_exit(rules_in_use(path))), nl=False)


@rules.command("diff")
@click.argument("candidate", type=click.Path(dir_okay=False))
@click.option(
    "--events",
    "events_path",
    required=True,
    type=click.Path(allow_dash=True, dir_okay=False, exists=True),
    help="Events to replay under both rule sets (JSONL, '-' for stdin).",
)
@click.option(
    "--against",
    "against_path",
    type=click.Path(dir_okay=False),
    help="The rules in use [LEADTEMP_RULES; default: the built-in rules].",
)
@click.option("--until", help="Apply decay up to this time (RFC 3339) before comparing.")
@click.option("--now", help="The processor's clock for the 5-minute future limit (RFC 3339).")
@click.option("--show", type=int, default=20, show_default=True, help="Leads listed.")
@click.option("--json", "as_json", is_flag=True, help="The whole comparison as JSON.")
def rules_diff(
    candidate: str,
    events_path: str,
    against_path: str | None,
    until: str | None,
    now: str | None,
    show: int,
    as_json: bool,
) -> None:
    """What CANDIDATE would change: replay the events under it and under the rules in use,
    then compare temperatures, alerts and when leads first became hot."""
    from toolkit.replay_file import rules_diff_of_path
    from toolkit.views.rules_diff import rules_diff_tables

    after = load_rules_or_exit(candidate)
    before = load_rules_or_exit(rules_in_use(against_path))
    until_ms = parse_time_option(until, "--until")
    clock = parse_time_option(now, "--now")
    diff = rules_diff_of_path(before, after, events_path,
                              clock if clock is not None else now_ms(), until_ms, err)  # fmt: skip
    record = diff.as_record()
    if as_json:
        click.echo(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())
    else:
        Console().print(rules_diff_tables(record, show))
