"""Bundles of re-keyed events on the repartition topic."""

from __future__ import annotations

from streams.bundles import bundle, partition_of, unbundle


def test_a_bundle_gives_back_its_events_and_timestamps_in_order() -> None:
    items = [(1795000000.25, b'{"a":1}'), (None, b""), (None, b'{"b":"\\u00e9"}')]
    assert unbundle(bundle(items)) == items


def test_a_single_event_is_not_a_bundle() -> None:
    assert unbundle(b'{"event_id": "e1"}') is None


def test_a_lead_always_lands_on_the_same_partition() -> None:
    assert partition_of(b"lead-1", 4) == partition_of(b"lead-1", 4)
    assert {partition_of(f"lead-{i}".encode(), 4) for i in range(100)} == {0, 1, 2, 3}
