"""The topic plan: replicas, in-sync replicas, retention and compaction as production needs
them, created on a real broker, and drift from it found and corrected."""

from __future__ import annotations

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from streams.plumbing.settings import Connections
from streams.plumbing.topics import (
    DAY_MS,
    PlanError,
    TopicSpec,
    check_plan,
    ensure_planned,
    topic_plan,
)
from tests.conftest import Services
from tests.live import wait_for

WINDOW_DAYS = 90.0  # the default rules' longest window


def by_name(plan: list[TopicSpec]) -> dict[str, TopicSpec]:
    return {s.name: s for s in plan}


def test_on_three_brokers_every_topic_has_three_replicas_and_needs_two_in_sync() -> None:
    plan = topic_plan(Connections(), brokers=3, longest_window_days=WINDOW_DAYS)
    assert {(s.replication, s.configs["min.insync.replicas"]) for s in plan} == {(3, "2")}


def test_replicas_are_capped_by_the_brokers_there_are() -> None:
    plan = topic_plan(Connections(), brokers=1, longest_window_days=WINDOW_DAYS)
    assert {(s.replication, s.configs["min.insync.replicas"]) for s in plan} == {(1, "1")}
    wide = topic_plan(Connections(replication_factor=5), brokers=3, longest_window_days=90)
    assert {s.replication for s in wide} == {3}


def test_input_topics_keep_events_forever_by_default() -> None:
    plan = by_name(topic_plan(Connections(), brokers=3, longest_window_days=WINDOW_DAYS))
    for name in ("events.email", "events.web", "events.webinar", "events.form"):
        assert plan[name].configs["retention.ms"] == "-1"


def test_an_input_retention_covering_the_longest_window_and_margin_is_used() -> None:
    settings = Connections(input_retention_days=120)
    plan = by_name(topic_plan(settings, brokers=3, longest_window_days=WINDOW_DAYS))
    assert plan["events.form"].configs["retention.ms"] == str(120 * DAY_MS)


def test_an_input_retention_shorter_than_the_rules_need_is_refused_naming_the_setting() -> None:
    with pytest.raises(PlanError, match=r"LEADTEMP_INPUT_RETENTION_DAYS.*60 days is less"):
        topic_plan(Connections(input_retention_days=60), brokers=3, longest_window_days=90)


def test_temperatures_are_compacted_and_alerts_and_dead_letters_expire() -> None:
    plan = by_name(topic_plan(Connections(), brokers=3, longest_window_days=WINDOW_DAYS))
    assert plan["leads.temperature"].configs["cleanup.policy"] == "compact"
    assert plan["accounts.temperature"].configs["cleanup.policy"] == "compact"
    assert plan["alerts.hot-lead"].configs["retention.ms"] == str(14 * DAY_MS)
    assert plan["events.deadletter"].configs["retention.ms"] == str(30 * DAY_MS)
    assert plan["leadtemp.events-by-lead"].configs["retention.ms"] == str(7 * DAY_MS)


def created(services: Services, prefix: str) -> tuple[Connections, list[tuple[TopicSpec, bool]]]:
    """The deployment's topics under `prefix`, created as planned on the real broker."""
    settings = Connections(kafka_bootstrap_servers=services.kafka_bootstrap, topic_prefix=prefix)
    return settings, ensure_planned(settings, WINDOW_DAYS)


@pytest.mark.services
def test_created_topics_match_the_plan_and_a_drifted_retention_is_found_and_corrected(
    services: Services, topic_prefix: str
) -> None:
    settings, planned = created(services, topic_prefix)
    assert all(was_created for _, was_created in planned)
    plan = [spec for spec, _ in planned]
    assert check_plan(services.kafka, plan) == []

    alerts = settings.topic("alerts.hot-lead")
    admin = KafkaAdminClient(bootstrap_servers=services.kafka_bootstrap)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, alerts,
                                            configs={"retention.ms": "3600000"})])  # fmt: skip
    finally:
        admin.close()
    # (A broker takes a moment to show a config it has changed.)
    [drift] = wait_for(lambda: check_plan(services.kafka, plan), 30, "the drift")
    assert (drift.topic, drift.what, drift.found) == (alerts, "retention.ms", "3600000")
    check_plan(services.kafka, plan, apply=True)
    wait_for(lambda: check_plan(services.kafka, plan) == [], 30, "the plan applied")


@pytest.mark.services
def test_a_topic_with_other_partitions_than_planned_is_reported(
    services: Services, topic_prefix: str
) -> None:
    plan = [spec for spec, _ in created(services, topic_prefix)[1]]
    wider = [TopicSpec(s.name, s.partitions + 2, s.replication, s.configs) for s in plan[:1]]
    [drift] = check_plan(services.kafka, wider, apply=True)
    assert (drift.what, drift.found, drift.planned) == ("partitions", "4", "6")
