"""Which build of the engine runs: the source (pure Python) or the mypyc-compiled one."""

import os

import pytest

from scoring import engine_build
from scoring.accounts import AccountView
from scoring.engine import Outcome
from scoring.profile import ProfileFacts
from scoring.records import Record
from scoring.state import LeadState
from scoring.temperature import Scores


def test_the_engine_runs_the_build_the_run_expects() -> None:
    # deploy/test.sh runs the engine's tests a second time on the compiled build, with
    # LEADTEMP_EXPECT_BUILD=compiled: this fails if that run silently imported the source.
    assert engine_build() == os.environ.get("LEADTEMP_EXPECT_BUILD", "pure")


PER_EVENT_CLASSES = [Record, ProfileFacts, AccountView, Scores, Outcome, LeadState]


@pytest.mark.parametrize("cls", PER_EVENT_CLASSES, ids=lambda c: c.__name__)
def test_classes_built_for_every_event_have_their_own_init(cls: type) -> None:
    # A dataclass's generated __init__ is Python even in the compiled build; these classes
    # write theirs out so that, compiled, it is native (measured ≈0.5 µs a call saved).
    init = cls.__dict__["__init__"]
    if engine_build() == "compiled":
        assert type(init).__name__ == "wrapper_descriptor"
    else:
        assert init.__code__.co_filename != "<string>"  # where dataclasses exec()s theirs
