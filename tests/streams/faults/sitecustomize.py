"""Fault injection for tests of live worker processes: put this folder on PYTHONPATH and set

- LEADTEMP_TEST_FAIL_EVENT to an event id: the engine raises on that event, as a bug in the
  scoring code would;
- LEADTEMP_TEST_FAIL_FORWARD_WHILE to a path: while a file is there, the ingest hop's writes
  to the re-keyed topic fail as if the broker were unreachable (a transient error).

Nothing of it is in the worker's code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_FAIL_EVENT = os.environ.get("LEADTEMP_TEST_FAIL_EVENT")
_FAIL_FORWARD_WHILE = os.environ.get("LEADTEMP_TEST_FAIL_FORWARD_WHILE")

if _FAIL_EVENT:
    from scoring.engine import Engine

    _apply = Engine.apply

    def apply(self: Engine, event: Any, store: Any) -> Any:
        if event.event_id == _FAIL_EVENT:
            raise KeyError(f"injected fault on {_FAIL_EVENT}")
        return _apply(self, event, store)

    Engine.apply = apply  # type: ignore[method-assign]

if _FAIL_FORWARD_WHILE:
    from aiokafka.errors import KafkaConnectionError

    from scoring import REPARTITION_TOPIC
    from streams.publish import Publisher

    _init = Publisher.__init__
    flag = Path(_FAIL_FORWARD_WHILE)

    def init(self: Publisher, settings: Any, state: Any, send: Any) -> None:
        rekeyed = settings.topic(REPARTITION_TOPIC)

        async def failing_send(topic: str, *args: Any) -> Any:
            if topic == rekeyed and flag.exists():
                raise KafkaConnectionError("injected: the broker does not answer")
            return await send(topic, *args)

        _init(self, settings, state, failing_send)

    Publisher.__init__ = init  # type: ignore[method-assign]
