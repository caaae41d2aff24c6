"""A lead's or an account's state explained, read from Redis: for the worker's /leads and
/accounts endpoints and for `leadtemp lead` / `leadtemp account`."""

from __future__ import annotations

from typing import Any

from scoring import LEAD, Model, account_report, lead_report
from streams.plumbing.clock import now_ms
from streams.store import RedisState


async def report_of(
    state: RedisState, model: Model, kind: str, key: str
) -> dict[str, Any] | None:
    """The explained state of a lead or account now, or None when Redis has none."""
    found = await state.get(kind, key)
    if found is None:
        return None
    if kind == LEAD:
        return lead_report(key, found, now_ms(), model)
    return account_report(key, found, now_ms(), model)
