"""How state is placed, recorded in Redis: a worker that would look elsewhere stops at start-up
saying why (streams/layout.py), on a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from streams.keys import layout_key
from streams.layout import VERSION, Layout, LayoutError, ensure_layout
from streams.plumbing.clients import redis_client
from streams.plumbing.settings import Connections
from tests.conftest import Services

pytestmark = pytest.mark.services


def layout_after(services: Services, prefix: str, *setup: tuple[str, bytes], partitions: int
                 ) -> Layout:  # fmt: skip
    async def go() -> Layout:
        redis: Any = redis_client(Connections(redis_url=services.redis_url))
        try:
            for key, value in setup:
                await redis.set(key, value)
            return await ensure_layout(redis, prefix, partitions)
        finally:
            await redis.aclose()

    return asyncio.run(go())


def test_the_first_worker_records_the_layout_and_the_next_ones_agree(
    services: Services, redis_prefix: str
) -> None:
    assert layout_after(services, redis_prefix, partitions=8) == Layout(VERSION, 8)
    assert layout_after(services, redis_prefix, partitions=8) == Layout(VERSION, 8)


def test_another_partition_count_is_refused_naming_both(
    services: Services, redis_prefix: str
) -> None:
    layout_after(services, redis_prefix, partitions=8)
    with pytest.raises(LayoutError, match=r"placed for 8 partitions .* which now has 16"):
        layout_after(services, redis_prefix, partitions=16)


def test_state_of_an_older_layout_version_is_refused(services: Services, redis_prefix: str) -> None:
    older = orjson.dumps({"version": VERSION - 1, "partitions": 8})
    with pytest.raises(LayoutError, match=rf"layout version {VERSION - 1} .* cannot read"):
        layout_after(services, redis_prefix, (layout_key(redis_prefix), older), partitions=8)


def test_state_of_the_layout_before_partitions_is_refused(
    services: Services, redis_prefix: str
) -> None:
    with pytest.raises(LayoutError, match="before partitions"):
        layout_after(services, redis_prefix, (f"{redis_prefix}rules", b"fp"), partitions=8)
