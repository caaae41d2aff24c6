"""`leadtemp rules diff` as tables (the comparison comes from scoring.rules_diff)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from scoring import TEMPERATURES
from toolkit.views.explain import COLOUR


def _change(before: int, after: int) -> Text:
    delta = after - before
    sign = f" ({delta:+,})" if delta else ""
    return Text(f"{before:,} → {after:,}{sign}", style="bold" if delta else "")


def _pair(before: Any, after: Any) -> str:
    return str(before) if before == after else f"{before} → {after}"


def _minute(at: str | None) -> str:
    return "—" if at is None else at[:16].replace("T", " ")


def duration_text(seconds: float) -> str:
    """A duration as an SDR would say it: "3 d 4 h", "2 h 10 min", "45 s"."""
    s = abs(round(seconds))
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"


def rules_diff_tables(d: dict[str, Any], show: int) -> Group:
    """Temperatures, alerts, first-hot times and the first `show` leads that moved."""
    v = d["rules_version"]
    head = Table(
        title=f"rules {v['before']!r} → {v['after']!r}: {d['events']:,} events, "
        f"{d['leads']:,} leads",
        show_header=False, title_justify="left", title_style="bold",
    )  # fmt: skip
    head.add_column(style="bold")
    head.add_column()
    for t in TEMPERATURES:
        n = d["temperatures"][t]
        head.add_row(Text(f"{t} now", style=COLOUR[t]), _change(n["before"], n["after"]))
    for p, n in d["hot_lead_alerts"].items():
        head.add_row(f"hot-lead alerts {p}", _change(n["before"], n["after"]))
    for t, n in d["accounts"].items():
        head.add_row(Text(f"{t} accounts now", style=COLOUR[t]), _change(n["before"], n["after"]))
    acc = d["hot_account_alerts"]
    head.add_row("hot-account alerts", _change(acc["before"], acc["after"]))
    f = d["first_hot"]
    shift = f["median_shift_seconds"]
    head.add_row(
        "first hot",
        f"{f['sooner']:,} sooner, {f['later']:,} later, {f['same']:,} at the same time"
        + (f" (median {duration_text(shift)} {'sooner' if shift < 0 else 'later'})"
           if shift else "")
        + f"; {f['only_after']:,} hot only with the candidate, "
        f"{f['only_before']:,} only with the rules in use",
    )  # fmt: skip

    moves = Table(title="final temperature (rows: rules in use, columns: candidate)",
                  title_justify="left", title_style="bold")  # fmt: skip
    moves.add_column("")
    for t in TEMPERATURES:
        moves.add_column(Text(t, style=COLOUR[t]), justify="right")
    cells = {(m["before"], m["after"]): m["leads"] for m in d["matrix"]}
    for b in TEMPERATURES:
        row = [
            Text(f"{cells.get((b, a), 0):,}", style="" if a == b else "bold") for a in TEMPERATURES
        ]
        moves.add_row(Text(b, style=COLOUR[b]), *row)

    moved = d["moved"]
    leads = Table(
        title=f"leads whose temperature differs ({min(show, len(moved)):,} of {len(moved):,})",
        title_justify="left", title_style="bold",
    )  # fmt: skip
    for col in ("lead", "in use", "candidate", "total", "first hot in use", "first hot candidate"):
        leads.add_column(col)
    for m in moved[:show]:
        t, total, hot = m["temperature"], m["total"], m["first_hot_at"]
        leads.add_row(
            Text(m["lead_id"]),
            Text(str(t["before"]), style=COLOUR.get(str(t["before"]), "")),
            Text(str(t["after"]), style=COLOUR.get(str(t["after"]), "")),
            _pair(total["before"], total["after"]),
            _minute(hot["before"]),
            _minute(hot["after"]),
        )
    return Group(head, moves, leads)
