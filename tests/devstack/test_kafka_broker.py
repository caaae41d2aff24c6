"""The local services' helpers that need no running service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devstack import kafka_broker as devservices


def test_a_kafka_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xf8 encodes to "-" in URL-safe base64: the storage tool would read it as an option.
    draws: Iterator[uuid.UUID] = iter(
        [uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" + bytes(15))]
    )
    monkeypatch.setattr(devservices.uuid, "uuid4", lambda: next(draws))
    assert devservices.uuid_for_kafka() == "AQAAAAAAAAAAAAAAAAAAAA"


def test_a_kafka_cluster_id_is_22_url_safe_characters() -> None:
    text = devservices.uuid_for_kafka()
    assert len(text) == 22 and set(text) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
