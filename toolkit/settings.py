"""The operator tools' settings: where Kafka and Redis are (streams/plumbing/settings.py), and
the rules file the replaying and explaining tools score with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr

from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections

RULES_ENVIRONMENT = {"LEADTEMP_RULES": "rules_path"}
TOOL_ENVIRONMENT = {**CONNECTION_ENVIRONMENT, **RULES_ENVIRONMENT}


class RulesSettings(BaseModel):
    """The tools that need no Kafka or Redis (replay, rules diff): only the rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules_path: str | None = None


SIMULATOR_ENVIRONMENT = {
    **CONNECTION_ENVIRONMENT,
    "LEADTEMP_GATEWAY_TOKEN": "gateway_token",
    "LEADTEMP_SEGMENT_WRITE_KEY": "segment_write_key",
    "LEADTEMP_SENDGRID_SIGNING_KEY_FILE": "sendgrid_signing_key_file",
}


class SimulatorSettings(Connections):
    """`leadtemp simulate` through a gateway: its token, and for provider payloads the Segment
    write key and the SendGrid signing key (PEM) the gateway's sources file trusts."""

    gateway_token: SecretStr | None = None
    segment_write_key: SecretStr | None = None
    sendgrid_signing_key_file: str | None = None


class ToolSettings(Connections):
    """The tools that read Kafka or Redis; the rules file for those that explain state."""

    rules_path: str | None = None
