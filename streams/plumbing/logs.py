"""Logging for the services: text or JSON lines, the same in every process; repeated client
errors kept to one line per interval.

While Kafka is down, aiokafka logs an ERROR for every connection attempt of every client
loop: about 60 lines a second in the worker even with metadata retries spaced
(streams/plumbing/kafka_backoff.py). The first line of each kind still shows at once; the rest of
an interval are counted into the next line of that kind. (A 5 s broker restart under load:
3 lines, against ~300.)
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import time
from collections.abc import Callable, Iterable
from typing import Any

# aiokafka's loggers (its client module logs as "aiokafka"): they repeat themselves while a
# broker is unreachable.
KAFKA_CLIENT_LOGGERS = (
    "aiokafka",
    "aiokafka.admin.client",
    "aiokafka.cluster",
    "aiokafka.conn",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
)
# The keys of every JSON line (a record logged with an exception adds "exc_info").
LOG_KEYS = ("time", "level", "logger", "message", "process")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

REPEAT_INTERVAL_S = 10.0
MAX_KINDS = 1000  # kinds of message remembered at once


class RepeatsFilter(logging.Filter):
    """Passes a message (by logger and format string) at most once per interval; the next
    one passed says how many were held back."""

    def __init__(
        self, interval_s: float = REPEAT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        # (logger, format) -> (passed at, held back since, the latest held back)
        self._last: dict[tuple[str, str], tuple[float, int, logging.LogRecord | None]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self.clock()
        passed_at, held, _ = self._last.get(key, (-self.interval_s, 0, None))
        if now - passed_at < self.interval_s:
            self._last[key] = (passed_at, held + 1, record)
            return False
        if held:
            record.msg = f"{record.getMessage()} ({held} more like this held back)"
            record.args = ()
        elif len(self._last) >= MAX_KINDS:  # messages built without a format string
            self._last.clear()
        self._last[key] = (now, 0, None)
        return True

    def flush(self) -> None:
        """Log the latest held-back message of each kind whose interval is over, with the
        count of the others: when the trouble ends, no repeat comes to carry that count."""
        now = self.clock()
        for key, (passed_at, held, latest) in list(self._last.items()):
            if latest is not None and now - passed_at >= self.interval_s:
                self._last[key] = (passed_at, held - 1, None)  # `latest` itself is shown
                logging.getLogger(latest.name).handle(latest)


async def flush_repeats_forever(repeats: RepeatsFilter) -> None:
    """`repeats.flush()` every interval (a service's task, cancelled when it stops)."""
    while True:
        await asyncio.sleep(repeats.interval_s)
        repeats.flush()


def quiet_repeats(names: Iterable[str] = KAFKA_CLIENT_LOGGERS) -> RepeatsFilter:
    """One RepeatsFilter on each named logger (a logger's filter sees only its own records)."""
    repeats = RepeatsFilter()
    for name in names:
        logging.getLogger(name).addFilter(repeats)
    return repeats


def logging_config(log_format: str, level: str, process: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a process (`process`: "worker", "notifier"): to
    stderr, as text or as JSON lines (python-json-logger; time in ISO 8601, UTC)."""
    formatters: dict[str, Any] = {
        "text": {"format": TEXT_FORMAT},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(levelname)s %(name)s %(message)s", "timestamp": "time",
                 "rename_fields": {"levelname": "level", "name": "logger"},
                 "static_fields": {"process": process}},
    }  # fmt: skip
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {log_format: formatters[log_format]},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": log_format,
                                "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }  # fmt: skip


def setup_logging(log_format: str, level: str, process: str) -> dict[str, Any]:
    """Configure the root logger as `logging_config` says; the config, for Faust's worker,
    which configures logging again as it starts."""
    config = logging_config(log_format, level, process)
    logging.config.dictConfig(config)
    return config


def logs_are_json() -> bool:
    """Whether this process's logs are JSON lines (so that its last words are one too)."""
    from pythonjsonlogger.json import JsonFormatter

    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)
