"""How a deployment's state is placed in Redis, recorded with it: the layout's version and the
partition count of the re-keyed topic, since every lead and account is placed by it
(streams/placement.py). A worker that finds another count, or state of the layout before
partitions, stops at start-up saying so: it would look for state where there is none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from streams.keys import layout_key

# 1: one hash tag for every key, before state was placed by partition; 2: a partition's tag
# was `{<prefix>p<N>}` (3 spreads them over the slots: streams/keys.py)
VERSION = 3
DEFAULT_LEGACY_PREFIX = "{lt}:"  # the layout before partitions had braces in its default prefix


class LayoutError(RuntimeError):
    """The state in Redis is not placed the way this worker would look for it."""


@dataclass(frozen=True)
class Layout:
    version: int
    partitions: int


async def layout_of(redis: Any, prefix: str) -> Layout | None:
    value = await redis.get(layout_key(prefix))
    if value is None:
        return None
    data = orjson.loads(value)
    return Layout(int(data["version"]), int(data["partitions"]))


async def ensure_layout(redis: Any, prefix: str, partitions: int) -> Layout:
    """The deployment's layout, recorded now if this is its first worker; LayoutError when the
    state there is placed otherwise."""
    found = await layout_of(redis, prefix)
    if found is None:
        # Every deployment of the layout before partitions had a rules key under its prefix.
        legacy = [f"{prefix}rules"] + (
            [f"{DEFAULT_LEGACY_PREFIX}rules"] if prefix == "lt:" else [])  # fmt: skip
        if any([await redis.exists(name) for name in legacy]):
            raise LayoutError(
                "Redis holds state of the layout before partitions (leadtemp 0.1, keys under "
                f"{legacy[-1][:-5]!r}), which this version cannot read: start on an empty "
                "Redis or another LEADTEMP_REDIS_PREFIX, and replay the input topics into it "
                "(a new LEADTEMP_GROUP_ID reads them from the start)"
            )
        layout = Layout(VERSION, partitions)
        value = orjson.dumps({"version": layout.version, "partitions": layout.partitions})
        if await redis.set(layout_key(prefix), value, nx=True):
            return layout
        found = await layout_of(redis, prefix)  # another worker was first
        assert found is not None
    if found.version != VERSION:
        raise LayoutError(
            f"Redis holds state of layout version {found.version} (under "
            f"{prefix!r}), which this version ({VERSION}) cannot read: start on an empty "
            "Redis or another LEADTEMP_REDIS_PREFIX, and replay the input topics into it (a "
            "new LEADTEMP_GROUP_ID reads them from the start)"
        )
    if found.partitions != partitions:
        raise LayoutError(
            f"the state in Redis is placed for {found.partitions} partitions of the re-keyed "
            f"topic, which now has {partitions}: a lead's state is found by its partition, so "
            "the count cannot change under existing state (give the topic its old count back, "
            "or start the new count on an empty Redis or another LEADTEMP_REDIS_PREFIX with a "
            "new LEADTEMP_GROUP_ID, which replays the input topics into it)"
        )
    return found
