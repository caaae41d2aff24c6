"""Where the local dev services keep their jars, data and logs, and on which ports they listen:
from the environment (streams/plumbing/settings.py), with defaults for a developer's machine."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from streams.plumbing.settings import settings_from

DEFAULT_KAFKA_VERSION = "3.9.2"

DEV_ENVIRONMENT = {
    "LEADTEMP_HOME": "home",
    "LEADTEMP_DEV_DIR": "dev_dir",
    "LEADTEMP_KAFKA_PORT": "kafka_port",
    "LEADTEMP_REDIS_PORT": "redis_port",
    "LEADTEMP_KAFKA_VERSION": "kafka_version",
}


class DevSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default_factory=lambda: Path.home() / ".cache" / "leadtemp")  # jars
    dev_dir: Path | None = None  # data and logs; default: <home>/dev
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    redis_port: int = Field(default=6379, ge=1, le=65535)
    kafka_version: str = Field(default=DEFAULT_KAFKA_VERSION, pattern=r"^\d+\.\d+\.\d+$")

    @property
    def root(self) -> Path:
        return self.dev_dir or self.home / "dev"


def dev_settings() -> DevSettings:
    """The dev services' settings from the environment (SettingsError names a bad one)."""
    return settings_from({}, None, DevSettings, DEV_ENVIRONMENT)
