"""Redis key names: each partition's hash tag, spread evenly over a cluster's slots (that a
partition's keys share one slot: tests/streams/test_store.py)."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from streams.keys import Keys, spread_tag

SLOTS = 16384


def masters_of(tags: list[str], masters: int) -> list[int]:
    """How many tags land on each master of a cluster whose masters hold equal slot ranges."""
    counts = [0] * masters
    for tag in tags:
        counts[key_slot(tag.encode()) * masters // SLOTS] += 1
    return counts


@pytest.mark.parametrize("prefix", ["lt:", "bench1a2b3c.", "acme-prod:"])
@pytest.mark.parametrize("partitions", [3, 4, 8, 12, 16, 32])
def test_partitions_spread_over_three_masters_within_two_of_even(
    prefix: str, partitions: int
) -> None:
    tags = [Keys(prefix, partitions).tag(p) for p in range(partitions)]
    counts = masters_of(tags, 3)
    assert max(counts) - min(counts) <= 2, counts


def test_directory_shards_spread_over_the_masters() -> None:
    keys = Keys("lt:", 8)
    tags = {keys.directory("lead", f"lead-{i}").split(":lead:")[0] for i in range(5000)}
    assert len(tags) == 64
    counts = masters_of(sorted(tags), 3)
    assert max(counts) - min(counts) <= 2, counts


def test_a_tag_is_the_partition_with_the_first_suffix_that_lands_in_its_slots() -> None:
    # Every process must find the same tag: it depends on the prefix, the partition and the
    # partition count only.
    tag = Keys("lt:", 4).tag(1)
    assert tag.startswith("{lt:p1") and 4096 <= key_slot(tag[1:-1].encode()) < 8192
    assert tag == spread_tag("lt:p", 1, 4)
