"""How a deployment's state is placed in Redis, recorded with it: the layout's version and the
partition count of the re-keyed topic, since every lead and account is placed by it
(streams/placement.py). A worker that finds another count, or state of the layout before
partitions, stops at start-up saying so: it would look for state where there is none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from streams.keys import Keys

VERSION = 2  # 1: one hash tag for every key, before state was placed by partition
DEFAULT_LEGACY_PREFIX = "{lt}:"  # the layout before partitions had braces in its default prefix


class LayoutError(RuntimeError):
    """The state in Redis is not placed the way this worker would look for it."""


@dataclass(frozen=True)
class Layout:
    version: int
    partitions: int


async def layout_of(redis: Any, keys: Keys) -> Layout | None:
    value = await redis.get(keys.layout)
    if value is None:
        return None
    data = orjson.loads(value)
    return Layout(int(data["version"]), int(data["partitions"]))


async def ensure_layout(redis: Any, keys: Keys, partitions: int) -> Layout:
    """The deployment's layout, recorded now if this is its first worker; LayoutError when the
    state there is placed otherwise."""
    found = await layout_of(redis, keys)
    if found is None:
        legacy = [keys.legacy_rules] + (
            [f"{DEFAULT_LEGACY_PREFIX}rules"] if keys.prefix == "lt:" else [])  # fmt: skip
        if any([await redis.exists(name) for name in legacy]):
            raise LayoutError(
                "Redis holds state of the layout before partitions (leadtemp 0.1, keys under "
                f"{legacy[-1][:-5]!r}): rebuild it from Kafka (leadtemp rebuild) or start on "
                "an empty Redis (or another LEADTEMP_REDIS_PREFIX)"
            )
        layout = Layout(VERSION, partitions)
        value = orjson.dumps({"version": layout.version, "partitions": layout.partitions})
        if await redis.set(keys.layout, value, nx=True):
            return layout
        found = await layout_of(redis, keys)  # another worker was first
        assert found is not None
    if found.version != VERSION:
        raise LayoutError(f"Redis holds state of layout version {found.version}, not {VERSION}")
    if found.partitions != partitions:
        raise LayoutError(
            f"the state in Redis is placed for {found.partitions} partitions of the re-keyed "
            f"topic, which now has {partitions}: a lead's state is found by its partition, so "
            "the count cannot change under existing state (rebuild it from Kafka with the new "
            "count, leadtemp rebuild, or give the topic its old count back)"
        )
    return found
