"""A partition's lag, and whether it is stuck: holding messages without moving on."""

from __future__ import annotations

from streams.health import Progress

TP = ("events.email", 0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lag_is_what_was_written_and_not_processed() -> None:
    progress = Progress()
    progress.processed(TP, 10)
    progress.written(TP, 25)
    assert progress.lag(TP) == 15


def test_a_caught_up_partition_is_never_stalled() -> None:
    clock = Clock()
    progress = Progress(clock)
    progress.processed(TP, 10)
    progress.written(TP, 10)
    clock.now = 1_000
    assert progress.stalled_seconds(TP) == 0 and progress.stuck(60) == []


def test_a_partition_holding_messages_without_progress_is_stuck_after_the_threshold() -> None:
    clock = Clock()
    progress = Progress(clock)
    progress.processed(TP, 10)
    clock.now = 100  # caught up for a while, then messages arrive
    progress.written(TP, 12)
    clock.now = 159
    assert progress.stuck(60) == []
    clock.now = 161
    assert progress.stalled_seconds(TP) == 61 and progress.stuck(60) == [TP]


def test_progress_restarts_the_count() -> None:
    clock = Clock()
    progress = Progress(clock)
    progress.processed(TP, 10)
    progress.written(TP, 20)
    clock.now = 50
    progress.processed(TP, 15)
    clock.now = 100
    assert progress.stalled_seconds(TP) == 50


def test_a_partition_given_away_is_forgotten() -> None:
    progress = Progress()
    progress.processed(TP, 1)
    progress.written(TP, 5)
    progress.forget([TP])
    assert progress.held() == [] and progress.lag(TP) is None
