"""The session state lives in a leaf module: nothing below ``plugin.py`` imports it (no import cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_blissful"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("relative", [
    "fixtures.py", "_session.py", "suites/test_integration.py",
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "report").glob("*.py")),
])
def test_module_does_not_import_the_plugin_module(relative: str) -> None:
    imported = _imports(PACKAGE / relative)
    assert "pytest_blissful.plugin" not in imported, f"{relative} imports pytest_blissful.plugin"


def test_session_module_is_a_leaf() -> None:
    allowed = {"__future__", "contextlib", "time", "pathlib", "typing", "pytest", "hashlib", "os", "signal",
               "pytest_blissful.config.discovery", "pytest_blissful.config.schema",
               "pytest_blissful.stack.manager", "pytest_blissful.stack.ledger", "pytest_blissful.config.loader"}
    assert _imports(PACKAGE / "_session.py") <= allowed
