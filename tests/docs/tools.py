"""Helpers of the docs-as-tests: the pytest option list and the external parsers (actionlint, Groovy)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.docs.snippets import REPO

CACHE = REPO / ".cache"
GROOVY_VERSION = "4.0.24"


_LIST_OPTIONS = """
import sys, pytest
class Lister:
    def pytest_configure(self, config):
        parser = config._parser
        for group in [parser._anonymous, *parser._groups]:
            for option in group.options:
                print(*option.names())
pytest.main(["--co", "-q", "-p", "no:cacheprovider", sys.argv[1]], plugins=[Lister()])
"""


@cache
def known_options() -> frozenset[str]:
    """Every option string of pytest with this repository's plugins (aliases included), from pytest's parser."""
    completed = subprocess.run([sys.executable, "-c", _LIST_OPTIONS, str(REPO / "no-such-dir")], cwd=REPO,
                               capture_output=True, text=True, timeout=120, check=False)
    names = frozenset(completed.stdout.split())
    assert "--blissful-config" in names and "--junitxml" in names, completed.stdout + completed.stderr
    return names


def actionlint() -> Path:
    binary = CACHE / "bin" / "actionlint"
    if not binary.exists():
        pytest.fail(f"{binary} missing: run ./scripts/setup.sh actionlint")
    return binary


def groovy_jar() -> Path:
    jar = CACHE / "groovy" / f"groovy-{GROOVY_VERSION}.jar"
    if not jar.exists():
        pytest.fail(f"{jar} missing: run ./scripts/setup.sh groovy")
    return jar


_PARSE = """
import org.codehaus.groovy.control.*
def failed = false
args.each { name ->
    try {
        def unit = new CompilationUnit()
        unit.addSource(new File(name))
        unit.compile(Phases.SEMANTIC_ANALYSIS)
        println "ok ${name}"
    } catch (CompilationFailedException e) {
        println "error ${name}: ${e.message.replace('\\n', ' ')}"
        failed = true
    }
}
"""


def groovy_parse(sources: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Compile each source (name -> text) with the real Groovy compiler, in one JVM (parse + semantic analysis;
    nothing is executed). Returns the errors by name (empty: all parsed)."""
    paths = []
    for name, text in sources.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    script = tmp_path / "parse_all.groovy"
    script.write_text(_PARSE)
    completed = subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", str(groovy_jar()),
                                "groovy.ui.GroovyMain", str(script), *paths],
                               capture_output=True, text=True, timeout=300, check=False)
    results = {line.split(" ", 1)[1].split(":", 1)[0]: line for line in completed.stdout.splitlines()
               if line.startswith(("ok ", "error "))}
    errors = {Path(p).name: results.get(p, f"not parsed: {completed.stderr[-2000:]}") for p in paths
              if not results.get(p, "").startswith("ok ")}
    return errors


def commands(shell: str) -> Iterator[list[str]]:
    """The simple commands of a shell snippet: continuation lines joined, comments dropped, split at && ; | ||."""
    text = re.sub(r"\\\n", " ", shell)
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                words = part.split()
            if words:
                yield words
