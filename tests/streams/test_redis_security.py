"""The worker and the notifier on a Redis run as managed services run it (TLS only, an ACL
user, the default user off): the same records as replay; a wrong password or an untrusted
certificate stops start-up within seconds, naming the setting, the password never shown."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import Services, TlsRedis
from tests.live import Worker, exits_with
from tests.streams.test_worker import (
    outputs_with_lead_records,
    per_key,
    produce_one_by_one,
    replay_records,
)

pytestmark = pytest.mark.services


def on_tls_redis(services: Services, tls: TlsRedis, prefix: str, tmp_path: Path,
                 command: str = "worker", **env: str) -> Worker:  # fmt: skip
    secret = tmp_path / "redis-password"
    secret.write_text(tls.password + "\n")
    env = {"LEADTEMP_REDIS_USERNAME": tls.user, "LEADTEMP_REDIS_PASSWORD_FILE": str(secret),
           "LEADTEMP_REDIS_CA_FILE": str(tls.ca_file), **env}  # fmt: skip
    return Worker(dataclasses.replace(services, redis_url=tls.url, redis_cluster=False), prefix,
                  tmp_path, command=command, **env)  # fmt: skip


def test_a_worker_on_redis_with_tls_and_an_acl_user_gives_the_records_of_replay(
    services: Services, tls_redis: TlsRedis, topic_prefix: str, tmp_path: Path, examples: Path
) -> None:
    worker = on_tls_redis(services, tls_redis, topic_prefix, tmp_path, LEADTEMP_CLOCK="event")
    try:
        lines = (examples / "personas.jsonl").read_bytes().splitlines()
        worker.start()
        produce_one_by_one(worker, lines)
        want = [(r.key, r.value) for r in replay_records(lines) if r.topic == "leads.temperature"]
        got = outputs_with_lead_records(worker, len(want))
        assert per_key(got["leads.temperature"], "change_id") == per_key(want, "change_id")
    finally:
        worker.stop_all()


@pytest.mark.parametrize("command", ["worker", "notify"])
def test_a_wrong_redis_password_stops_start_up_at_once_naming_the_setting(
    services: Services, tls_redis: TlsRedis, topic_prefix: str, tmp_path: Path, command: str
) -> None:
    wrong = "not-" + tls_redis.password
    worker = on_tls_redis(services, tls_redis, topic_prefix, tmp_path, command,
                          LEADTEMP_REDIS_PASSWORD=wrong)  # fmt: skip
    code, log, took = exits_with(worker)
    assert code == 2 and took < 20
    assert "setting redis_url (REDIS_URL): Redis refused the credentials" in log
    assert wrong not in log and tls_redis.password not in log


def test_an_untrusted_redis_certificate_stops_start_up_naming_the_ca_setting(
    services: Services, tls_redis: TlsRedis, topic_prefix: str, tmp_path: Path
) -> None:
    worker = on_tls_redis(services, tls_redis, topic_prefix, tmp_path,
                          LEADTEMP_REDIS_CA_FILE=str(tls_redis.other_ca_file))  # fmt: skip
    code, log, took = exits_with(worker)
    assert code == 2 and took < 20
    assert "setting redis_ca_file (LEADTEMP_REDIS_CA_FILE): Redis's TLS certificate is not " \
           "trusted" in log  # fmt: skip
