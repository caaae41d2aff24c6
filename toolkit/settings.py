"""The operator tools' settings: where Kafka and Redis are (streams/plumbing/settings.py), and
the rules file the replaying and explaining tools score with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from streams.plumbing.settings import CONNECTION_ENVIRONMENT, Connections

RULES_ENVIRONMENT = {"LEADTEMP_RULES": "rules_path"}
TOOL_ENVIRONMENT = {**CONNECTION_ENVIRONMENT, **RULES_ENVIRONMENT}


class RulesSettings(BaseModel):
    """The tools that need no Kafka or Redis (replay, rules diff): only the rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules_path: str | None = None


class ToolSettings(Connections):
    """The tools that read Kafka or Redis; the rules file for those that explain state."""

    rules_path: str | None = None
