"""`leadtemp produce` and `leadtemp simulate`: events into the input topics (toolkit/)."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.options import (
    check_kafka_or_exit,
    connection_options,
    err,
    fail,
    parse_time_option,
    settings_or_exit,
    stop_requested,
)
from streams.plumbing.clock import now_ms
from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections
from toolkit.files import output_sink


@click.command()
@click.argument("path", type=click.Path(allow_dash=True, dir_okay=False, exists=True))
@connection_options
@click.option("--rate", type=float, help="At most this many events per second.")
def produce(path: str, rate: float | None, **flags: Any) -> None:
    """Publish an events file (JSONL, `-` for stdin) to the input topics by channel, keyed by
    lead id."""
    from toolkit.produce import publish_file

    settings = settings_or_exit(flags, Connections, CONNECTION_ENVIRONMENT)
    check_kafka_or_exit(settings)
    src = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    with src:
        sent = publish_file(settings, src, rate)
    err.print(f"published {sent.events:,} events in {sent.seconds:.1f}s ({sent.rate:,.0f}/s)")


@click.command()
@connection_options
@click.option("--rate", type=float, default=20, show_default=True, help="Events per second.")
@click.option("--leads", type=int, default=500, show_default=True)
@click.option("--accounts", type=int, default=100, show_default=True)
@click.option("--duration", type=float, help="Seconds to run (default: until Ctrl-C).")
@click.option("--count", type=int, help="Stop after this many events.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--start", help="Time of the first event (RFC 3339; default: now).")
@click.option("--output", "-o", type=click.Path(allow_dash=True, dir_okay=False),
              help="Write the events as JSONL here instead of publishing them.")
@click.option("--gateway", "gateway_url",
              help="Send the events through a `leadtemp gateway` at this URL "
                   "(http://host:9110) instead of to Kafka [token: LEADTEMP_GATEWAY_TOKEN].")
@click.option("--as-providers", is_flag=True,
              help="With --gateway: email events as SendGrid's signed webhook, page views as "
                   "Segment calls [LEADTEMP_SEGMENT_WRITE_KEY, "
                   "LEADTEMP_SENDGRID_SIGNING_KEY_FILE].")
def simulate(rate: float, leads: int, accounts: int, duration: float | None, count: int | None,
             seed: int, start: str | None, output: str | None, gateway_url: str | None,
             as_providers: bool, **flags: Any) -> None:  # fmt: skip
    """Synthetic traffic: cold readers, evaluators, buyers, buying committees, mail-privacy
    bots, disqualified leads, duplicates and a trickle of malformed messages."""
    from toolkit.simulate import publish_simulated, simulate_to_file

    if rate <= 0 or leads <= 0 or accounts <= 0:
        fail("--rate, --leads and --accounts must be positive")
    start_ms = parse_time_option(start, "--start") or now_ms()
    if output is not None:
        if count is None and duration is None:
            fail("--output needs --count or --duration")
        n = count if count is not None else int(rate * (duration or 0))
        with output_sink(output) as dst:
            simulate_to_file(dst, n, leads, accounts, seed, start_ms, rate)
        return
    stopping = stop_requested()
    if as_providers and gateway_url is None:
        fail("--as-providers needs --gateway")
    if gateway_url is not None:
        from toolkit.settings import SIMULATOR_ENVIRONMENT, SimulatorSettings

        through = settings_or_exit(flags, SimulatorSettings, SIMULATOR_ENVIRONMENT)
        token = through.gateway_token.get_secret_value() if through.gateway_token else None
        providers = None
        if as_providers:
            if through.segment_write_key is None or through.sendgrid_signing_key_file is None:
                fail("--as-providers needs LEADTEMP_SEGMENT_WRITE_KEY and "
                     "LEADTEMP_SENDGRID_SIGNING_KEY_FILE (what the gateway's sources trust)")
            providers = (through.segment_write_key.get_secret_value(),
                         through.sendgrid_signing_key_file)  # fmt: skip
        err.print(f"simulating {leads:,} leads in {accounts:,} accounts at {rate:g} events/s "
                  f"through the gateway at {gateway_url} (seed {seed}); Ctrl-C stops")  # fmt: skip
        sent = publish_simulated(through, leads, accounts, seed, start_ms, rate, count,
                                 duration, stopping, gateway_url, token, providers)  # fmt: skip
        err.print(f"sent {sent.events:,} events in {sent.seconds:.1f}s: "
                  f"{sent.rate:,.1f} events/s (asked {rate:g})")  # fmt: skip
        return
    settings = settings_or_exit(flags, Connections, CONNECTION_ENVIRONMENT)
    check_kafka_or_exit(settings)
    err.print(f"simulating {leads:,} leads in {accounts:,} accounts at {rate:g} events/s "
              f"(seed {seed}); Ctrl-C stops")  # fmt: skip
    sent = publish_simulated(settings, leads, accounts, seed, start_ms, rate, count, duration,
                             stopping)  # fmt: skip
    err.print(f"published {sent.events:,} events in {sent.seconds:.1f}s: "
              f"{sent.rate:,.1f} events/s (asked {rate:g})")  # fmt: skip
