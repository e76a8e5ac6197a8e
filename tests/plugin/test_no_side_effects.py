"""A session that merely has the plugin installed is left as it was; one that uses it is left tidy."""

from __future__ import annotations

import ast
import functools
import json
import signal
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("isolated_state")
PACKAGE = Path(__file__).resolve().parents[2] / "pytest_blissful"


@pytest.fixture
def target(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback answering /health."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "health").write_text("ok")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_sigterm_is_handled_only_while_a_stack_is_held(pytester: pytest.Pytester, target: str) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert before is signal.SIG_DFL
    pytester.makepyfile("""
        import signal

        def test_1_without_stack():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        def test_2_with_stack(stack):
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    """)
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "--blissful-url", target).assert_outcomes(passed=2)
    assert signal.getsignal(signal.SIGTERM) is before, "the handler outlived the session"
    pytester.makepyfile(test_plain="def test_plain(): pass")
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "test_plain.py").assert_outcomes(passed=1)
    assert signal.getsignal(signal.SIGTERM) is before


def _labels(directory: Path) -> dict[str, set[tuple[str, str]]]:
    found = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text())
        found[data["name"]] = {(label["name"], label["value"]) for label in data["labels"]}
    return found


def test_allure_labels_only_on_the_plugins_own_results(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.smoke
        def test_users_own():
            pass

        def test_uses_the_plugin(blissful_config):
            pass
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", "out").assert_outcomes(passed=2)
    labels = _labels(pytester.path / "out")
    assert ("tag", "blissful") in labels["test_uses_the_plugin"]
    assert not {name for name, _ in labels["test_users_own"]} & {"epic", "parentSuite", "feature"}
    assert ("tag", "blissful") not in labels["test_users_own"]


def test_results_directory_is_never_deleted(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  url: http://127.0.0.1:9\n")
    pytester.makepyfile("def test_a(): pass")
    results = pytester.path / "reports" / "allure-results"
    results.mkdir(parents=True)
    (results / "old-result.json").write_text("{}")
    (results / "notes.txt").write_text("mine")
    own = pytester.path / "own-results"
    own.mkdir()
    (own / "keep-result.json").write_text("{}")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert (results / "notes.txt").read_text() == "mine", "a file the plugin did not write was removed"
    assert not (results / "old-result.json").exists()
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", str(own)).assert_outcomes(passed=1)
    assert (own / "keep-result.json").exists(), "an explicit --alluredir accumulates"


def test_state_dir_keeps_no_lock_files(pytester: pytest.Pytester, target: str, isolated_state: Path) -> None:
    pytester.makepyfile("def test_a(stack): pass\ndef test_b(stack): pass")
    for workers in ("0", "2"):
        pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", workers, "--blissful-url",
                                      target).assert_outcomes(passed=2)
    assert not list(isolated_state.glob("stack-*")), sorted(p.name for p in isolated_state.iterdir())


def test_ledger_entries_of_another_host_are_left_alone(pytester: pytest.Pytester, isolated_state: Path) -> None:
    entry = {"kind": "fault", "owner_pid": 999_999_999, "host": "another-host.example", "family": "pause",
             "container_id": "0123456789ab", "fault": "pause"}
    (isolated_state / "ledger.json").write_text(json.dumps({"pause-1": entry}))
    pytester.makepyfile("def test_a(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*leaving 1 ledger entry of host another-host.example alone (pause-1)*"])
    assert json.loads((isolated_state / "ledger.json").read_text()) == {"pause-1": entry}


def _sets_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if (owner == "os.environ" and node.func.attr in {"setdefault", "update", "pop"}) or \
                    (owner == "os" and node.func.attr in {"putenv", "unsetenv"}):
                lines.append(node.lineno)
        elif isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
            if any(isinstance(t, ast.Subscript) and ast.unparse(t.value) == "os.environ" for t in targets):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("relative", ["plugin.py", "fixtures.py", "_session.py", "_base_url.py", "_docker.py",
                                      "stack", "load/fixture.py", "chaos/_docker.py", "chaos/ledger.py"])
def test_no_process_wide_environment_changes(relative: str) -> None:
    root = PACKAGE / relative
    for path in [root] if root.is_file() else sorted(root.glob("*.py")):
        assert not _sets_environment(ast.parse(path.read_text())), f"{path} changes os.environ"
