"""The notifier's settings: flags over the environment over defaults (streams/plumbing/settings.py);
the routing file holds everything about destinations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections, settings_from

NOTIFIER_ENVIRONMENT = {
    **CONNECTION_ENVIRONMENT,
    "LEADTEMP_ROUTES": "routes_path",
    "LEADTEMP_NOTIFIER_GROUP_ID": "group_id",
    "LEADTEMP_NOTIFIER_METRICS_PORT": "metrics_port",
    "LEADTEMP_NOTIFIER_HTTP_HOST": "http_host",
    "LEADTEMP_NOTIFIER_MAX_IN_FLIGHT": "max_in_flight",
    "LEADTEMP_NOTIFIER_LEASE_MS": "lease_ms",
    "LEADTEMP_NOTIFIER_FLUSH_INTERVAL_MS": "flush_interval_ms",
}


class NotifierSettings(Connections):
    """What `leadtemp notify` needs; the routing file holds everything about destinations."""

    routes_path: str | None = None
    group_id: str = Field(default="leadtemp-notifier", min_length=1)
    metrics_port: int = Field(default=9109, ge=0, le=65535)
    http_host: str = Field(default="0.0.0.0", min_length=1)  # the interface it listens on
    max_in_flight: int = Field(default=1000, ge=1, le=100_000)
    # How long a crashed notifier's claim on a delivery blocks others (each attempt extends it
    # by the destination's timeout on top).
    lease_ms: int = Field(default=30_000, ge=1_000, le=3_600_000)
    flush_interval_ms: int = Field(default=1_000, ge=50, le=3_600_000)


def notifier_settings(
    flags: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> NotifierSettings:
    """The notifier's settings from its flags and the environment (SettingsError names it)."""
    return settings_from(flags, environ, NotifierSettings, NOTIFIER_ENVIRONMENT)
