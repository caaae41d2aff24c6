"""Bundles: the items of one message of the re-keyed topic."""

from __future__ import annotations

import math
import struct

from streams.bundles import ARRIVE, EVENT, LINK, Item, bundle, unbundle


def test_a_bundle_gives_back_its_items_in_order() -> None:
    items = [Item(1795000000.25, EVENT, b'{"a":1}'), Item(None, LINK, b""),
             Item(None, ARRIVE, b'{"b":"\\u00e9"}', {"lead": "pat", "moves": 1, "state": [1]})]  # fmt: skip
    assert unbundle(bundle(items)) == items


def test_a_single_event_is_not_a_bundle() -> None:
    assert unbundle(b'{"event_id": "e1"}') is None


def test_a_bundle_of_the_layout_before_items_had_kinds_is_read_as_events() -> None:
    old = b"LTB1" + struct.pack(">dI", 1.5, 3) + b"abc" + struct.pack(">dI", math.nan, 2) + b"de"
    assert unbundle(old) == [Item(1.5, EVENT, b"abc"), Item(None, EVENT, b"de")]
