"""Benchmark: offline replay of a generated file (default 1,000,000 events, 100,000 leads, 20,000
accounts). Prints events/s on one core, peak RSS and the serialized state size per lead.

    .venv/bin/python -m bench.replay [--events N] [--leads N] [--accounts N]
    bash bench/compiled.sh replay [...]    # the same on the mypyc-compiled engine
"""

from __future__ import annotations

import argparse
import io
import resource
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.generate import events_file
from scoring import Engine, Replay, engine_build, ms_from_rfc3339
from toolkit.replay_file import replay_file

OUT = Path(__file__).resolve().parent / "out"


class Counting(io.RawIOBase):
    """A sink that counts the lines written to it."""

    def __init__(self) -> None:
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.lines += bytes(b).count(b"\n")
        return len(b)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--leads", type=int, default=100_000)
    p.add_argument("--accounts", type=int, default=20_000)
    args = p.parse_args()
    console = Console()
    with console.status("generating the events file (cached in bench/out)…"):
        path = events_file(args.events, args.leads, args.accounts, OUT)
    run = Replay(Engine(), ms_from_rfc3339("2027-01-01T00:00:00Z"))
    sink = Counting()
    start = time.perf_counter()
    with open(path, "rb") as f:
        replay_file(run, f, sink)  # type: ignore[arg-type]  # what `leadtemp replay` runs
    elapsed = time.perf_counter() - start
    n_records = sink.lines
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    leads = run.store.leads
    lead_bytes = sum(len(s.to_bytes()) for s in leads.values())
    account_bytes = sum(len(a.to_bytes()) for a in run.store.accounts.values())

    table = Table(title=f"replay benchmark: {path.name}", show_header=False)
    table.add_row("engine build", engine_build())
    table.add_row("events", f"{args.events:,}")
    table.add_row("records produced", f"{n_records:,}")
    table.add_row("elapsed", f"{elapsed:.1f} s")
    table.add_row("throughput", f"{args.events / elapsed:,.0f} events/s (one core)")
    table.add_row("peak RSS", f"{peak_mb:,.0f} MiB")
    table.add_row("leads", f"{len(leads):,}")
    table.add_row("state per lead (avg)", f"{lead_bytes / max(1, len(leads)):,.0f} bytes")
    table.add_row("state per account (avg)",
                  f"{account_bytes / max(1, len(run.store.accounts)):,.0f} bytes")  # fmt: skip
    table.add_row(
        "temperatures now", ", ".join(f"{k} {v:,}" for k, v in run.temperatures().most_common())
    )
    console.print(table)


if __name__ == "__main__":
    main()
