"""Fenced code blocks of the project's Markdown docs, with the directive that says how each one is tested.

A directive is an HTML comment on the line before the fence: ``<!-- docs-test: KIND [ARG] -->``. Kinds:

- ``file PATH``: the block is the file PATH of the repository (shown in full, so the docs cannot drift from it);
- ``config``: a ``blissful.yaml`` (validated by the configuration loader);
- ``pytest``: a test module, run against the guide's example service (tests/docs/test_your_service.py);
- ``example``: a test module that needs a stack of its own (canary, comparison, cluster): compiled, and every
  fixture it asks for must be one the plugin provides;
- ``fragment``: a member of a larger JSON object (parsed inside braces);
- ``shell``: commands; every ``pytest`` option and marker must exist, every repository path must exist;
- ``output``: what a command prints (not code; not run).

Without a directive the language decides: ``bash``/``sh`` → shell, ``yaml`` → config when its top-level keys
are configuration sections, ``python`` → pytest, ``json`` → experiment, ``groovy`` → Groovy parse, no language or
``text`` → output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "experiments" / "README.md")
_FENCE = re.compile(r"^(`{3,})([\w+-]*)\s*$")
_DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*([\w-]+)\s*(.*?)\s*-->")
CONFIG_SECTIONS = {"stack", "load", "slos", "chaos", "comparison", "canary"}


@dataclass(frozen=True)
class Snippet:
    doc: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    directive: str | None
    arg: str

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"

    @property
    def kind(self) -> str:
        if self.directive:
            return self.directive
        if self.lang in {"bash", "sh", "shell", "console"}:
            return "shell" if self.lang != "console" else "output"
        if self.lang in {"yaml", "yml"}:
            import yaml

            data = yaml.safe_load(self.text)
            if isinstance(data, dict) and data and set(data) <= CONFIG_SECTIONS:
                return "config"
            if isinstance(data, dict) and ("jobs" in data or "steps" in data):
                return "workflow"
            if isinstance(data, list) and data and all(isinstance(x, dict) and ("run" in x or "uses" in x)
                                                       for x in data):
                return "workflow"  # a list of steps
            return "yaml"
        return {"python": "pytest", "json": "experiment", "groovy": "groovy", "": "output", "text": "output"}.get(
            self.lang, "unknown")


def snippets(docs: tuple[Path, ...] = DOCS) -> list[Snippet]:
    found = []
    for doc in docs:
        lines = doc.read_text(encoding="utf-8").splitlines()
        index = 0
        while index < len(lines):
            match = _FENCE.match(lines[index])
            if not match:
                index += 1
                continue
            fence, lang = match.groups()
            end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == fence), None)
            if end is None:
                raise ValueError(f"{doc}:{index + 1}: unclosed code fence")
            previous = lines[index - 1] if index else ""
            directive = _DIRECTIVE.search(previous)
            found.append(Snippet(doc, index + 1, lang.lower(), "\n".join(lines[index + 1:end]) + "\n",
                                 directive.group(1) if directive else None, directive.group(2) if directive else ""))
            index = end + 1
    return found


def of_kind(*kinds: str) -> list[Snippet]:
    return [s for s in snippets() if s.kind in kinds]
