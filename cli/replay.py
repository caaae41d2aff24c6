"""`leadtemp replay` and `leadtemp schema`: the engine over a file, and the contract's schemas."""

from __future__ import annotations

import click
import orjson

from cli.options import err, load_rules_or_exit, output_option, parse_time_option, settings_or_exit
from streams.plumbing.clock import now_ms
from toolkit.settings import RULES_ENVIRONMENT, RulesSettings


@click.command()
@click.argument(
    "input_path", metavar="INPUT", type=click.Path(allow_dash=True, dir_okay=False, exists=True)
)
@click.option("--until", help="Emit decay downgrades up to this time (RFC 3339) at the end.")
@click.option("--now", help="The processor's clock for the 5-minute future limit (RFC 3339).")
@output_option("records")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False),
              help="Rules file (YAML) [LEADTEMP_RULES].")  # fmt: skip
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
    from toolkit.replay_file import replay_path
    from toolkit.views.replay import summary_table

    settings = settings_or_exit({"rules_path": rules_path}, RulesSettings, RULES_ENVIRONMENT)
    until_ms = parse_time_option(until, "--until")
    clock = parse_time_option(now, "--now")
    rules = load_rules_or_exit(settings.rules_path)
    run = replay_path(input_path, output, rules, clock if clock is not None else now_ms(),
                      until_ms, err, quiet)  # fmt: skip
    if not quiet:
        err.print(summary_table(run))


@click.command()
@click.option("--outputs", is_flag=True, help="Print the output records' schema instead.")
def schema(outputs: bool) -> None:
    """Print the JSON Schema of the input events (or of the output records)."""
    from scoring import event_schema, output_schema

    printed = output_schema() if outputs else event_schema()
    click.echo(orjson.dumps(printed, option=orjson.OPT_INDENT_2).decode())
