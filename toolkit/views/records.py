"""Output records as readable, coloured lines (`leadtemp tail`, the demo); what a producer
put in them is shown as text, never read as markup."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from scoring import ACCOUNTS_TEMPERATURE, ALERTS_HOT_ACCOUNT, ALERTS_HOT_LEAD, LEADS_TEMPERATURE
from toolkit.views.explain import COLOUR


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
