"""Every third-party module the plugin imports is declared in pyproject.toml.

An import that works only because a developer installed the package by hand passes locally and fails on a fresh
machine (CI once lost a whole run to an undeclared ``scipy``). This reads the plugin's imports and maps each to the
distribution that provides it in this environment.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _third_party_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "pytest_blissful").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "pytest_blissful":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_every_imported_package_is_declared() -> None:
    providers = packages_distributions()
    declared = _declared()
    undeclared = {}
    for module, files in _third_party_imports().items():
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        # Some distributions bring modules of their dependencies' names (e.g. allure_commons): those count
        # when a declared distribution requires them, which a fresh install then honours.
        provided = bool(distributions & declared) or any(_requires(d, distributions) for d in declared)
        if not provided:
            undeclared[module] = sorted(files)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def _requires(declared: str, distributions: set[str]) -> bool:
    from importlib.metadata import PackageNotFoundError, requires

    try:
        requirements = requires(declared) or []
    except PackageNotFoundError:
        return False
    names = {re.split(r"[<>=!~\[; ()]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}
    return bool(names & distributions)
