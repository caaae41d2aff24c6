"""Worker settings: flags over environment over defaults; a bad one names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.plumbing.settings import SettingsError
from streams.settings import worker_settings


def test_defaults_suit_the_dev_stack() -> None:
    s = worker_settings({}, {})
    assert (s.kafka_bootstrap_servers, s.redis_url, s.clock) == (
        "127.0.0.1:9092", "redis://127.0.0.1:6379/0", "wall",
    )  # fmt: skip


def test_environment_is_read_and_flags_win() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092", "LEADTEMP_BATCH_SIZE": "50"}
    s = worker_settings({"batch_size": 7}, env)
    assert (s.kafka_bootstrap_servers, s.batch_size) == ("k1:9092,k2:9092", 7)
    assert s.broker_url == "kafka://k1:9092;kafka://k2:9092"


def test_topic_prefix_applies_to_every_topic() -> None:
    s = worker_settings({"topic_prefix": "staging."}, {})
    assert s.input_topics[0] == "staging.events.email"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"LEADTEMP_BATCH_SIZE": "0"},
            "setting batch_size (LEADTEMP_BATCH_SIZE): Input should be greater than or equal to 1",
        ),
        (
            {"LEADTEMP_BATCH_SIZE": "many"},
            "setting batch_size (LEADTEMP_BATCH_SIZE): Input should be a valid integer",
        ),
        (
            {"REDIS_URL": "localhost:6379"},
            "setting redis_url (REDIS_URL): must start with redis://",
        ),
        (
            {"KAFKA_BOOTSTRAP_SERVERS": "kafka"},
            "setting kafka_bootstrap_servers (KAFKA_BOOTSTRAP_SERVERS): 'kafka' is not host:port",
        ),
        (
            {"LEADTEMP_CLOCK": "sundial"},
            "setting clock (LEADTEMP_CLOCK): Input should be 'wall' or 'event'",
        ),
        (
            {"LEADTEMP_ROLE": "both"},
            "setting role (LEADTEMP_ROLE): Input should be 'all', 'ingest' or 'score'",
        ),
        (
            {"LEADTEMP_REDIS_CA_FILE": "/etc/hostname"},
            "setting redis_ca_file (LEADTEMP_REDIS_CA_FILE): needs a rediss:// REDIS_URL (TLS)",
        ),
        (
            {"REDIS_URL": "rediss://redis.example.com:6380/0", "LEADTEMP_REDIS_CA_FILE": "/nope"},
            "setting redis_ca_file (LEADTEMP_REDIS_CA_FILE): cannot read /nope",
        ),
        (
            {"LEADTEMP_API_TOKEN": "short"},
            "setting api_token (LEADTEMP_API_TOKEN): Value should have at least 16 items",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as e:
        worker_settings({}, env)
    assert str(e.value).startswith(message)


def test_a_setting_can_come_from_a_file_named_by_its_variable_with_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("a-token-of-32-characters-or-so-1\n")
    s = worker_settings({}, {"LEADTEMP_API_TOKEN_FILE": str(secret)})
    assert s.api_token is not None
    assert s.api_token.get_secret_value() == "a-token-of-32-characters-or-so-1"


def test_an_unreadable_settings_file_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"api_token \(LEADTEMP_API_TOKEN_FILE\): cannot read"):
        worker_settings({}, {"LEADTEMP_API_TOKEN_FILE": str(tmp_path / "missing")})


def test_a_token_never_shows_in_the_settings_printed() -> None:
    s = worker_settings({}, {"LEADTEMP_API_TOKEN": "a-token-of-32-characters-or-so-1"})
    assert "a-token-of-32" not in repr(s) and "a-token-of-32" not in str(s.model_dump())
