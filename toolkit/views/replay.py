"""What `leadtemp replay` says at the end: what it read and what it produced."""

from __future__ import annotations

from rich.table import Table

from scoring import Replay


def summary_table(run: Replay) -> Table:
    s = run.summary
    table = Table(title="replay summary", show_header=False)
    table.add_row("events accepted", str(s.events))
    table.add_row("duplicates skipped", str(s.duplicates))
    table.add_row("anonymous, held", str(s.held))
    table.add_row(
        "dead letters",
        str(sum(s.dead_letters.values()))
        + (
            f" ({', '.join(f'{k} {v}' for k, v in sorted(s.dead_letters.items()))})"
            if s.dead_letters
            else ""
        ),
    )
    table.add_row("leads", str(len(run.store.leads)))
    table.add_row("accounts", str(len(run.store.accounts)))
    temps = run.temperatures()
    table.add_row(
        "leads now", ", ".join(f"{t} {temps[t]}" for t in ("hot", "warm", "cold", "disqualified"))
    )
    table.add_row(
        "temperature changes", ", ".join(f"to {k} {v}" for k, v in sorted(s.changes.items()))
    )
    table.add_row(
        "hot-lead alerts", ", ".join(f"{k} {v}" for k, v in sorted(s.alerts.items())) or "0"
    )
    table.add_row("hot-account alerts", str(s.account_alerts))
    table.add_row("alerts suppressed (cooldown)", str(s.alerts_suppressed))
    return table
