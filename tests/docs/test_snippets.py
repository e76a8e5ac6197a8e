"""Docs as tests: every code and YAML snippet of README.md, docs/*.md and experiments/README.md is checked."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from pytest_blissful.config.loader import load_config
from pytest_blissful.stages import STAGES
from tests.docs.snippets import REPO, Snippet, of_kind, snippets
from tests.docs.tools import actionlint, commands, groovy_parse, known_options

ids = lambda s: s.id  # noqa: E731
KINDS = {"file", "config", "pytest", "example", "shell", "output", "workflow", "groovy", "experiment", "fragment"}


def test_every_snippet_has_a_kind_that_is_checked() -> None:
    found = snippets()
    assert len(found) > 20
    unknown = [f"{s.id} ({s.lang or 'no language'}, {s.directive})" for s in found if s.kind not in KINDS]
    assert not unknown, f"snippets no test checks (add <!-- docs-test: KIND --> before them): {unknown}"


@pytest.mark.parametrize("snippet", of_kind("file"), ids=ids)
def test_file_snippets_are_the_files(snippet: Snippet) -> None:
    path = REPO / snippet.arg
    assert path.is_file(), f"{snippet.id}: shows {snippet.arg}, which does not exist"
    assert snippet.text.strip() == path.read_text(encoding="utf-8").strip(), f"{snippet.id} differs from {path}"


@pytest.mark.parametrize("snippet", of_kind("config"), ids=ids)
def test_config_snippets_are_valid_blissful_yaml(snippet: Snippet, tmp_path: Path) -> None:
    (tmp_path / "blissful.yaml").write_text(snippet.text)
    config = load_config(tmp_path)  # raises ConfigError naming file, line and key
    assert config.source == (tmp_path / "blissful.yaml").resolve()


def _file_config_snippets() -> list[Snippet]:
    return [s for s in of_kind("file") if s.arg.endswith("blissful.yaml")]


@pytest.mark.parametrize("snippet", _file_config_snippets(), ids=ids)
def test_shown_blissful_yaml_files_are_valid(snippet: Snippet) -> None:
    load_config((REPO / snippet.arg).parent)


def _check_command(words: list[str], where: str) -> None:
    program = Path(words[0]).name
    if program == "pytest" or words[:3] == ["python", "-m", "pytest"]:
        options = known_options()
        args = words[1:] if program == "pytest" else words[3:]
        for index, word in enumerate(args):
            if word.startswith("-") and not re.fullmatch(r"-\d+", word):
                name = word.split("=", 1)[0]
                assert name in options, f"{where}: `{' '.join(words)}`: {name} is not a pytest option"
            if index and args[index - 1] == "-m":
                markers = set(re.split(r"\s+(?:and|or|not)\s+|\s*not\s+|[()]", word)) - {""}
                assert markers <= set(STAGES), f"{where}: -m {word}: unknown marker(s) {markers - set(STAGES)}"
    elif words[:2] == ["python", "-m"] or (words[0].endswith("/python") and words[1:2] == ["-m"]):
        module = words[2]
        assert importlib.util.find_spec(module) is not None, f"{where}: python -m {module}: no such module"
    elif words[:2] == ["pip", "install"]:
        assert any(w.startswith("pytest-blissful") for w in words), f"{where}: installs something else: {words}"
    for word in words:
        if re.match(r"^(\./)?(scripts|bench|fixtures|experiments|docs|tests|suites|\.github)/[\w./-]+$", word):
            assert (REPO / word).exists(), f"{where}: `{' '.join(words)}` names {word}, which does not exist"


@pytest.mark.parametrize("snippet", of_kind("shell"), ids=ids)
def test_shell_snippets_name_real_options_markers_and_files(snippet: Snippet) -> None:
    found = list(commands(snippet.text))
    assert found, f"{snippet.id}: an empty shell snippet"
    for words in found:
        _check_command(words, snippet.id)


@pytest.mark.parametrize("snippet", of_kind("workflow"), ids=ids)
def test_workflow_snippets_are_valid(snippet: Snippet, tmp_path: Path) -> None:
    data = yaml.safe_load(snippet.text)
    if isinstance(data, list):
        data = {"steps": data}
    steps = [step for job in (data.get("jobs") or {}).values() for step in job.get("steps", [])] or data["steps"]
    for step in steps:
        assert "run" in step or "uses" in step, f"{snippet.id}: a step without run or uses: {step}"
        for words in commands(str(step.get("run", ""))):
            _check_command(words, snippet.id)
    if "on" in data or True in data:  # a whole workflow (YAML 1.1 reads `on:` as True): lint it for real
        path = tmp_path / ".github" / "workflows" / "snippet.yml"
        path.parent.mkdir(parents=True)
        path.write_text(snippet.text)
        completed = subprocess.run([str(actionlint()), "-no-color", str(path)], capture_output=True, text=True,
                                   cwd=tmp_path, check=False, timeout=120)
        assert completed.returncode == 0, f"{snippet.id}: actionlint:\n{completed.stdout}{completed.stderr}"


def test_groovy_snippets_parse(tmp_path: Path) -> None:
    """Every Groovy snippet (Jenkins pipelines) compiled by the real Groovy compiler, in one JVM."""
    shown = of_kind("groovy")
    assert shown
    sources = {f"snippet{i}.groovy": s.text for i, s in enumerate(shown)}
    sources["broken.groovy"] = "pipeline { stages { stage('x') { steps { sh 'ok' } }\n"  # the parser must object
    problems = groovy_parse(sources, tmp_path)
    assert "broken.groovy" in problems and "unexpected" in problems["broken.groovy"].lower(), problems
    del problems["broken.groovy"]
    named = {f"snippet{i}.groovy": s.id for i, s in enumerate(shown)}
    assert not problems, {named[name]: error for name, error in problems.items()}


def _experiments() -> list[Snippet]:
    shown_files = [s for s in of_kind("file") if (s.arg.endswith(".json") and '"method"' in s.text)
                   or (s.arg.endswith((".yaml", ".yml")) and re.search(r"^method:", s.text, re.MULTILINE))]
    return of_kind("experiment") + shown_files


@pytest.mark.parametrize("snippet", _experiments(), ids=ids)
def test_experiment_snippets_are_valid_for_chaos_toolkit(snippet: Snippet) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid

    is_yaml = snippet.arg.endswith((".yaml", ".yml"))
    ensure_experiment_is_valid(yaml.safe_load(snippet.text) if is_yaml else json.loads(snippet.text))


@pytest.mark.parametrize("snippet", of_kind("pytest") + of_kind("example"), ids=ids)
def test_python_snippets_compile(snippet: Snippet) -> None:
    """``pytest`` snippets also run: tests/docs/test_your_service.py runs every one against the example service.
    ``example`` snippets need a stack of their own (a canary, two versions, a cluster): their tests run in
    tests/integration and tests/kubernetes; here they compile and ask only for fixtures the plugin provides."""
    import ast

    tree = ast.parse(compile(snippet.text, snippet.id, "exec", ast.PyCF_ONLY_AST))
    asked = {a.arg for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name.startswith("test")
             for a in f.args.args}
    missing = asked - _plugin_fixtures()
    assert not missing, f"{snippet.id}: no such fixture: {sorted(missing)}"


def _plugin_fixtures() -> set[str]:
    import pytest_blissful.fixtures
    import pytest_blissful.fixtures_canary
    import pytest_blissful.fixtures_compare

    modules = (pytest_blissful.fixtures, pytest_blissful.fixtures_canary, pytest_blissful.fixtures_compare)
    found = {name for module in modules for name, value in vars(module).items()
             if type(value).__name__ == "FixtureFunctionDefinition" or hasattr(value, "_pytestfixturefunction")}
    assert {"stack", "http", "fmea", "canary", "compare_versions"} <= found, found
    return found | {"request", "tmp_path", "pytestconfig", "monkeypatch"}


@pytest.mark.parametrize("snippet", of_kind("fragment"), ids=ids)
def test_json_fragments_are_json_members(snippet: Snippet) -> None:
    """A fragment shows a member of a larger JSON object (e.g. one key of an experiment's extension)."""
    assert isinstance(json.loads("{" + snippet.text + "}"), dict)
