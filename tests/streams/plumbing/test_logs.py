"""Log lines as text or JSON, the same keys in every process; repeated client errors kept to one
line per interval."""

from __future__ import annotations

import itertools
import logging
import logging.config
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.plumbing.logs import (
    KAFKA_CLIENT_LOGGERS,
    LOG_KEYS,
    MAX_KINDS,
    RepeatsFilter,
    logging_config,
    quiet_repeats,
)
from tests.alerts.providers import WEBHOOK_PATH, Providers
from tests.conftest import Services
from tests.live import Worker, channel_topic, http_json, outputs, produce, run, wait_for

_loggers = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def logged(clock: Clock) -> tuple[logging.Logger, list[str], RepeatsFilter]:
    """A logger (registered, as the clients' are: flush finds it by name) whose lines are
    collected, behind a RepeatsFilter on `clock`."""
    lines: list[str] = []
    logger = logging.getLogger(f"leadtemp.test.probe.{next(_loggers)}")
    logger.propagate = False
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    repeats = RepeatsFilter(interval_s=10, clock=clock)
    logger.addFilter(repeats)
    return logger, lines, repeats


def test_the_first_message_of_a_kind_is_logged_at_once() -> None:
    logger, lines, _ = logged(Clock())
    logger.error("Unable connect to node with id %s", 1)
    assert lines == ["Unable connect to node with id 1"]


def test_repeats_within_the_interval_are_held_back() -> None:
    clock = Clock()
    logger, lines, _ = logged(clock)
    for _ in range(50):
        logger.error("Unable connect to node with id %s", 1)
        clock.now += 0.1
    assert lines == ["Unable connect to node with id 1"]


def test_the_next_line_after_the_interval_counts_what_was_held_back() -> None:
    clock = Clock()
    logger, lines, _ = logged(clock)
    for _ in range(21):  # 0 s, 0.5 s ... 10 s
        logger.error("Unable connect to node with id %s", 1)
        clock.now += 0.5
    assert lines == ["Unable connect to node with id 1",
                     "Unable connect to node with id 1 (19 more like this held back)"]  # fmt: skip


def test_messages_of_other_kinds_are_not_held_back_by_a_repeat() -> None:
    logger, lines, _ = logged(Clock())
    logger.error("Unable connect to node with id %s", 1)
    logger.error("Unable to update metadata from %s", [1])
    assert len(lines) == 2


def test_the_loggers_aiokafkas_clients_log_to_are_the_ones_quieted() -> None:
    import aiokafka.client
    import aiokafka.conn
    import aiokafka.consumer.fetcher
    import aiokafka.consumer.group_coordinator
    import aiokafka.producer.sender

    repeats = quiet_repeats()
    try:
        for module in (aiokafka.client, aiokafka.conn, aiokafka.consumer.fetcher,
                       aiokafka.consumer.group_coordinator, aiokafka.producer.sender):  # fmt: skip
            assert repeats in module.log.filters, module.__name__
    finally:
        for name in KAFKA_CLIENT_LOGGERS:
            logging.getLogger(name).removeFilter(repeats)


def test_the_kinds_remembered_are_bounded() -> None:
    repeats = RepeatsFilter(interval_s=10, clock=Clock())
    for i in range(5000):
        repeats.filter(logging.LogRecord("probe", logging.ERROR, "", 0, f"message {i}", (), None))
    assert len(repeats._last) <= MAX_KINDS


def test_what_is_held_back_is_logged_once_the_interval_is_over_with_no_repeat_coming() -> None:
    clock = Clock()
    logger, lines, repeats = logged(clock)
    for node in range(1, 5):  # the outage: the first line passes, 3 are held back
        logger.error("Unable connect to node with id %s", node)
        clock.now += 1
    repeats.flush()  # within the interval: nothing yet
    clock.now += 10
    repeats.flush()
    repeats.flush()  # shown once
    assert lines == ["Unable connect to node with id 1",
                     "Unable connect to node with id 4 (2 more like this held back)"]  # fmt: skip


def test_a_single_held_back_message_is_logged_as_it_was() -> None:
    clock = Clock()
    logger, lines, repeats = logged(clock)
    logger.error("Unable to update metadata from %s", [1])
    logger.error("Unable to update metadata from %s", [2])
    clock.now += 10
    repeats.flush()
    assert lines == ["Unable to update metadata from [1]", "Unable to update metadata from [2]"]


def formatted(
    capsys: pytest.CaptureFixture[str], log_format: str, emit: Callable[[logging.Logger], None]
) -> list[str]:
    """What a logger configured as `logging_config` configures the root writes, as lines."""
    name = f"leadtemp.test.format.{next(_loggers)}"
    config = logging_config(log_format, "info", "worker")
    config["loggers"] = {name: {**config.pop("root"), "propagate": False}}
    logging.config.dictConfig(config)  # on a logger of its own: the root stays pytest's
    capsys.readouterr()
    emit(logging.getLogger(name))
    return capsys.readouterr().err.splitlines()


def test_a_json_line_holds_the_same_keys_for_every_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [line] = formatted(capsys, "json", lambda log: log.warning("lag %d on %s", 3, "events.web"))
    record = orjson.loads(line)
    assert set(record) == set(LOG_KEYS)
    assert (record["level"], record["message"], record["process"]) == (
        "WARNING", "lag 3 on events.web", "worker")
    assert record["time"].endswith("+00:00")  # ISO 8601, UTC


def test_a_json_line_carries_an_exception_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def failing(log: logging.Logger) -> None:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            log.exception("batch failed")

    [line] = formatted(capsys, "json", failing)
    assert "ValueError: boom" in orjson.loads(line)["exc_info"]


def test_text_lines_say_time_level_logger_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    [line] = formatted(capsys, "text", lambda log: log.info("started"))
    assert " INFO leadtemp.test.format." in line and line.endswith(": started")


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return [orjson.loads(line) for line in lines]  # fails on any line that is not JSON


@pytest.mark.services
def test_with_json_logs_every_line_of_the_worker_and_the_notifier_is_json_with_the_same_keys(
    services: Services, topic_prefix: str, tmp_path: Path, examples: Path, providers: Providers
) -> None:
    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_LOG_FORMAT="json")
    # To Slack: without a routing file alerts are shown on stdout as panels, for people (logs
    # go to stderr).
    routes = tmp_path / "routes.yaml"
    routes.write_text("destinations:\n  slack: {type: slack_webhook, webhook_url: {env: "
                      "SLACK_WEBHOOK_URL}}\ndefault: [slack]\n")  # fmt: skip
    notifier = Worker(services, topic_prefix, tmp_path, command="notify",
                      LEADTEMP_LOG_FORMAT="json", LEADTEMP_ROUTES=str(routes),
                      SLACK_WEBHOOK_URL=providers.url + WEBHOOK_PATH)  # fmt: skip
    try:
        worker.start()
        notifier.start()
        lines = (examples / "personas.jsonl").read_bytes().splitlines()
        run(produce(services.kafka_bootstrap, [(channel_topic(topic_prefix, line), None, line)
                                               for line in lines]))  # fmt: skip
        wait_for(lambda: outputs(services.kafka_bootstrap, topic_prefix)["events.deadletter"],
                 90, "the worker to dead-letter the bad example")  # fmt: skip
        wait_for(lambda: http_json(notifier.metrics_ports[0], "/readyz")[0] == 200, 60,
                 "the notifier ready")  # fmt: skip
    finally:
        worker.stop_all()
        notifier.stop_all()
    for name, process in (("worker-0.log", "worker"), ("notify-0.log", "notifier")):
        records = json_lines(tmp_path / name)
        assert len(records) >= 3
        assert all(set(r) - {"exc_info"} == set(LOG_KEYS) for r in records)
        assert {r["process"] for r in records} == {process}


@pytest.mark.services
def test_with_json_logs_a_start_up_failure_is_a_json_line_too(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    worker = Worker(services, topic_prefix, tmp_path, LEADTEMP_LOG_FORMAT="json",
                    LEADTEMP_INPUT_RETENTION_DAYS="1")  # fmt: skip
    assert worker.start().wait(timeout=60) == 2
    [*_, last] = json_lines(tmp_path / "worker-0.log")
    assert last["level"] == "CRITICAL" and "input_retention_days" in last["message"]


def test_with_json_logs_a_bad_routing_file_is_a_json_line(
    services: Services, topic_prefix: str, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("destinations:\n  hook: {type: webhook, url: 'http://127.0.0.1:1/'}\n")
    notifier = Worker(services, topic_prefix, tmp_path, command="notify",
                      LEADTEMP_LOG_FORMAT="json", LEADTEMP_ROUTES=str(routes))  # fmt: skip
    assert notifier.start().wait(timeout=60) == 2
    [last] = json_lines(tmp_path / "notify-0.log")
    assert last["process"] == "notifier" and "signing_secret: required" in last["message"]
