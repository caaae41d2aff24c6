"""Settings of every process: flags win over the environment, which wins over defaults;
validated at start-up, a bad one stops it with the setting's name and its variable. Each
process has its own model (streams/settings.py, alerts/settings.py, toolkit/settings.py,
devstack/settings.py), and this is the only place the environment is read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from scoring import problems

# Environment variable -> setting name.
CONNECTION_ENVIRONMENT = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
    "REDIS_URL": "redis_url",
    "LEADTEMP_TOPIC_PREFIX": "topic_prefix",
    "LEADTEMP_REDIS_PREFIX": "redis_prefix",
    "LEADTEMP_PARTITIONS": "partitions",
    "LEADTEMP_REDIS_CLUSTER": "redis_cluster",
    "LEADTEMP_REDIS_USERNAME": "redis_username",
    "LEADTEMP_REDIS_PASSWORD": "redis_password",
    "LEADTEMP_REDIS_CA_FILE": "redis_ca_file",
    "LEADTEMP_REDIS_CERT_FILE": "redis_cert_file",
    "LEADTEMP_REDIS_KEY_FILE": "redis_key_file",
    "LEADTEMP_REPLICATION_FACTOR": "replication_factor",
    "LEADTEMP_MIN_INSYNC_REPLICAS": "min_insync_replicas",
    "LEADTEMP_INPUT_RETENTION_DAYS": "input_retention_days",
}

M = TypeVar("M", bound=BaseModel)


class SettingsError(ValueError):
    """Start-up stops with this: which setting (and variable) is wrong, and why."""


class Connections(BaseModel):
    """Where Kafka and Redis are and how names are prefixed: shared by worker and notifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=1)
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", min_length=1)
    topic_prefix: str = ""
    # Keys carry hash tags of their own (one per partition: streams/keys.py), so the prefix
    # holds no braces.
    redis_prefix: str = "lt:"
    # REDIS_URL names a node of a Redis Cluster (the client finds the others).
    redis_cluster: bool = False
    # An ACL user (or put them in REDIS_URL: redis://user:password@host). The password is
    # best given as LEADTEMP_REDIS_PASSWORD_FILE.
    redis_username: str | None = Field(default=None, min_length=1)
    redis_password: SecretStr | None = None
    # With a rediss:// URL: the CA that signed Redis's certificate (else the system's), and a
    # client certificate and key where Redis asks for one. The certificate and its host name
    # are always verified.
    redis_ca_file: str | None = None
    redis_cert_file: str | None = None
    redis_key_file: str | None = None
    partitions: int = Field(default=4, ge=1, le=1024)  # of the topics it creates
    # Of the topics it creates (streams/plumbing/topics.py: topic_plan): replicas, capped by
    # the brokers there are (so 1 on the local dev broker); writes need this many in sync,
    # capped one below the replicas, so that one broker may be lost.
    replication_factor: int = Field(default=3, ge=1, le=16)
    min_insync_replicas: int = Field(default=2, ge=1, le=16)
    # How long the input topics keep events; unset: forever, so a replay always has the whole
    # history (decayed points have no window). A number must cover the rules' longest window
    # plus a margin.
    input_retention_days: float | None = Field(default=None, gt=0)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("redis_ca_file", "redis_cert_file", "redis_key_file")
    @classmethod
    def _readable_with_tls(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if not str(info.data.get("redis_url", "")).startswith("rediss://"):
            raise ValueError("needs a rediss:// REDIS_URL (TLS)")
        if not os.access(value, os.R_OK):
            raise ValueError(f"cannot read {value}")
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _no_hash_tag(cls, value: str) -> str:
        if "{" in value or "}" in value:
            raise ValueError("must hold no braces (keys carry hash tags of their own)")
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().removeprefix("kafka://").rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return value

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def broker_url(self) -> str:
        return ";".join(
            f"kafka://{s.strip().removeprefix('kafka://')}"
            for s in self.kafka_bootstrap_servers.split(",")
        )


def _file_value(variable: str, path: str, name: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise SettingsError(f"setting {name} ({variable}): cannot read {path}: {reason}") from None


def settings_from(
    flags: Mapping[str, Any],
    environ: Mapping[str, str] | None,
    model: type[M],
    variables: Mapping[str, str],
) -> M:
    """Flags win over the environment, which wins over defaults; SettingsError names the key.
    Any variable may instead name a file holding its value, as `<VARIABLE>_FILE` (how
    Kubernetes and Docker mount secrets); its trailing newline is not part of the value."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, name in variables.items():
        if var in environ:
            values[name] = environ[var]
        elif f"{var}_FILE" in environ:
            values[name] = _file_value(f"{var}_FILE", environ[f"{var}_FILE"], name)
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return model.model_validate(values)
    except ValidationError as e:
        first = problems(e)[0]
        name = first.path.split(".")[0] or "(settings)"
        var = next((v for v, n in variables.items() if n == name), None)
        where = f"{name} ({var})" if var else name
        raise SettingsError(f"setting {where}: {first.reason}") from None
