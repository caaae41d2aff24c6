"""The `leadtemp` command line."""

from __future__ import annotations

import gc
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from scoring.rules import Rules, RulesError, rules_as_yaml, rules_from_yaml
from scoring.times import ms_from_rfc3339

if TYPE_CHECKING:
    from alerts.routing import Routing
    from scoring.replay import Replay

err = Console(stderr=True)
S = TypeVar("S")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: …` on stderr, as is (no markup, no wrapping), and exit with `code`."""
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


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
    from devstack.services import DevStack, ServiceError

    stack = DevStack.from_env()
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
    from devstack.services import DevStack, ServiceError

    stack = DevStack.from_env()
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
    from devstack.services import DevStack

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


def connection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--brokers, --redis-url, --topic-prefix, --redis-prefix: shared by every live command."""
    options = [
        click.option("--brokers", "kafka_bootstrap_servers",
                     help="Kafka bootstrap servers [KAFKA_BOOTSTRAP_SERVERS]."),
        click.option("--redis-url", help="Redis URL [REDIS_URL]."),
        click.option("--topic-prefix", help="Prefix of every topic name [LEADTEMP_TOPIC_PREFIX]."),
        click.option("--redis-prefix", help="Prefix of every Redis key [LEADTEMP_REDIS_PREFIX]."),
    ]  # fmt: skip
    for option in reversed(options):
        f = option(f)
    return f


def output_option(what: str) -> Callable[..., Any]:
    """--output/-o: a JSONL file, default stdout."""
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, allow_dash=True),
        default="-",
        help=f"Where to write the {what} (JSONL); default stdout.",
    )


@contextmanager
def output_sink(path: str) -> Iterator[IO[bytes]]:
    """Where a command writes: the file at `path`, or stdout for `-` (flushed, not closed)."""
    if path != "-":
        with open(path, "wb") as f:
            yield f
        return
    try:
        yield sys.stdout.buffer
    finally:
        sys.stdout.buffer.flush()


def settings_or_exit(
    flags: dict[str, Any], model: type[S] | None = None, variables: dict[str, str] | None = None
) -> S:
    """Settings from flags and the environment; exit 2 naming the bad setting."""
    from streams.settings import CONNECTION_ENVIRONMENT, Connections, SettingsError, settings_from

    try:
        return settings_from(  # type: ignore[no-any-return]
            flags,
            None,
            model or Connections,
            variables or CONNECTION_ENVIRONMENT,  # type: ignore[arg-type]
        )
    except SettingsError as e:
        fail(str(e))


def bind_or_exit(port: int, variable: str) -> socket.socket | None:
    """The listening socket of a process's HTTP endpoints (None for port 0); exit 2 naming
    the setting when the port is taken."""
    if not port:
        return None
    from streams.http import bind

    try:
        return bind(port)
    except OSError as e:
        fail(f"setting metrics_port ({variable}): port {port}: {e.strerror}")


@main.command()
@connection_options
@click.option("--rules", "rules_path", help="Rules file (YAML) [LEADTEMP_RULES].")
@click.option(
    "--partitions", type=int, help="Partitions of the topics it creates [LEADTEMP_PARTITIONS]."
)
@click.option("--batch-size", type=int, help="Events per scoring batch [LEADTEMP_BATCH_SIZE].")
@click.option(
    "--metrics-port",
    type=int,
    help="Port of /metrics, /healthz, /readyz, /leads/ID, /accounts/ID; 0 for none "
    "[LEADTEMP_METRICS_PORT].",
)
@click.option("--loglevel", default="info", show_default=True)
def worker(loglevel: str, **flags: Any) -> None:
    """Score events from Kafka live, with state in Redis."""
    from streams.app import build_app, service_worker
    from streams.plumbing.logs import quiet_repeats
    from streams.plumbing.topics import all_topics, ensure_topics, partition_count
    from streams.settings import ENVIRONMENT, REPARTITION_TOPIC, Settings

    settings = settings_or_exit(flags, Settings, ENVIRONMENT)
    rules_obj = load_rules_or_exit(settings.rules_path)
    http_socket = bind_or_exit(settings.metrics_port, "LEADTEMP_METRICS_PORT")
    ensure_topics(settings.kafka_bootstrap_servers, all_topics(settings), settings.partitions)
    # Ingest picks the repartition topic's partition itself: use the count it really has.
    by_lead = partition_count(settings.kafka_bootstrap_servers, settings.topic(REPARTITION_TOPIC))
    settings = settings.model_copy(update={"partitions": by_lead})
    app = build_app(settings, rules_obj, http_socket)
    tune_gc_for_service()
    repeats = quiet_repeats()

    @app.timer(interval=repeats.interval_s)
    async def flush_held_back_logs() -> None:
        repeats.flush()

    sys.argv = [sys.argv[0]]  # Faust's worker parses argv itself
    service_worker(app, loglevel).execute_from_commandline()


# --------------------------------------------------------------------------- notify


@main.command()
@click.option("--routes", "routes_path", help="Routing file (YAML) [LEADTEMP_ROUTES].")
@connection_options
@click.option(
    "--metrics-port",
    type=int,
    help="Port of /metrics, /healthz, /readyz; 0 for none [LEADTEMP_NOTIFIER_METRICS_PORT].",
)
@click.option("--loglevel", default="info", show_default=True)
def notify(loglevel: str, **flags: Any) -> None:
    """Deliver hot-lead and hot-account alerts to the routing file's destinations."""
    import asyncio
    import logging
    import signal

    from alerts.notifier import NOTIFIER_ENVIRONMENT, NotifierSettings, run
    from streams.plumbing.logs import flush_repeats_forever, quiet_repeats
    from streams.plumbing.topics import all_topics, ensure_topics

    settings = settings_or_exit(flags, NotifierSettings, NOTIFIER_ENVIRONMENT)
    routing = load_routing_or_exit(settings.routes_path)
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    repeats = quiet_repeats()
    http_socket = bind_or_exit(settings.metrics_port, "LEADTEMP_NOTIFIER_METRICS_PORT")
    ensure_topics(settings.kafka_bootstrap_servers, all_topics(settings), settings.partitions)

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        flushing = asyncio.create_task(flush_repeats_forever(repeats))
        try:
            await run(settings, routing, stop, http_socket)
        finally:
            flushing.cancel()

    asyncio.run(main_loop())


def load_routing_or_exit(path: str | None) -> Routing:
    """The routing file at `path` (default: console only); exit 2 naming the bad key."""
    from alerts.routing import RoutingError, routing_from_file

    try:
        return routing_from_file(path)
    except RoutingError as e:
        fail(str(e))


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


# --------------------------------------------------------------------------- demo


@main.command()
@click.option("--rate", type=float, default=20, show_default=True, help="Simulated events/s.")
@click.option("--leads", type=int, default=300, show_default=True)
@click.option("--accounts", type=int, default=60, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
def demo(rate: float, leads: int, accounts: int, seed: int) -> None:
    """Everything at once: Kafka, Redis, worker, notifier (console) and simulated traffic;
    shows temperature changes and alerts as they happen. Ctrl-C stops it all."""
    from devstack.demo import Demo
    from devstack.services import ServiceError, leadtemp_home

    root = Path(os.environ.get("LEADTEMP_DEV_DIR", leadtemp_home() / "dev")) / "demo"
    try:
        code = Demo(rate, leads, accounts, seed, root, Console(highlight=False)).run()
    except ServiceError as e:
        fail(str(e), 1)
    sys.exit(code)


# --------------------------------------------------------------------------- operator's toolkit


def stop_requested() -> Callable[[], bool]:
    """A flag that Ctrl-C (or SIGTERM) raises, for loops that finish their work cleanly."""
    import signal

    raised: list[bool] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: raised.append(True))
    return lambda: bool(raised)


@main.group()
def topics() -> None:
    """Manage the topics leadtemp reads and writes."""


@topics.command("create")
@connection_options
@click.option("--partitions", type=int, help="Partitions of each new topic [LEADTEMP_PARTITIONS].")
def topics_create(**flags: Any) -> None:
    """Create every topic (inputs, repartition, outputs, dead letters); idempotent."""
    from streams.plumbing.topics import all_topics, ensure_topics

    settings = settings_or_exit(flags)
    names = all_topics(settings)
    created = ensure_topics(settings.kafka_bootstrap_servers, names, settings.partitions)
    for name in names:
        click.echo(f"{name}: {'created' if name in created else 'exists'}")


@main.command()
@click.argument("path", type=click.Path(allow_dash=True, dir_okay=False, exists=True))
@connection_options
@click.option("--rate", type=float, help="At most this many events per second.")
def produce(path: str, rate: float | None, **flags: Any) -> None:
    """Publish an events file (JSONL, `-` for stdin) to the input topics by channel, keyed by
    lead id."""
    import asyncio

    from toolkit.produce import publish

    settings = settings_or_exit(flags)
    src = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    with src:
        lines = (line.rstrip(b"\r\n") for line in src if line.strip())
        sent = asyncio.run(publish(settings.kafka_bootstrap_servers, lines,
                                   settings.topic_prefix, rate))  # fmt: skip
    err.print(f"published {sent.events:,} events in {sent.seconds:.1f}s ({sent.rate:,.0f}/s)")


@main.command()
@connection_options
@click.option("--rate", type=float, default=20, show_default=True, help="Events per second.")
@click.option("--leads", type=int, default=500, show_default=True)
@click.option("--accounts", type=int, default=100, show_default=True)
@click.option("--duration", type=float, help="Seconds to run (default: until Ctrl-C).")
@click.option("--count", type=int, help="Stop after this many events.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--start", help="Time of the first event (RFC 3339; default: now).")
@click.option("--output", "-o", type=click.Path(allow_dash=True, dir_okay=False),
              help="Write the events as JSONL here instead of publishing them.")  # fmt: skip
def simulate(rate: float, leads: int, accounts: int, duration: float | None, count: int | None,
             seed: int, start: str | None, output: str | None, **flags: Any) -> None:  # fmt: skip
    """Synthetic traffic: cold readers, evaluators, buyers, buying committees, mail-privacy
    bots, disqualified leads, duplicates and a trickle of malformed messages."""
    import asyncio
    import itertools

    from toolkit.produce import publish
    from toolkit.simulate import simulated_events

    if rate <= 0 or leads <= 0 or accounts <= 0:
        fail("--rate, --leads and --accounts must be positive")
    start_ms = parse_time_option(start, "--start") or int(time.time() * 1000)
    events: Iterable[bytes] = simulated_events(leads, accounts, seed, start_ms, rate)
    if count is not None:
        events = itertools.islice(events, count)
    if output is not None:
        if count is None and duration is None:
            fail("--output needs --count or --duration")
        n = count if count is not None else int(rate * (duration or 0))
        with output_sink(output) as dst:
            for line in itertools.islice(events, n):
                dst.write(line + b"\n")
        return
    settings = settings_or_exit(flags)
    deadline = None if duration is None else time.monotonic() + duration
    stopping = stop_requested()
    err.print(f"simulating {leads:,} leads in {accounts:,} accounts at {rate:g} events/s "
              f"(seed {seed}); Ctrl-C stops")  # fmt: skip
    sent = asyncio.run(publish(
        settings.kafka_bootstrap_servers, events, settings.topic_prefix, rate,
        until=lambda: stopping() or (deadline is not None and time.monotonic() >= deadline),
    ))  # fmt: skip
    err.print(f"published {sent.events:,} events in {sent.seconds:.1f}s: "
              f"{sent.rate:,.1f} events/s (asked {rate:g})")  # fmt: skip


@main.command()
@connection_options
@click.option("--topic", "topic_names", multiple=True,
              help="An output topic to follow (repeatable; default: all outputs and dead "
              "letters).")  # fmt: skip
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record.")
def tail(topic_names: tuple[str, ...], from_beginning: bool, **flags: Any) -> None:
    """Follow the output topics in readable, coloured form (Ctrl-C stops)."""
    import asyncio

    from toolkit.tail import TAILED, follow, line_of

    settings = settings_or_exit(flags)
    out = Console(highlight=False)
    stopping = stop_requested()
    asyncio.run(follow(settings.kafka_bootstrap_servers, list(topic_names or TAILED),
                       lambda t, v: out.print(line_of(t, v)), from_beginning,
                       stopping, settings.topic_prefix))  # fmt: skip


@main.command()
@connection_options
@click.option("--since", help="Only events that arrived from this time on (RFC 3339).")
@click.option("--before", help="Only events that arrived before this time (RFC 3339).")
@output_option("events")
def export(since: str | None, before: str | None, output: str, **flags: Any) -> None:
    """Write the events the input topics hold (up to now) as JSONL, in arrival order, for
    `leadtemp replay` and `leadtemp rules diff`."""
    import asyncio

    from aiokafka.errors import KafkaConnectionError
    from kafka.errors import KafkaError

    from streams.settings import INPUT_TOPICS
    from toolkit.export import export_events

    settings = settings_or_exit(flags)
    since_ms = parse_time_option(since, "--since")
    before_ms = parse_time_option(before, "--before")
    try:
        with output_sink(output) as dst:
            counts = asyncio.run(export_events(settings.kafka_bootstrap_servers,
                                               [settings.topic(t) for t in INPUT_TOPICS],
                                               dst.write, since_ms, before_ms))  # fmt: skip
    except (KafkaConnectionError, KafkaError) as e:  # aiokafka's / kafka-python's (admin)
        fail(f"Kafka at {settings.kafka_bootstrap_servers} does not answer: {e}")
    by_topic = "".join(
        f", {t.removeprefix(settings.topic_prefix)} {n:,}" for t, n in sorted(counts.items())
    )
    err.print(f"exported {sum(counts.values()):,} events{by_topic}")


def explain_or_exit(kind: str, key: str, flags: dict[str, Any], as_json: bool) -> None:
    """`leadtemp lead` / `leadtemp account`: the explained state from Redis."""
    import asyncio

    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from scoring.model import Model
    from streams.http import report_of
    from streams.store import RedisState

    rules_path = flags.pop("rules_path", None)
    settings = settings_or_exit(flags)
    model = Model(load_rules_or_exit(rules_path))

    async def fetch() -> dict[str, Any] | None:
        redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        try:
            return await report_of(RedisState(redis, settings.redis_prefix), model, kind, key)
        finally:
            await redis.aclose()

    try:
        report = asyncio.run(fetch())
    except (RedisError, OSError) as e:
        fail(f"Redis at {settings.redis_url}: {e}", 3)
    if report is None:
        err.print(f"{kind} {key!r} not found (no state under prefix {settings.redis_prefix!r})",
                  markup=False)  # fmt: skip
        sys.exit(1)
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    from toolkit.views.explain import account_table, lead_table

    Console().print(lead_table(report) if kind == "lead" else account_table(report))


@main.command()
@click.argument("lead_id")
@connection_options
@click.option("--rules", "rules_path", help="Rules file (YAML) [LEADTEMP_RULES].")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
def lead(lead_id: str, as_json: bool, **flags: Any) -> None:
    """Why a lead is where it is: scores, BANT, disqualifiers, top signals, next drop."""
    explain_or_exit("lead", lead_id, flags, as_json)


@main.command()
@click.argument("account_id")
@connection_options
@click.option("--rules", "rules_path", help="Rules file (YAML) [LEADTEMP_RULES].")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts.")
def account(account_id: str, as_json: bool, **flags: Any) -> None:
    """An account's temperature, engaged stakeholders, hot and warm leads."""
    explain_or_exit("account", account_id, flags, as_json)


# --------------------------------------------------------------------------- rules & schema


def load_rules_or_exit(path: str | None) -> Rules:
    """The rules from `path` (or $LEADTEMP_RULES, or the defaults); exit 2 naming the bad key."""
    path = path or os.environ.get("LEADTEMP_RULES")
    if not path:
        return Rules()
    try:
        text = Path(path).read_text()
    except OSError as e:
        fail(f"rules file {path}: {e.strerror}")
    try:
        return rules_from_yaml(text, source=path)
    except RulesError as e:
        fail(str(e))


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
    import shutil
    import tempfile

    from toolkit.replay_file import rules_diff_of_file
    from toolkit.views.rules_diff import rules_diff_tables

    after = load_rules_or_exit(candidate)
    before = load_rules_or_exit(against_path)
    until_ms = parse_time_option(until, "--until")
    now_ms = parse_time_option(now, "--now")
    with tempfile.TemporaryDirectory(prefix="leadtemp-diff-") as spool:
        if events_path == "-":  # both replays read it, side by side
            events_path = os.path.join(spool, "events.jsonl")
            with open(events_path, "wb") as f:
                shutil.copyfileobj(sys.stdin.buffer, f)
        with replay_source(events_path) as (src, progress):
            diff = rules_diff_of_file(
                before, after, src, now_ms if now_ms is not None else int(time.time() * 1000),
                until_ms, progress,
            )  # fmt: skip
    record = diff.as_record()
    if as_json:
        click.echo(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())
    else:
        Console().print(rules_diff_tables(record, show))


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
@click.argument(
    "input_path", metavar="INPUT", type=click.Path(allow_dash=True, dir_okay=False, exists=True)
)
@click.option("--until", help="Emit decay downgrades up to this time (RFC 3339) at the end.")
@click.option("--now", help="The processor's clock for the 5-minute future limit (RFC 3339).")
@output_option("records")
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
    from toolkit.replay_file import replay_file

    until_ms = parse_time_option(until, "--until")
    now_ms = parse_time_option(now, "--now")
    engine = Engine(load_rules_or_exit(rules_path))
    run = Replay(engine, now_ms if now_ms is not None else int(time.time() * 1000))
    with output_sink(output) as dst, replay_source(input_path, quiet) as (src, progress):
        replay_file(run, src, dst, until_ms, progress)
    if not quiet:
        print_summary(run)


@contextmanager
def replay_source(path: str, quiet: bool = False) -> Iterator[tuple[IO[bytes], Callable[[], None]]]:
    """The events file (`-`: stdin) and what to call after each chunk: a progress bar on a
    terminal's stderr for a file, nothing otherwise."""
    src = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    size = None if path == "-" else os.path.getsize(path)
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

            def on_chunk() -> None:
                if show:
                    progress.update(task, completed=src.tell())

            yield src, on_chunk
    finally:
        if src is not sys.stdin.buffer:
            src.close()


def tune_gc_for_service() -> None:
    """Exempt what start-up built (modules, the app) from garbage collection and collect
    less often: a batch's objects die by reference counting, so frequent collections only
    rescan."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


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
