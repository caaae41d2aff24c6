"""Optional native build of the scoring engine with mypyc (README: "The compiled engine").

`pip install .` gives the pure-Python package, as always. With LEADTEMP_COMPILE=1 (and
mypy and leadtemp's dependencies installed, so `pip install --no-build-isolation`), the
engine's modules are compiled to C extensions: same source, same results, a replay
1.2-1.5 times as fast. Everything else comes from pyproject.toml.

Editable installs stay pure on purpose: an extension module next to its .py file would
shadow later edits of that file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

# The engine's hot path: every module of scoring/ but the pydantic models (events, rules,
# schemas), which mypyc cannot compile as native classes, and the package's __init__.
NOT_COMPILED = {"__init__.py", "events.py", "rules.py", "schemas.py"}


def compiled_modules() -> list[str]:
    return sorted(str(p) for p in Path("scoring").glob("*.py") if p.name not in NOT_COMPILED)


def ext_modules() -> list[object]:
    flag = os.environ.get("LEADTEMP_COMPILE", "")
    if flag not in ("", "0", "1"):
        raise SystemExit(f"LEADTEMP_COMPILE: must be 1 (compile) or 0, not {flag!r}")
    if flag != "1":
        return []
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in ("dist_info", "egg_info"):
        return []  # metadata only: no need to type-check and translate the engine for it
    if command == "editable_wheel":
        raise SystemExit("LEADTEMP_COMPILE=1: not for editable installs (see setup.py)")
    try:
        from mypyc.build import mypycify
    except ImportError:
        raise SystemExit(
            "LEADTEMP_COMPILE=1 needs mypy and leadtemp's dependencies installed (mypy"
            " type-checks the engine against them), then pip install --no-build-isolation ."
        ) from None
    return list(mypycify(compiled_modules(), opt_level="3"))


setup(ext_modules=ext_modules())
