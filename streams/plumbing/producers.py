"""How every producer of the project writes: acknowledged by all in-sync replicas, and
idempotent, so a retry after a lost acknowledgement does not write a record twice (the
topics' min.insync.replicas, streams/plumbing/topics.py, makes "all" mean at least that)."""

from __future__ import annotations

from typing import Any

PRODUCER_OPTIONS: dict[str, Any] = {"acks": "all", "enable_idempotence": True}
