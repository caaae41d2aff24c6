"""The gateway's settings: flags over the environment over defaults
(streams/plumbing/settings.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import limits
from pydantic import Field, SecretStr, field_validator

from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections, settings_from

GATEWAY_ENVIRONMENT = {
    **CONNECTION_ENVIRONMENT,
    "LEADTEMP_SOURCES": "sources_path",
    "LEADTEMP_GATEWAY_PORT": "port",
    "LEADTEMP_GATEWAY_HTTP_HOST": "http_host",
    "LEADTEMP_GATEWAY_TOKEN": "token",
    "LEADTEMP_GATEWAY_MAX_BODY_BYTES": "max_body_bytes",
    "LEADTEMP_GATEWAY_KAFKA_TIMEOUT_S": "kafka_timeout_s",
    "LEADTEMP_GATEWAY_SOURCE_LIMIT": "source_limit",
    "LEADTEMP_GATEWAY_KEY_LIMIT": "key_limit",
}


class GatewaySettings(Connections):
    """What `leadtemp gateway` needs."""

    sources_path: str | None = None  # the sources file (gateway/sources.py)
    port: int = Field(default=9110, ge=1, le=65535)  # the events and /metrics, probes
    http_host: str = Field(default="0.0.0.0", min_length=1)
    # When set, event requests must bear it (`Authorization: Bearer …`); the probes and
    # /metrics stay open.
    token: SecretStr | None = Field(default=None, min_length=16)
    # A request body above this is refused (413) unread; an event above 1 MiB is dead-lettered
    # by the worker as too_large, so a batch may be larger than one event.
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # How long a request waits for Kafka's acknowledgement before it is answered 503 (the
    # sender retries: every provider's webhooks and Segment do).
    kafka_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Requests allowed (the `limits` package's notation: "2000/second", "100000/hour"): for
    # each source together, and for each key within one (a Segment write key, a form), so
    # that one noisy sender cannot take the others' share. Over it: 429 with Retry-After.
    source_limit: str = "2000/second"
    key_limit: str = "1000/second"

    @field_validator("source_limit", "key_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as e:
            raise ValueError(f"{value!r} is not a rate such as 1000/second ({e})") from None
        return value


def gateway_settings(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> GatewaySettings:
    """The gateway's settings from its flags and the environment (SettingsError names it)."""
    return settings_from(flags, environ, GatewaySettings, GATEWAY_ENVIRONMENT)
