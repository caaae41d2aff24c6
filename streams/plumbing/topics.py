"""Creating the topics leadtemp reads and writes (idempotent)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from scoring import (
    ACCOUNTS_TEMPERATURE,
    ALERTS_DEADLETTER,
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
    EVENTS_DEADLETTER,
    INPUT_TOPICS,
    LEADS_FORGOTTEN,
    LEADS_TEMPERATURE,
    OUTPUT_TOPICS,
    REPARTITION_TOPIC,
    RETENTION_MARGIN_DAYS,
)
from streams.plumbing.kafka_access import KafkaAccess, kafka_access
from streams.plumbing.settings import Connections


def all_topics(settings: Connections) -> list[str]:
    """Every topic of a deployment: inputs, the repartition topic, outputs, dead letters."""
    return [
        settings.topic(t)
        for t in (*INPUT_TOPICS, REPARTITION_TOPIC, *OUTPUT_TOPICS, LEADS_FORGOTTEN,
                  EVENTS_DEADLETTER, ALERTS_DEADLETTER)
    ]  # fmt: skip


def ensure_topics(
    kafka: KafkaAccess, names: list[str], partitions: int, timeout: float = 60.0
) -> list[str]:
    """Create the topics that do not exist yet, one replica each and the broker's default
    configs (for tests and benchmarks; a deployment's are `topic_plan`'s), and wait until
    the broker serves them all. Returns the names created."""
    return create_planned(kafka, [TopicSpec(n, partitions, 1, {}) for n in names], timeout)


def _admin(kafka: KafkaAccess) -> KafkaAdminClient:
    return KafkaAdminClient(**kafka.client_options(), request_timeout_ms=30_000)


def _all_served(admin: KafkaAdminClient, names: list[str]) -> bool:
    """Every topic exists, with leaders for all its partitions."""
    try:
        described = admin.describe_topics(names)
    except KafkaError:
        return False
    return len(described) == len(names) and all(
        t["error_code"] == 0
        and t["partitions"]
        and all(p["leader_id"] >= 0 for p in t["partitions"])
        for t in described
    )


def partition_count(kafka: KafkaAccess, name: str) -> int:
    """How many partitions a topic has (it may predate the partitions setting)."""
    return partition_counts(kafka, [name])[name]


def partition_counts(kafka: KafkaAccess, names: list[str]) -> dict[str, int]:
    """How many partitions each of the topics that exist has."""
    admin = _admin(kafka)
    try:
        existing = set(admin.list_topics())
        # One topic a request: what names a description changed between kafka-python 2 and 3.
        return {n: len(admin.describe_topics([n])[0]["partitions"]) for n in names
                if n in existing}  # fmt: skip
    finally:
        admin.close()


def ensure_planned(
    settings: Connections, longest_window_days: float
) -> list[tuple[TopicSpec, bool]]:
    """Every topic of the deployment as `topic_plan` has it, created where missing; each with
    whether it was created now. PlanError when the settings ask for too short a retention."""
    plan = planned(settings, longest_window_days)
    created = create_planned(kafka_access(settings), plan)
    return [(spec, spec.name in created) for spec in plan]


def planned(settings: Connections, longest_window_days: float) -> list[TopicSpec]:
    """`topic_plan` for the cluster `settings` name."""
    brokers = broker_count(kafka_access(settings))
    return topic_plan(settings, brokers, longest_window_days)


# ---------------------------------------------------------------- the plan

DAY_MS = 86_400_000
# The re-keyed topic is a copy of the inputs: its events matter until applied (a worker down
# longer than this loses what it had not applied; LeadtempWorkerDown fires within minutes).
REPARTITION_RETENTION_DAYS = 7
ALERT_RETENTION_DAYS = 14  # the notifier may be down this long without losing an alert
DEADLETTER_RETENTION_DAYS = 30


class PlanError(ValueError):
    """The settings ask for topics that would lose what leadtemp needs (names the setting)."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    configs: dict[str, str]


def topic_plan(settings: Connections, brokers: int, longest_window_days: float) -> list[TopicSpec]:
    """Every topic of a deployment as production needs it. `brokers`: how many the cluster
    has; `longest_window_days`: the rules' (scoring.longest_window_days)."""
    replication = min(settings.replication_factor, brokers)
    in_sync = min(settings.min_insync_replicas, max(1, replication - 1))
    if settings.input_retention_days is None:
        input_retention = -1
    elif settings.input_retention_days < longest_window_days + RETENTION_MARGIN_DAYS:
        raise PlanError(
            f"setting input_retention_days (LEADTEMP_INPUT_RETENTION_DAYS): "
            f"{settings.input_retention_days:g} days is less than the rules' longest window "
            f"({longest_window_days:g} days) plus {RETENTION_MARGIN_DAYS}: a replay of the input "
            "topics would miss history the temperatures depend on"
        )
    else:
        input_retention = int(settings.input_retention_days * DAY_MS)

    def spec(name: str, **configs: str | int) -> TopicSpec:
        return TopicSpec(settings.topic(name), settings.partitions, replication,
                         {"min.insync.replicas": str(in_sync),
                          **{k.replace("_", "."): str(v) for k, v in configs.items()}})  # fmt: skip

    return [
        *(spec(t, retention_ms=input_retention, cleanup_policy="delete") for t in INPUT_TOPICS),
        spec(REPARTITION_TOPIC, retention_ms=REPARTITION_RETENTION_DAYS * DAY_MS,
             cleanup_policy="delete"),
        # The latest temperature of each lead and account, by key, kept forever; the history
        # of changes is what a replay gives.
        *(spec(t, cleanup_policy="compact") for t in (LEADS_TEMPERATURE, ACCOUNTS_TEMPERATURE)),
        # Which leads were forgotten on request, the latest request per lead, kept forever for
        # the systems downstream that must forget them too.
        spec(LEADS_FORGOTTEN, cleanup_policy="compact"),
        *(spec(t, retention_ms=ALERT_RETENTION_DAYS * DAY_MS, cleanup_policy="delete")
          for t in (ALERTS_HOT_LEAD, ALERTS_HOT_ACCOUNT)),
        *(spec(t, retention_ms=DEADLETTER_RETENTION_DAYS * DAY_MS, cleanup_policy="delete")
          for t in (EVENTS_DEADLETTER, ALERTS_DEADLETTER)),
    ]  # fmt: skip


def group_members(kafka: KafkaAccess, groups: list[str]) -> dict[str, int]:
    """How many members each consumer group has now (0 for one that is empty or unknown)."""
    admin = _admin(kafka)
    try:
        described = admin.describe_groups(groups)
        return {g: len((described.get(g) or {}).get("members") or []) for g in groups}
    finally:
        admin.close()


def broker_count(kafka: KafkaAccess) -> int:
    admin = _admin(kafka)
    try:
        return len(admin.describe_cluster()["brokers"])
    finally:
        admin.close()


def create_planned(kafka: KafkaAccess, plan: list[TopicSpec], timeout: float = 60.0) -> list[str]:
    """Create the planned topics that do not exist yet (existing ones are left as they are:
    `check_plan` tells how they differ) and wait until the broker serves them all (a consumer
    group that joins before a new topic is in its metadata is not assigned it until its
    metadata next expires, minutes later). Returns the names created."""
    admin = _admin(kafka)
    try:
        existing = set(admin.list_topics())
        missing = [s for s in plan if s.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was quicker
                admin.create_topics([
                    NewTopic(s.name, num_partitions=s.partitions,
                             replication_factor=s.replication, topic_configs=s.configs)
                    for s in missing])  # fmt: skip
        deadline = time.monotonic() + timeout
        names = [s.name for s in plan]
        while not _all_served(admin, names):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics not served after {timeout:.0f}s: {', '.join(names)}")
            time.sleep(0.2)
        return [s.name for s in missing]
    finally:
        admin.close()


@dataclass(frozen=True)
class Drift:
    topic: str
    what: str  # "missing", "partitions", "replication" or a config key
    found: str
    planned: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.what} is {self.found}, planned {self.planned}"


def check_plan(kafka: KafkaAccess, plan: list[TopicSpec], apply: bool = False) -> list[Drift]:
    """How the topics differ from the plan; with `apply`, the configs that differ are set to
    the plan's (partitions and replicas are not changed: that moves data, and fewer
    partitions than planned is refused by Kafka anyway)."""
    admin = _admin(kafka)
    try:
        existing = set(admin.list_topics())
        drifts: list[Drift] = []
        present = [s for s in plan if s.name in existing]
        drifts += [Drift(s.name, "missing", "absent", "present") for s in plan
                   if s.name not in existing]  # fmt: skip
        for s in present:
            [described] = admin.describe_topics([s.name])
            partitions = described["partitions"]
            if len(partitions) != s.partitions:
                drifts.append(Drift(s.name, "partitions", str(len(partitions)), str(s.partitions)))
            replicas = min(len(p["replica_nodes"]) for p in partitions)
            if replicas != s.replication:
                drifts.append(Drift(s.name, "replication", str(replicas), str(s.replication)))
        configs = _configs(admin, [s.name for s in present])
        changes: dict[str, dict[str, str]] = {}
        for s in present:
            for key, want in s.configs.items():
                if (found := configs.get(s.name, {}).get(key)) != want:
                    drifts.append(Drift(s.name, key, str(found), want))
                    changes.setdefault(s.name, {})[key] = want
        if apply and changes:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=c)
                                 for name, c in changes.items()])  # fmt: skip
        return drifts
    finally:
        admin.close()


def _configs(admin: KafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """Every config value of each topic (defaults included)."""
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    described = admin.describe_configs(resources, config_filter="all")
    by_topic = next(iter(described.values())) if described else {}
    return {name: {k: str(v.get("value")) for k, v in entries.items()}
            for name, entries in by_topic.items()}  # fmt: skip
