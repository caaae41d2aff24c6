"""leadtemp on Kafka and Redis as managed services run them: a broker's SASL_SSL listener
(SCRAM-SHA-512, a CA made by the test) and a TLS-only Redis with an ACL user. Every process
and tool connects with the same settings: `topics create` and `check`, `produce`, the worker,
the notifier (an alert reaches Slack), `tail` and `export`. A wrong password or an untrusted
certificate stops each within seconds, naming the setting, no secret shown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from devstack.processes import die_with_parent
from tests.alerts.conftest import environ as provider_environment
from tests.alerts.providers import WEBHOOK_PATH, Providers
from tests.conftest import SecureKafka, Services, TlsRedis
from tests.live import Worker, exits_with, wait_for

pytestmark = [pytest.mark.services, pytest.mark.timeout(400)]


def secured_environment(kafka: SecureKafka, redis: TlsRedis, prefix: str,
                        tmp_path: Path) -> dict[str, str]:  # fmt: skip
    """Every setting a process needs on these services; passwords from files."""
    files = {"kafka-password": kafka.password, "redis-password": redis.password}
    for name, secret in files.items():
        (tmp_path / name).write_text(secret + "\n")
    env = {k: v for k, v in kafka.environment().items() if k != "LEADTEMP_KAFKA_PASSWORD"}
    return {
        **env, "LEADTEMP_KAFKA_PASSWORD_FILE": str(tmp_path / "kafka-password"),
        "REDIS_URL": redis.url, "LEADTEMP_REDIS_USERNAME": redis.user,
        "LEADTEMP_REDIS_PASSWORD_FILE": str(tmp_path / "redis-password"),
        "LEADTEMP_REDIS_CA_FILE": str(redis.ca_file), "LEADTEMP_TOPIC_PREFIX": prefix,
        "LEADTEMP_PARTITIONS": "4",
    }  # fmt: skip


def leadtemp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def processes(kafka: SecureKafka, redis: TlsRedis, prefix: str, tmp_path: Path,
              command: str, **env: str) -> Worker:  # fmt: skip
    services = Services(kafka.sasl_ssl, redis.url, "local processes")
    return Worker(services, prefix, tmp_path, command=command,
                  **{**secured_environment(kafka, redis, prefix, tmp_path), **env})  # fmt: skip


def routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump({
        "destinations": {"team-slack": {"type": "slack_webhook",
                                        "webhook_url": {"env": "SLACK_WEBHOOK_URL"}}},
        "default": ["team-slack"], "crm_url": "https://crm.example.com/leads/{lead_id}",
    }))  # fmt: skip
    return path


def slack_leads(providers: Providers, since: float) -> set[str]:
    return {r.body.decode().split("crm.example.com/leads/")[1].split('"')[0]
            for r in providers.accepted(WEBHOOK_PATH) if r.at >= since}  # fmt: skip


def test_every_process_and_tool_round_trips_over_sasl_ssl_and_tls_redis(
    secure_kafka: SecureKafka, tls_redis: TlsRedis, providers: Providers,
    topic_prefix: str, tmp_path: Path, examples: Path,
) -> None:  # fmt: skip
    env = secured_environment(secure_kafka, tls_redis, topic_prefix, tmp_path)
    created = leadtemp("topics", "create", env=env)
    assert created.returncode == 0, created.stderr
    assert f"{topic_prefix}alerts.hot-lead: created" in created.stdout
    t0 = time.time()
    worker = processes(secure_kafka, tls_redis, topic_prefix, tmp_path, "worker",
                       LEADTEMP_CLOCK="event")  # fmt: skip
    notifier = processes(secure_kafka, tls_redis, topic_prefix, tmp_path, "notify",
                         LEADTEMP_ROUTES=str(routes(tmp_path)),
                         **provider_environment(providers))  # fmt: skip
    tail_out = tmp_path / "tail.out"
    try:
        worker.start()
        notifier.start()
        produced = leadtemp("produce", str(examples / "personas.jsonl"), env=env)
        assert produced.returncode == 0, produced.stderr
        # Lisa's demo request makes her hot, whatever the order of the other events.
        wait_for(lambda: "lisa" in slack_leads(providers, t0), 120, "Lisa's alert on Slack")

        with open(tail_out, "wb") as out:
            tail = subprocess.Popen(
                [sys.executable, "-m", "cli", "tail", "--from-beginning", "--topic",
                 "alerts.hot-lead"], env={**os.environ, **env}, stdout=out,
                stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
            )  # fmt: skip
        try:
            wait_for(lambda: "lisa" in tail_out.read_text(errors="replace"), 60,
                     "Lisa's alert on tail's output")  # fmt: skip
            tail.send_signal(signal.SIGINT)
            assert tail.wait(timeout=30) == 0
        finally:
            if tail.poll() is None:
                tail.kill()

        exported = leadtemp("export", "-o", str(tmp_path / "export.jsonl"), env=env)
        assert exported.returncode == 0, exported.stderr
        assert len((tmp_path / "export.jsonl").read_bytes().splitlines()) == 22
        checked = leadtemp("topics", "check", env=env)
        assert checked.returncode == 0 and "topics as planned" in checked.stdout
    finally:
        worker.stop_all()
        notifier.stop_all()
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
    assert secure_kafka.password not in logs and tls_redis.password not in logs


@pytest.mark.parametrize("command", ["worker", "notify"])
def test_a_wrong_kafka_password_stops_start_up_within_seconds_naming_the_setting(
    secure_kafka: SecureKafka, tls_redis: TlsRedis, topic_prefix: str, tmp_path: Path,
    command: str,
) -> None:  # fmt: skip
    wrong = "not-" + secure_kafka.password
    worker = processes(secure_kafka, tls_redis, topic_prefix, tmp_path, command,
                       LEADTEMP_KAFKA_PASSWORD=wrong)  # fmt: skip
    del worker.env["LEADTEMP_KAFKA_PASSWORD_FILE"]
    code, log, took = exits_with(worker)
    assert code == 2 and took < 20
    assert "setting kafka_password (LEADTEMP_KAFKA_PASSWORD): the brokers refused" in log
    assert wrong not in log and secure_kafka.password not in log


def test_an_untrusted_kafka_certificate_stops_the_worker_naming_the_ca_setting(
    secure_kafka: SecureKafka, tls_redis: TlsRedis, topic_prefix: str, tmp_path: Path
) -> None:
    worker = processes(secure_kafka, tls_redis, topic_prefix, tmp_path, "worker",
                       LEADTEMP_KAFKA_CA_FILE=str(secure_kafka.other_ca_file))  # fmt: skip
    code, log, took = exits_with(worker)
    assert code == 2 and took < 20
    assert "setting kafka_ca_file (LEADTEMP_KAFKA_CA_FILE): the brokers' TLS certificate is " \
           "not trusted" in log  # fmt: skip


@pytest.mark.parametrize("tool", [["produce", "-"], ["export", "-o", "-"], ["topics", "check"]])
def test_a_tool_given_a_wrong_kafka_password_exits_2_naming_the_setting(
    secure_kafka: SecureKafka, tls_redis: TlsRedis, topic_prefix: str, tmp_path: Path,
    tool: list[str],
) -> None:  # fmt: skip
    env = secured_environment(secure_kafka, tls_redis, topic_prefix, tmp_path)
    (tmp_path / "kafka-password").write_text("not-the-password\n")
    done = leadtemp(*tool, env=env)
    assert done.returncode == 2
    assert "error: setting kafka_password (LEADTEMP_KAFKA_PASSWORD)" in done.stderr
