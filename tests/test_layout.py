"""The house rules of the layout (docs/architecture.md), read from the code's imports: they
point one way, the command -> tools / alerts / streams -> scoring; scoring is pure and is used
through its public face; the environment is read by the settings layer alone."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import scoring

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scoring", "streams", "alerts", "gateway", "toolkit", "devstack", "cli")

# Which project packages each may import (itself always). streams.plumbing is the part of
# streams/ that both processes share; "streams" alone means the worker.
MAY_IMPORT = {
    "scoring": set(),
    "streams.plumbing": {"scoring"},
    "streams": {"scoring", "streams.plumbing"},
    "alerts": {"scoring", "streams.plumbing"},
    "gateway": {"scoring", "streams.plumbing"},
    "toolkit": {"scoring", "streams", "streams.plumbing"},
    "devstack": {"scoring", "streams.plumbing", "toolkit"},
    "cli": {"scoring", "streams", "streams.plumbing", "alerts", "gateway", "toolkit",
            "devstack"},
}
# What would make scoring/ do I/O or run an event loop.
NOT_PURE = {"asyncio", "socket", "subprocess", "redis", "aiokafka", "kafka", "faust", "mode",
            "aiohttp", "urllib", "http", "requests"}  # fmt: skip
# Where the environment may be read: the settings layer (streams/plumbing/settings.py).
READS_ENVIRONMENT = {"streams/plumbing/settings.py"}


def modules() -> Iterator[tuple[Path, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts)


def part_of(module: str) -> str | None:
    """The layer a project module belongs to (None: not the project's)."""
    if module == "streams.plumbing" or module.startswith("streams.plumbing."):
        return "streams.plumbing"
    top = module.split(".")[0]
    return top if top in PACKAGES else None


def imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every import in a file, nested ones included."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]


def test_imports_point_one_way() -> None:
    wrong = []
    for path, module in modules():
        mine = part_of(module)
        assert mine is not None
        for line, imported, _ in imports(path):
            theirs = part_of(imported)
            if theirs is not None and theirs != mine and theirs not in MAY_IMPORT[mine]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_command() -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line}" for path, module in modules()
             if part_of(module) != "cli"
             for line, imported, _ in imports(path) if part_of(imported) == "cli"]  # fmt: skip
    assert not wrong


def test_scoring_does_no_io() -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {imported}"
             for path, module in modules() if part_of(module) == "scoring"
             for line, imported, _ in imports(path)
             if imported.split(".")[0] in NOT_PURE]  # fmt: skip
    assert not wrong, wrong


def test_other_packages_use_only_the_public_face_of_scoring() -> None:
    wrong = []
    for path, module in modules():
        if part_of(module) == "scoring":
            continue
        for line, imported, names in imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if imported.startswith("scoring."):
                wrong.append(f"{where} imports {imported}")
            elif imported == "scoring":
                wrong += [f"{where} imports scoring.{n}" for n in names if n not in scoring.__all__]
    assert not wrong, "\n".join(wrong)


def reads_of_the_environment(path: Path) -> Iterator[int]:
    """Lines that read a variable (os.environ[...], .get, in os.environ, os.getenv); passing
    the whole environment on to a child process is not reading it."""
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Attribute) and node.attr in ("getenv", "environb")) or (isinstance(node, ast.Subscript) and _is_environ(node.value)) or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("get", "setdefault", "pop") and _is_environ(node.func.value)) or (isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators)):
            yield node.lineno


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def test_only_the_settings_layer_reads_the_environment() -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line}" for path, _ in modules()
             if str(path.relative_to(ROOT)) not in READS_ENVIRONMENT
             for line in reads_of_the_environment(path)]  # fmt: skip
    assert not wrong, wrong


@pytest.mark.parametrize("package", PACKAGES)
def test_a_long_module_says_first_why_it_is_one(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > 420:
            doc = ast.get_docstring(ast.parse(text)) or ""
            assert "one module" in doc, f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines"
