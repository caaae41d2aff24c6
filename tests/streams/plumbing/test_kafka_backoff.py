"""Kafka clients that wait between failed metadata updates (no broker needed: with none
known, an update fails at once, as it does while the only broker restarts). That the
worker's clients are these: below, and the Kafka restart in tests/streams/test_worker.py."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka.client import AIOKafkaClient

from streams.fastdrain import FastDrainTransport
from streams.plumbing.kafka_backoff import MetadataBackoffClient, with_metadata_backoff


async def updates_tried_in(seconds: float) -> int:
    """How many metadata updates a caller that retries at once gets through in `seconds`."""
    client = with_metadata_backoff(
        AIOKafkaClient(bootstrap_servers="127.0.0.1:9", retry_backoff_ms=100)
    )
    tried, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        await client._metadata_update(client.cluster, set())
        tried += 1
    return tried


def test_failed_metadata_updates_are_spaced_by_the_retry_backoff() -> None:
    assert 1 <= asyncio.run(updates_tried_in(0.5)) <= 6  # aiokafka alone: thousands


def test_successful_metadata_updates_are_not_delayed(monkeypatch: pytest.MonkeyPatch) -> None:
    async def updated(self: Any, cluster: Any, topics: Any) -> bool:
        return True

    monkeypatch.setattr(AIOKafkaClient, "_metadata_update", updated)
    assert asyncio.run(updates_tried_in(0.3)) >= 100


def probe_app(tmp_path: Path) -> faust.App:
    app = faust.App("leadtemp-probe", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    app.transport = FastDrainTransport(app.conf.broker_consumer, app)
    return app


def test_the_worker_producers_client_backs_off(tmp_path: Path) -> None:
    app = probe_app(tmp_path)

    async def client() -> Any:
        return app.producer._new_producer().client

    assert isinstance(asyncio.run(client()), MetadataBackoffClient)


def test_the_worker_consumers_client_backs_off(tmp_path: Path) -> None:
    app = probe_app(tmp_path)

    async def client() -> Any:
        return app.consumer._thread._create_worker_consumer(app.transport)._client

    assert isinstance(asyncio.run(client()), MetadataBackoffClient)


def test_aiokafkas_metadata_loop_goes_through_the_overridden_method() -> None:
    # The override names a private method: an aiokafka upgrade that renames it fails here.
    import inspect

    assert "self._metadata_update(" in inspect.getsource(AIOKafkaClient._md_synchronizer)
