"""Settings of every process: flags win over the environment, which wins over defaults;
validated at start-up, a bad one stops it with the setting's name and its variable. Each
process has its own model (streams/settings.py, alerts/settings.py, toolkit/settings.py,
devstack/settings.py), and this is the only place the environment is read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from scoring import problems

# Environment variable -> setting name.
CONNECTION_ENVIRONMENT = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
    "LEADTEMP_KAFKA_SECURITY_PROTOCOL": "kafka_security_protocol",
    "LEADTEMP_KAFKA_SASL_MECHANISM": "kafka_sasl_mechanism",
    "LEADTEMP_KAFKA_USERNAME": "kafka_username",
    "LEADTEMP_KAFKA_PASSWORD": "kafka_password",
    "LEADTEMP_KAFKA_CA_FILE": "kafka_ca_file",
    "LEADTEMP_KAFKA_CERT_FILE": "kafka_cert_file",
    "LEADTEMP_KAFKA_KEY_FILE": "kafka_key_file",
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
    "LEADTEMP_LOG_FORMAT": "log_format",
}

M = TypeVar("M", bound=BaseModel)


class SettingsError(ValueError):
    """Start-up stops with this: which setting (and variable) is wrong, and why."""


class Connections(BaseModel):
    """Where Kafka and Redis are and how names are prefixed: shared by worker and notifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=1)
    # How every Kafka client of the project connects (streams/plumbing/kafka_access.py).
    # SSL and SASL_SSL always verify the brokers' certificates and host names.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        "PLAINTEXT"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    # Both needed with SASL_*, refused without. The password is best given as
    # LEADTEMP_KAFKA_PASSWORD_FILE.
    kafka_username: str | None = Field(default=None, min_length=1, validate_default=True)
    kafka_password: SecretStr | None = Field(default=None, validate_default=True)
    # With SSL or SASL_SSL: the CA that signed the brokers' certificates (else the system's),
    # and a client certificate and its key where the brokers ask for one (mTLS).
    kafka_ca_file: str | None = None
    kafka_cert_file: str | None = None
    kafka_key_file: str | None = Field(default=None, validate_default=True)
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
    # "json": every log line of the worker and the notifier one JSON object with the same keys
    # (streams/plumbing/logs.py: LOG_KEYS), for a log shipper.
    log_format: Literal["text", "json"] = "text"

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

    @field_validator("kafka_username", "kafka_password")
    @classmethod
    def _sasl_credentials(cls, value: Any, info: ValidationInfo) -> Any:
        sasl = str(info.data.get("kafka_security_protocol", "")).startswith("SASL_")
        if sasl and value is None:
            raise ValueError("needed with a SASL_* kafka_security_protocol")
        if not sasl and value is not None:
            raise ValueError("only used with a SASL_* kafka_security_protocol")
        return value

    @field_validator("kafka_ca_file", "kafka_cert_file", "kafka_key_file")
    @classmethod
    def _readable_with_kafka_tls(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.field_name == "kafka_key_file" and (value is None) != (
            info.data.get("kafka_cert_file") is None
        ):
            raise ValueError("a client certificate needs its key: set both or neither")
        if value is None:
            return value
        if info.data.get("kafka_security_protocol") not in ("SSL", "SASL_SSL"):
            raise ValueError("needs kafka_security_protocol SSL or SASL_SSL (TLS)")
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
    def redis_shown(self) -> str:
        """REDIS_URL as messages may show it: a password in it masked."""
        return shown_url(self.redis_url)

    @property
    def broker_url(self) -> str:
        return ";".join(
            f"kafka://{s.strip().removeprefix('kafka://')}"
            for s in self.kafka_bootstrap_servers.split(",")
        )


class Secret(BaseModel):
    """In a YAML file of settings (the routing file, the gateway's sources): a token, URL or
    key read from an environment variable or a file, never written in the file itself
    (`{env: VAR}` or `{file: PATH}`). The environment is the validation context's `environ`
    when given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: str | None = None
    _value: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _resolve(self, info: ValidationInfo) -> Self:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        environ: Mapping[str, str] = (info.context or {}).get("environ", os.environ)
        if self.env is not None:
            value = environ.get(self.env, "")
            if not value:
                raise ValueError(f"environment variable {self.env} is not set")
        else:
            try:
                value = Path(str(self.file)).read_text().strip()
            except OSError as e:
                raise ValueError(f"cannot read {self.file}: {e.strerror}") from None
            if not value:
                raise ValueError(f"{self.file} is empty")
        self._value = value
        return self

    @property
    def value(self) -> str:
        return self._value


def shown_url(url: str) -> str:
    """`url` with the password of its user info (scheme://user:password@host) masked."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


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
        variable = next((v for v, n in variables.items() if n == name), None)
        where = f"{name} ({variable})" if variable else name
        raise SettingsError(f"setting {where}: {first.reason}") from None
