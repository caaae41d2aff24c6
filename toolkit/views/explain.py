"""`leadtemp lead` / `leadtemp account` as tables (the reports come from scoring.explain)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

# Temperatures in every terminal view (tables here, lines in `leadtemp tail`).
COLOUR = {"hot": "bold red", "warm": "yellow", "cold": "cyan", "disqualified": "dim"}


def _pairs(title: str, rows: list[tuple[str, Any]]) -> Table:
    t = Table(title=title, show_header=False, title_justify="left", title_style="bold")
    t.add_column(style="bold")
    t.add_column()
    for name, value in rows:
        t.add_row(name, value if isinstance(value, Text) else Text(str(value)))
    return t


def _temperature(value: str | None) -> Text:
    return Text(str(value), style=COLOUR.get(str(value), ""))


def lead_table(r: dict[str, Any]) -> Group:
    """Scores, flags and signals of a lead report."""
    s, c, drop = r["scores"], r["contact"], r["next_drop"]
    bant = ", ".join(k for k, v in r["bant"].items() if v) or "none"
    summary = _pairs(f"lead {r['lead_id']}", [
        ("temperature", _temperature(r["temperature"])),
        ("as of", r["as_of"]),
        ("who", f"{c.get('name') or '?'}, {c.get('job_title') or '?'} at "
                f"{c.get('company') or '?'} ({c.get('country') or '?'})"),
        ("account", r["account_id"] or "—"),
        ("routing", f"{r['routing']['segment']} / {r['routing']['region']}"),
        ("total", f"{s['total']} = fit {s['fit']} + engagement {s['engagement']}"),
        ("intent", s["intent"]),
        ("BANT", f"{s['bant']} ({bant})"),
        ("automatic SQL", ", ".join(r["auto_sql"]) or "—"),
        ("disqualifiers", ", ".join(r["disqualifiers"]) or "—"),
        ("next drop", f"{drop['at']} → {drop['to']}" if drop else "none (it stays)"),
        ("last event", r["last_event_at"] or "—"),
        ("last alert", r["last_alert_at"] or "—"),
    ])  # fmt: skip
    signals = Table(title="top signals (decayed)", title_justify="left", title_style="bold")
    for col in ("signal", "kind", "points", "at"):
        signals.add_column(col, justify="right" if col == "points" else "left")
    for sig in r["top_signals"]:
        signals.add_row(Text(sig["signal"]), sig["kind"], f"{sig['points']:.2f}", sig["at"])
    return Group(summary, signals)


def account_table(r: dict[str, Any]) -> Group:
    """Stakeholders and members of an account report."""
    summary = _pairs(f"account {r['account_id']}", [
        ("temperature", _temperature(r["temperature"])),
        ("as of", r["as_of"]),
        ("engaged stakeholders", r["engaged_stakeholders"]),
        ("authority engaged", "yes" if r["authority_engaged"] else "no"),
        ("hot leads", ", ".join(r["hot_leads"]) or "—"),
        ("warm leads", ", ".join(r["warm_leads"]) or "—"),
        ("next window end", r["next_window_end"] or "—"),
        ("last alert", r["last_alert_at"] or "—"),
    ])  # fmt: skip
    members = Table(title="members", title_justify="left", title_style="bold")
    for col in ("lead", "temperature", "last event", "authority", "disqualified"):
        members.add_column(col)
    for lead_id, m in r["members"].items():
        flags = ("yes" if m["authority"] else "", "yes" if m["disqualified"] else "")
        members.add_row(Text(lead_id), _temperature(m["temperature"]), m["last_event_at"] or "—",
                        *flags)  # fmt: skip
    return Group(summary, members)
