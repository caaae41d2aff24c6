"""The console destination: alerts printed in the terminal, the demo's default."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from alerts.alert import Alert
from alerts.destinations.base import Delivered, Outcome
from alerts.messages import headline, plain, why
from alerts.routing import Person


class ConsoleSender:
    kind = "console"

    def __init__(self, console: Console | None = None, crm_url: str | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.crm_url = crm_url

    async def send(self, alerts: list[Alert], person: Person | None) -> Outcome:
        for alert in alerts:
            self.console.print(panel_of(alert, person))
        return Delivered()

    def describe(self) -> str:
        return "console"

    async def close(self) -> None:
        pass


def panel_of(alert: Alert, person: Person | None) -> Panel:
    """A rich panel: who, scores, why, deadline."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    noun = "lead" if alert.kind == "hot_lead" else "account"
    if alert.kind == "hot_lead":
        s = alert.scores
        grid.add_row("lead", Text(plain(alert.lead_id or "?")))
        grid.add_row("score", f"{s.get('total', 0):.1f}  (fit {s.get('fit', 0):g}, engagement "
                     f"{s.get('engagement', 0):.1f}, intent {s.get('intent', 0):.1f}, "
                     f"BANT {s.get('bant', 0):g})")  # fmt: skip
    else:
        grid.add_row("stakeholders", str(alert.engaged_stakeholders or 0))
        grid.add_row("hot leads", Text(plain(", ".join(alert.hot_leads))))
    grid.add_row("why", Text(plain(", ".join(why(alert, 5)))))
    grid.add_row("reasons", Text(plain(", ".join(alert.reasons))))
    grid.add_row("respond by", alert.respond_by.strftime("%Y-%m-%d %H:%M:%S UTC"))
    if person is not None:
        grid.add_row("for", Text(plain(person.name)))
    colour = "red" if alert.priority == "P1" else "yellow"
    title = f"[{colour}]{alert.priority} hot {noun}[/]: {escape(plain(headline(alert)))}"
    return Panel(grid, title=title, title_align="left", border_style=colour)
