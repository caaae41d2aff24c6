"""The image cannot be built here (no Docker engine); check what its build relies on."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_image_compiles_the_engine_with_mypyc() -> None:
    assert "LEADTEMP_COMPILE=1 pip wheel" in DOCKERFILE
    assert "--no-build-isolation" in DOCKERFILE  # mypyc comes from the stage, not isolation


def test_the_build_stage_installs_the_dependencies_mypy_checks_the_engine_against() -> None:
    # Without pydantic, orjson and PyYAML's stubs installed, mypyc stops with import errors.
    install = re.search(r"^RUN pip install (.*?)\\?$", DOCKERFILE, re.M)
    assert install is not None
    assert {"types-pyyaml", "."} <= set(install.group(1).split())


def test_the_build_stage_copies_every_file_the_build_reads() -> None:
    copied = {name for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, re.M)
              for name in line.split()[:-1]}  # fmt: skip
    packages = {name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]
                ["include"]}  # fmt: skip
    assert {"pyproject.toml", "setup.py", "README.md", "scoring", "streams", "alerts"} <= copied
    assert packages <= copied, packages - copied
