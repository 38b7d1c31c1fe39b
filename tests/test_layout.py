"""Tests take their helpers from helper modules, never from other tests.

A helper that more than one test module uses lives in a helper module beside the tests of its domain: under
tests/api, the domain's `flows.py` (tests/api/flows.py for what every API test uses); elsewhere, a module named
for what it holds (tests/pipelines/events.py, tests/guardrail/event_stream.py). Fixtures shared between
modules live in the nearest conftest.py. Only pytest imports a test module (`test_*.py`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

# Imports that wait on files other work is changing: (importing file, imported test module). Remove an entry
# when its helper moves; the list may only shrink.
PENDING: set[tuple[str, str]] = set()  # (file, module) waiting for a move; none left


def is_test_module(dotted: str) -> bool:
    return dotted.rpartition(".")[2].startswith("test_")


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every module `source` imports, relative imports resolved against `package`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]  # `from pkg import module`
    return found


def offenders() -> set[tuple[str, int, str]]:
    """(file, line, test module) for every module under tests/ that imports a test module."""
    found: set[tuple[str, int, str]] = set()
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(ROOT)
        package = ".".join(relative.parent.parts)
        for line, module in imported_modules(path.read_text(), package):
            if module.startswith("tests.") and is_test_module(module):
                found.add((relative.as_posix(), line, module))
    return found


def test_no_module_under_tests_imports_a_test_module() -> None:
    unexpected = sorted(o for o in offenders() if (o[0], o[2]) not in PENDING)
    assert not unexpected, "move these helpers to a helper module:\n" + "\n".join(
        f"{file}:{line} imports {module}" for file, line, module in unexpected
    )


def test_every_pending_import_still_exists() -> None:
    remaining = {(file, module) for file, _, module in offenders()}
    assert not PENDING - remaining, f"fixed, so drop from PENDING: {sorted(PENDING - remaining)}"


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from tests.api.test_errors import assert_problem", "tests.api.test_errors"),
        ("import tests.api.test_errors", "tests.api.test_errors"),
        ("from tests.api import test_errors", "tests.api.test_errors"),
        ("from .test_webhooks import deliver", "tests.api.payments.test_webhooks"),
        ("from ..test_errors import assert_problem", "tests.api.test_errors"),
        ("def helper():\n    from tests.api.test_errors import assert_problem", "tests.api.test_errors"),
    ],
)
def test_every_spelling_of_an_import_is_seen(source: str, module: str) -> None:
    assert module in [name for _, name in imported_modules(source, "tests.api.payments")]
