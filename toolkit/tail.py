"""`leadtemp tail`: the output topics as they are written, one readable, coloured line each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from rich.text import Text

from scoring.records import (
    ACCOUNTS_TEMPERATURE,
    ALERTS_DEADLETTER,
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
    EVENTS_DEADLETTER,
    LEADS_TEMPERATURE,
)
from toolkit.views.explain import COLOUR

TAILED = (LEADS_TEMPERATURE, ALERTS_HOT_LEAD, ACCOUNTS_TEMPERATURE, ALERTS_HOT_ACCOUNT,
          EVENTS_DEADLETTER, ALERTS_DEADLETTER)  # fmt: skip


def line_of(topic: str, value: dict[str, Any]) -> Text:
    """One output record as a line of text (user-supplied values are never markup)."""
    t = Text()
    t.append(str(value.get("occurred_at") or value.get("received_at") or value.get("failed_at")
                  or "")[:19].replace("T", " "), style="dim")  # fmt: skip
    t.append("  ")
    if topic in (LEADS_TEMPERATURE, ACCOUNTS_TEMPERATURE):
        who = value.get("lead_id") or value.get("account_id") or "?"
        t.append(("lead " if topic == LEADS_TEMPERATURE else "account ") + str(who), style="bold")
        t.append(f"  {value.get('from') or '—'} → ")
        to = str(value.get("to"))
        t.append(to, style=COLOUR.get(to, ""))
        scores = value.get("scores")
        if isinstance(scores, dict):
            t.append(f"  total {scores.get('total')} intent {scores.get('intent')}", style="dim")
        t.append(f"  {', '.join(map(str, value.get('reasons') or []))}", style="dim")
    elif topic in (ALERTS_HOT_LEAD, ALERTS_HOT_ACCOUNT):
        who = value.get("lead_id") or value.get("account_id") or "?"
        t.append(f"ALERT {value.get('priority')} ", style="bold white on red")
        t.append(f" {who}", style="bold")
        contact = value.get("contact") or {}
        if contact.get("name"):
            t.append(f" ({contact.get('name')}, {contact.get('job_title') or '?'})")
        t.append(f"  respond by {str(value.get('respond_by'))[11:19]}", style="red")
        t.append(f"  {', '.join(map(str, value.get('reasons') or []))}", style="dim")
    else:
        t.append(f"DEAD LETTER {topic}", style="magenta")
        t.append(f"  {value.get('reason')}: {value.get('detail')}", style="dim")
    return t


async def follow(
    bootstrap: str,
    topics: list[str],
    show: Callable[[str, dict[str, Any]], None],
    from_beginning: bool,
    stop: Callable[[], bool],
    topic_prefix: str = "",
) -> None:
    """Call `show(topic, value)` for every new record until `stop()`."""
    consumer = AIOKafkaConsumer(
        *(topic_prefix + t for t in topics),
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        while not stop():
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    try:
                        value = orjson.loads(r.value or b"null")
                    except orjson.JSONDecodeError:
                        value = {"reason": "not_json", "detail": repr(r.value[:80])}
                    if isinstance(value, dict):
                        show(r.topic[len(topic_prefix) :], value)
    finally:
        await consumer.stop()
