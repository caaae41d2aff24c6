"""`leadtemp forget` and `leadtemp rebuild`: operations on a deployment's state (toolkit/)."""

from __future__ import annotations

from typing import Any

import click

from cli.options import (
    check_kafka_or_exit,
    connection_options,
    err,
    fail,
    load_rules_or_exit,
    rules_option,
    settings_or_exit,
)
from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections


@click.command()
@click.argument("lead_id")
@connection_options
@click.option("--wait", "wait_s", type=float, default=60.0, show_default=True,
              help="Seconds to wait for a worker to confirm it.")  # fmt: skip
def forget(lead_id: str, wait_s: float, **flags: Any) -> None:
    """Forget a lead (privacy deletion): its state, visitor links, account membership and due
    time; a record on `leads.forgotten` confirms it. Exit 2 when no worker confirms in time
    (the request stays queued), 3 when Redis or Kafka does not answer."""
    from aiokafka.errors import KafkaError
    from redis.exceptions import RedisError

    from toolkit.forget import NothingDeployed, forget_lead

    settings = settings_or_exit(flags, Connections, CONNECTION_ENVIRONMENT)
    check_kafka_or_exit(settings)
    try:
        record = forget_lead(settings, lead_id, wait_s)
    except NothingDeployed as e:
        fail(str(e), 1)
    except TimeoutError as e:
        fail(str(e), 2)
    except (RedisError, OSError, KafkaError) as e:
        fail(f"Redis or Kafka does not answer: {e}", 3)
    held = "its state removed" if record["state_held"] else "no state was held"
    err.print(f"lead {lead_id!r} forgotten ({held}; request {record['request_id']})",
              markup=False)  # fmt: skip


@click.command()
@connection_options
@rules_option
@click.option("--replace", is_flag=True,
              help="Delete the workers' keys under the Redis prefix first (what a rebuild cut "
              "short left).")  # fmt: skip
def rebuild(replace: bool, **flags: Any) -> None:
    """Recompute the workers' state in Redis from the input topics after Redis lost it, with
    every worker stopped; publishes only the records the outputs do not hold yet. Exit 1 when
    it would not be safe (workers running, state in Redis), 3 when Redis or Kafka does not
    answer."""
    from aiokafka.errors import KafkaError
    from redis.exceptions import RedisError

    from streams.settings import ENVIRONMENT, Settings
    from toolkit.rebuild import RebuildRefused, rebuild_state

    settings = settings_or_exit(flags, Settings, ENVIRONMENT)
    rules = load_rules_or_exit(settings.rules_path)
    check_kafka_or_exit(settings)
    try:
        done = rebuild_state(settings, rules, replace)
    except RebuildRefused as e:
        fail(str(e), 1)
    except (RedisError, OSError, KafkaError) as e:
        fail(f"Redis or Kafka does not answer: {e}", 3)
    states = ", ".join(f"{n:,} {kind}s" for kind, n in sorted(done.states.items()))
    sent = ", ".join(f"{n:,} on {t}" for t, n in sorted(done.published.items())) or "none"
    err.print(f"rebuilt {states} from {done.events:,} events; records published: {sent} "
              f"({done.already_out:,} were out already)", markup=False)  # fmt: skip
