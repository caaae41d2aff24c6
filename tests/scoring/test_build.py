"""Which build of the engine runs: the source (pure Python) or the mypyc-compiled one."""

import os

from scoring import engine_build


def test_the_engine_runs_the_build_the_run_expects() -> None:
    # deploy/test.sh runs the engine's tests a second time on the compiled build, with
    # LEADTEMP_EXPECT_BUILD=compiled: this fails if that run silently imported the source.
    assert engine_build() == os.environ.get("LEADTEMP_EXPECT_BUILD", "pure")
