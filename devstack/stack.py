"""`leadtemp dev`: the long-running broker and Redis of a developer's machine, and their data."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from devstack.kafka_broker import kafka_answers, start_kafka
from devstack.processes import ServiceError, pid_alive, port_is_open, stop_pid
from devstack.redis_server import redis_answers, start_redis
from devstack.settings import DevSettings


@dataclass(frozen=True)
class DevStack:
    """Where `leadtemp dev` keeps the long-running broker and Redis, and their ports."""

    root: Path
    kafka_port: int
    redis_port: int

    @classmethod
    def of(cls, dev: DevSettings) -> DevStack:
        return cls(root=dev.root, kafka_port=dev.kafka_port, redis_port=dev.redis_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def pidfile(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def running_pid(self, name: str) -> int | None:
        """The pid of a service this stack started that still runs, else None."""
        try:
            pid = int(self.pidfile(name).read_text())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def up(self) -> dict[str, str]:
        """Start whatever is not running yet; return the addresses."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.running_pid("redis") is None:
            r = start_redis(self.root / "redis", self.redis_port, persistent=True, detach=True)
            self.pidfile("redis").write_text(str(r.proc.pid))
        if self.running_pid("kafka") is None:
            k = start_kafka(self.root / "kafka", self.kafka_port, detach=True)
            self.pidfile("kafka").write_text(str(k.proc.pid))
        return self.addresses()

    def down(self) -> list[str]:
        """Stop what this stack started; return the names stopped."""
        stopped = []
        for name in ("kafka", "redis"):
            pid = self.running_pid(name)
            if pid is not None:
                stop_pid(pid, timeout=30)
                stopped.append(name)
            self.pidfile(name).unlink(missing_ok=True)
        return stopped

    def wipe(self) -> list[str]:
        """Delete the stopped services' data (topics, offsets, Redis keys) and logs; return
        the names wiped. Topics left by test runs and benchmarks otherwise pile up: this
        project's own dev broker had gathered 7,617 partition directories (2.4 GB)."""
        running = [name for name in ("kafka", "redis") if self.running_pid(name) is not None]
        if running:
            raise ServiceError(f"not wiping while {', '.join(running)} runs: stop it first")
        wiped = []
        for name in ("kafka", "redis"):
            if (self.root / name).exists():
                shutil.rmtree(self.root / name)
                wiped.append(name)
        return wiped

    def status(self) -> dict[str, dict[str, object]]:
        """For each service: its pid (or None) and whether it answers on its address."""
        return {
            "kafka": {
                "pid": self.running_pid("kafka"),
                "address": self.bootstrap,
                "answers": kafka_answers(self.bootstrap)
                if port_is_open(self.kafka_port)
                else False,
                "log": str(self.root / "kafka" / "kafka.log"),
            },
            "redis": {
                "pid": self.running_pid("redis"),
                "address": self.redis_url,
                "answers": redis_answers(self.redis_url),
                "log": str(self.root / "redis" / "redis.log"),
            },
        }

    def addresses(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "REDIS_URL": self.redis_url,
            "logs": str(self.root),
        }


def status_table(status: dict[str, dict[str, object]]) -> Table:
    """`leadtemp dev status` as a table."""
    table = Table("service", "pid", "address", "answers", "log")
    for name, s in status.items():
        table.add_row(
            name, str(s["pid"] or "-"), str(s["address"]), str(s["answers"]), str(s["log"])
        )
    return table
