"""`leadtemp demo`: the whole pipeline on one machine, in one command.

Starts Kafka and Redis (unless KAFKA_BOOTSTRAP_SERVERS and REDIS_URL point at running ones),
creates the topics, starts the worker, the notifier (console destination) and the simulator as
child processes, and shows temperature changes as they happen while the notifier prints the
alerts. Ctrl-C stops everything it started."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from devstack.kafka_broker import start_kafka
from devstack.processes import ManagedProcess, die_with_parent, free_port, port_is_open, stop_pid
from devstack.redis_server import start_redis
from devstack.settings import DevSettings
from scoring import ACCOUNTS_TEMPERATURE, LEADS_TEMPERATURE
from streams.plumbing.kafka_access import KafkaAccess, kafka_access, plaintext
from streams.plumbing.settings import Connections, shown_url
from streams.plumbing.topics import all_topics, ensure_topics
from toolkit.providers import SEGMENT_PAGES, sendgrid_keys
from toolkit.tail import follow
from toolkit.views.records import line_of

CHANGES = (LEADS_TEMPERATURE, ACCOUNTS_TEMPERATURE)


@dataclass
class Demo:
    rate: float
    leads: int
    accounts: int
    seed: int
    workdir: Path
    console: Console
    dev: DevSettings
    given: Connections  # Kafka and Redis to use, when both were given
    services: list[ManagedProcess] = field(default_factory=list)
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: bool = False

    def port(self, name: str) -> int:
        """The configured port, or a free one when the default is taken by something else."""
        wanted = int(getattr(self.dev, name))
        chosen = name in self.dev.model_fields_set
        return free_port() if port_is_open(wanted) and not chosen else wanted

    def start_services(self) -> tuple[KafkaAccess, str]:
        """Kafka and Redis: those given (connected to as every process does), or our own for
        the demo's lifetime."""
        if {"kafka_bootstrap_servers", "redis_url"} <= self.given.model_fields_set:
            return kafka_access(self.given), self.given.redis_url
        with self.console.status(
            "starting Redis and Kafka (the first start fetches Kafka's jars)…"
        ):
            redis = start_redis(self.workdir / "redis", self.port("redis_port"))
            self.services.append(redis)
            kafka = start_kafka(self.workdir / "kafka", self.port("kafka_port"), dev=self.dev)
            self.services.append(kafka)
        return plaintext(kafka.address), redis.address

    def spawn(self, name: str, args: list[str], env: dict[str, str], show_stdout: bool) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=None if show_stdout else log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
            preexec_fn=die_with_parent,
        )

    def run(self) -> int:
        # Every demo starts from nothing: no broker data, offsets or state of an earlier run.
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        kafka, redis_url = self.start_services()
        prefix = "" if self.services else f"demo{int(time.time())}."
        ensure_topics(kafka, all_topics(Connections(topic_prefix=prefix)), 4)
        worker_port, notifier_port, gateway_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "REDIS_URL": redis_url,
            "LEADTEMP_TOPIC_PREFIX": prefix,
            "LEADTEMP_REDIS_PREFIX": (prefix.rstrip(".") or "lt") + ":",
            "LEADTEMP_METRICS_PORT": str(worker_port),
            "LEADTEMP_NOTIFIER_METRICS_PORT": str(notifier_port),
            "LEADTEMP_GATEWAY_PORT": str(gateway_port),
            **provider_environment(self.workdir),
            # On shared services, consumer groups of their own too (not a deployment's).
            "LEADTEMP_GROUP_ID": f"{prefix}leadtemp-worker",
            "LEADTEMP_NOTIFIER_GROUP_ID": f"{prefix}leadtemp-notifier",
            "PYTHONUNBUFFERED": "1",
        }
        self.spawn("worker", ["worker", "--loglevel", "warning"], env, show_stdout=False)
        self.spawn("notifier", ["notify", "--loglevel", "warning"], env, show_stdout=True)
        self.spawn("gateway", ["gateway", "--loglevel", "warning"], env, show_stdout=False)
        # The simulated traffic arrives over HTTP, through the gateway, as the tools teams run
        # send it: email events as SendGrid's signed webhook, page views as Segment calls.
        self.spawn("simulator", ["simulate", "--rate", f"{self.rate:g}", "--leads",
                                 str(self.leads), "--accounts", str(self.accounts),
                                 "--seed", str(self.seed),
                                 "--gateway", f"http://127.0.0.1:{gateway_port}",
                                 "--as-providers"],
                   env, show_stdout=False)  # fmt: skip
        self.console.rule("[bold]leadtemp demo")
        self.console.print(
            f"Kafka {kafka.bootstrap}  ·  Redis {shown_url(redis_url)}\n"
            f"worker metrics   http://127.0.0.1:{worker_port}/metrics  "
            f"(and /leads/<id>, /accounts/<id>, /readyz)\n"
            f"notifier metrics http://127.0.0.1:{notifier_port}/metrics\n"
            f"gateway          http://127.0.0.1:{gateway_port}/v1/events  (the simulator "
            f"sends through it; /metrics too)\n"
            f"logs in {self.workdir}  ·  simulating {self.leads} leads at {self.rate:g} events/s"
            f"  ·  Ctrl-C stops everything",
            highlight=False,
        )
        self.console.rule()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries while topics settle
        try:
            asyncio.run(follow(kafka, list(CHANGES), self._show, False, self._done, prefix))
        finally:
            failed = self.stop_everything()
        return 1 if failed else 0

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def _done(self) -> bool:
        if self.stopping:
            return True
        dead = [n for n, p in self.children.items() if p.poll() is not None]
        if dead:
            self.console.print(f"[red]{', '.join(dead)} stopped unexpectedly; see "
                               f"{self.workdir}/{dead[0]}.log[/red]")  # fmt: skip
            return True
        return False

    def _show(self, topic: str, value: dict[str, Any]) -> None:
        if value.get("from") is None and value.get("to") == "cold":
            return  # a new lead's first classification: not news
        self.console.print(line_of(topic, value))

    def stop_everything(self) -> list[str]:
        """Stop the children (simulator first), then the services; names of those that had
        failed before we stopped them."""
        failed = [n for n, p in self.children.items()
                  if p.poll() is not None and p.returncode not in (0, -signal.SIGTERM)]  # fmt: skip
        with self.console.status("stopping…"):
            for name in ("simulator", "gateway", "worker", "notifier"):
                p = self.children.get(name)
                if p is not None and p.poll() is None:
                    stop_pid(p.pid, timeout=20, popen=p)
            for service in reversed(self.services):
                service.stop()
        self.console.print(
            "stopped: " + ", ".join([*self.children, *(s.name for s in self.services)])
        )
        return failed


def run_demo(
    rate: float, leads: int, accounts: int, seed: int, dev: DevSettings, given: Connections
) -> int:
    """`leadtemp demo`: the exit code (ServiceError when a service could not start)."""
    workdir = dev.root / "demo"
    return Demo(rate, leads, accounts, seed, workdir, Console(highlight=False), dev, given).run()


def provider_environment(workdir: Path) -> dict[str, str]:
    """A Segment write key and a SendGrid signing key made for this demo, the sources file
    that makes the gateway trust them, and the settings that tell the gateway and the
    simulator where they are."""
    signing_key, verification_key = sendgrid_keys(workdir)
    sources = workdir / "sources.yaml"
    sources.write_text(yaml.safe_dump({
        "segment": {"write_keys": [{"env": "SEGMENT_WRITE_KEY"}], "pages": dict(SEGMENT_PAGES)},
        "sendgrid": {"public_key": {"env": "SENDGRID_WEBHOOK_KEY"}},
    }))  # fmt: skip
    write_key = secrets.token_urlsafe(16)
    return {"LEADTEMP_SOURCES": str(sources), "SEGMENT_WRITE_KEY": write_key,
            "SENDGRID_WEBHOOK_KEY": verification_key, "LEADTEMP_SEGMENT_WRITE_KEY": write_key,
            "LEADTEMP_SENDGRID_SIGNING_KEY_FILE": str(signing_key)}  # fmt: skip
