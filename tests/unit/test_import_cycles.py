"""No import cycles between the modules of ``pytest_blissful`` (ARCHITECTURE: "imports only point down").

The graph is built statically from the AST of every ``.py`` file of the package, so it sees *every* import
statement: module level, inside functions (lazy imports), under ``if TYPE_CHECKING:`` and in ``try`` blocks.
A lazy or type-only import still says "this module needs that one", so hiding an import in a function does not
break a cycle here; moving the code to the module where it belongs does.

How an import becomes an edge (only edges to modules of the package are kept):

- ``import a.b.c`` -> ``a.b.c``.
- ``from a.b import c`` -> ``a.b.c`` when ``a/b/c.py`` (or the package ``a/b/c/``) exists, else ``a.b``
  (the package ``__init__`` that defines or re-exports ``c``). Relative imports are resolved first.
- Importing ``a.b.c`` also depends on the packages ``a.b`` and ``a`` (their ``__init__`` runs first), **except**
  the importer's own enclosing packages. ``pytest_blissful.chaos.probe`` importing ``pytest_blissful.grading.fmea``
  depends on ``pytest_blissful.grading`` too: whatever ``grading/__init__.py`` imports runs before ``fmea`` does.
  But ``pytest_blissful.stack.compose`` importing ``pytest_blissful.stack.model`` gets no edge to
  ``pytest_blissful.stack``: Python has initialised a module's own package before the module runs, whatever it
  imports, and counting that edge would make every package that re-exports its submodules (``stack/__init__.py``
  re-exports ``stack.model``) a "cycle" with each submodule that imports a sibling by its full name. A submodule
  that really needs its package's ``__init__`` (``from pytest_blissful.stack import Stack``) gets the explicit
  edge of the rule above, and a cycle through it is reported.

Not seen: modules named in strings (``importlib.import_module(name)``, Chaos Toolkit providers in experiment
files). ``stack/__init__.py`` loads its exports that way and names the same modules under ``TYPE_CHECKING``,
so its edges are counted.

Strongly connected components (Tarjan's algorithm; networkx is not a dependency of the project) with more than
one module are cycles; a module importing itself is ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pytest_blissful"

# Cycles known and owned elsewhere: each entry the exact set of modules of one strongly connected component, with
# the reason it is tolerated. None today; nothing may be added here without a reason a reviewer accepts.
ALLOWED_CYCLES: dict[frozenset[str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve_from(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(path: Path, importer: str, known: Iterable[str]) -> set[str]:
    modules = set(known)
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_from(node, importer, is_package)
            named.add(source)  # `from pkg import mod` runs pkg/__init__ first: an edge to pkg, even from inside it
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in modules else source)
    for target in list(targets):
        parts = target.split(".")
        targets.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return {target for target in targets
            if target in modules and target != importer
            and (not importer.startswith(target + ".") or target in named)}


def import_graph() -> dict[str, set[str]]:
    """Module name -> the package's modules it imports (anywhere in its source)."""
    modules = _modules()
    return {name: _imported(path, name, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on deep graphs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(frozenset(component))
    return found


def _describe(component: frozenset[str], graph: dict[str, set[str]]) -> str:
    edges = sorted(f"  {a} -> {b}" for a in component for b in graph[a] if b in component)
    return "\n".join([f"cycle among {len(component)} modules:", *edges])


def test_the_edge_rules(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from . import sibling\n"              # relative, a submodule (and its package, which runs first)
        "from ..other import Thing\n"          # relative, a name defined in a package's __init__
        "def lazy():\n"
        "    import p.far.deep\n"              # lazy, dotted: p.far.deep and the package p.far (p is our own)
    )
    known = {"p", "p.sub", "p.sub.mod", "p.sub.sibling", "p.other", "p.far", "p.far.deep"}
    assert _imported(source, "p.sub.mod", known) == {"p.sub.sibling", "p.sub", "p.other", "p.far.deep", "p.far"}


def test_the_package_graph() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "pytest_blissful.plugin" in graph
    # a function-level import counts: the fault checks import the overload action inside a function only
    assert "pytest_blissful.chaos.actions.overload" in graph["pytest_blissful.chaos.verify"]
    # ``from pytest_blissful.stack import kubernetes`` is the submodule, not the package
    assert "pytest_blissful.stack.kubernetes" in graph["pytest_blissful.stack.manager"]
    # another layer's package __init__ counts; a module's own enclosing package does not
    assert "pytest_blissful.grading" in graph["pytest_blissful.chaos.probe"]
    assert "pytest_blissful.stack" not in graph["pytest_blissful.stack.compose"]


def test_tarjan_finds_cycles_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}, "g": set()}
    components = {c for c in strongly_connected(graph) if len(c) > 1}
    assert components == {frozenset("abc"), frozenset("de")}


def test_no_import_cycles_outside_the_allow_list() -> None:
    graph = import_graph()
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    unexpected = [c for c in cycles if c not in ALLOWED_CYCLES]
    assert not unexpected, "\n\n".join(_describe(c, graph) for c in unexpected)

