"""What several commands share: their options, how they read their settings and files, and how
they stop with a message (`error: …` on stderr) and an exit code."""

from __future__ import annotations

import logging
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console

from scoring import Rules, RulesError, ms_from_rfc3339, rules_from_yaml
from streams.plumbing.settings import Connections, SettingsError, settings_from

if TYPE_CHECKING:
    from alerts.routing import Routing

err = Console(stderr=True)
M = TypeVar("M", bound=BaseModel)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: …` on stderr, as is (no markup, no wrapping), and exit with `code`; a
    process whose logs are JSON lines logs it as one."""
    from streams.plumbing.logs import logs_are_json

    if logs_are_json():
        logging.getLogger("leadtemp").critical("error: %s", message)
    else:
        err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def connection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--brokers, how to connect to them, --redis-url, --topic-prefix, --redis-prefix: shared by
    every live command. Passwords have no flag (a command line is seen by every user of the
    machine): they come from the environment or a file (`…_PASSWORD_FILE`)."""
    options = [
        click.option("--brokers", "kafka_bootstrap_servers",
                     help="Kafka bootstrap servers [KAFKA_BOOTSTRAP_SERVERS]."),
        click.option("--kafka-security-protocol",
                     type=click.Choice(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]),
                     help="[LEADTEMP_KAFKA_SECURITY_PROTOCOL; default PLAINTEXT]."),
        click.option("--kafka-sasl-mechanism",
                     type=click.Choice(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
                     help="[LEADTEMP_KAFKA_SASL_MECHANISM; default PLAIN]."),
        click.option("--kafka-username", help="SASL user [LEADTEMP_KAFKA_USERNAME]; the "
                     "password: LEADTEMP_KAFKA_PASSWORD(_FILE)."),
        click.option("--kafka-ca-file", help="CA of the brokers' certificates (PEM) "
                     "[LEADTEMP_KAFKA_CA_FILE]."),
        click.option("--kafka-cert-file", help="Client certificate (PEM) "
                     "[LEADTEMP_KAFKA_CERT_FILE]."),
        click.option("--kafka-key-file", help="Its key (PEM) [LEADTEMP_KAFKA_KEY_FILE]."),
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


# --rules, for the commands that score or plan by the rules (replay has its own: a path checked).
rules_option = click.option("--rules", "rules_path", help="Rules file (YAML) [LEADTEMP_RULES].")


def settings_or_exit(flags: Mapping[str, Any], model: type[M], variables: Mapping[str, str]) -> M:
    """Settings from flags and the environment; exit 2 naming the bad setting."""
    try:
        return settings_from(flags, None, model, variables)
    except SettingsError as e:
        fail(str(e))


def check_kafka_or_exit(settings: Connections) -> None:
    """Exit 2, naming the setting, when the brokers refuse the credentials or their certificate
    is not trusted (streams/plumbing/kafka_access.py), rather than a client's bare "Unable to
    bootstrap"."""
    import asyncio

    from streams.plumbing.kafka_access import check_kafka, kafka_access

    try:
        asyncio.run(check_kafka(kafka_access(settings)))
    except SettingsError as e:
        fail(str(e))


def bind_or_exit(
    port: int, variable: str, host: str = "0.0.0.0", setting: str = "metrics_port"
) -> socket.socket | None:
    """The listening socket of a process's HTTP endpoints (None for port 0); exit 2 naming
    the setting when the port is taken or the address is not this machine's."""
    if not port:
        return None
    from streams.plumbing.http import bind

    try:
        return bind(port, host)
    except OSError as e:
        fail(f"setting {setting} ({variable}): {host}:{port}: {e.strerror or e}")


def load_rules_or_exit(path: str | None) -> Rules:
    """The rules from `path` (the defaults when None); exit 2 naming the bad key."""
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


def load_routing_or_exit(path: str | None) -> Routing:
    """The routing file at `path` (default: console only); exit 2 naming the bad key."""
    from alerts.routing import RoutingError, routing_from_file

    try:
        return routing_from_file(path)
    except RoutingError as e:
        fail(str(e))


def parse_time_option(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return ms_from_rfc3339(value)
    except ValueError as e:
        raise click.BadParameter(f"{value!r}: {e}", param_hint=name) from None


def stop_requested() -> Callable[[], bool]:
    """A flag that Ctrl-C (or SIGTERM) raises, for loops that finish their work cleanly."""
    raised: list[bool] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: raised.append(True))
    return lambda: bool(raised)
