"""The scoring engine: pure (no I/O, no asyncio, no Kafka or Redis). Every decision about a
lead's or an account's temperature lives here, once; replay, the worker and its timer call
the same code.

What other packages may use is named here (`__all__`); they import it from `scoring`, never
from its modules (tests/test_layout.py checks)."""

from scoring.engine import Engine, Outcome
from scoring.events import EVENT_TYPES, Event, FormKind, PageCategory, Rejection, parse_event
from scoring.explain import account_report, lead_report
from scoring.model import Model
from scoring.records import Record, dead_letter, lead_forgotten
from scoring.replay import Replay
from scoring.retention import RETENTION_MARGIN_DAYS, expired, shortest_retention_days
from scoring.rules import (
    Rules,
    RulesError,
    longest_window_days,
    rules_as_yaml,
    rules_fingerprint,
    rules_from_yaml,
)
from scoring.rules_diff import (
    TEMPERATURES,
    RulesDiff,
    RunOutcome,
    note_first_hot,
    outcome_of,
    rules_diff,
)
from scoring.schemas import event_schema, output_schema
from scoring.state import ACCOUNT, LEAD, VISITOR, AccountState, LeadState, VisitorState
from scoring.store import MemoryStore, StateStore
from scoring.times import MS_PER_DAY, ms_from_rfc3339, rfc3339_from_ms
from scoring.topics import (
    ACCOUNTS_TEMPERATURE,
    ALERTS_DEADLETTER,
    ALERTS_HOT_ACCOUNT,
    ALERTS_HOT_LEAD,
    ALL_TOPICS,
    EVENTS_DEADLETTER,
    EVENTS_FORM,
    INPUT_TOPICS,
    LEADS_FORGOTTEN,
    LEADS_TEMPERATURE,
    OUTPUT_TOPICS,
    REPARTITION_TOPIC,
    input_topic_of,
)
from scoring.validation import Problem, problems, validation_message

__all__ = [
    "ACCOUNT",
    "ACCOUNTS_TEMPERATURE",
    "ALERTS_DEADLETTER",
    "ALERTS_HOT_ACCOUNT",
    "ALERTS_HOT_LEAD",
    "ALL_TOPICS",
    "EVENTS_DEADLETTER",
    "EVENTS_FORM",
    "EVENT_TYPES",
    "INPUT_TOPICS",
    "LEAD",
    "LEADS_FORGOTTEN",
    "LEADS_TEMPERATURE",
    "MS_PER_DAY",
    "OUTPUT_TOPICS",
    "REPARTITION_TOPIC",
    "RETENTION_MARGIN_DAYS",
    "TEMPERATURES",
    "VISITOR",
    "AccountState",
    "Engine",
    "Event",
    "FormKind",
    "LeadState",
    "MemoryStore",
    "Model",
    "Outcome",
    "PageCategory",
    "Problem",
    "Record",
    "Rejection",
    "Replay",
    "Rules",
    "RulesDiff",
    "RulesError",
    "RunOutcome",
    "StateStore",
    "VisitorState",
    "account_report",
    "dead_letter",
    "engine_build",
    "event_schema",
    "expired",
    "input_topic_of",
    "lead_forgotten",
    "lead_report",
    "longest_window_days",
    "ms_from_rfc3339",
    "note_first_hot",
    "outcome_of",
    "output_schema",
    "parse_event",
    "problems",
    "rfc3339_from_ms",
    "rules_as_yaml",
    "rules_diff",
    "rules_fingerprint",
    "rules_from_yaml",
    "shortest_retention_days",
    "validation_message",
]  # fmt: skip


def engine_build() -> str:
    """How the engine runs here: "compiled" (mypyc extension modules, see setup.py) or "pure"."""
    from scoring import engine

    return "pure" if (engine.__file__ or "").endswith(".py") else "compiled"
