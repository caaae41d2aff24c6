"""Repeated client errors kept to one line per interval."""

from __future__ import annotations

import itertools
import logging

from streams.plumbing.logs import KAFKA_CLIENT_LOGGERS, MAX_KINDS, RepeatsFilter, quiet_repeats

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
