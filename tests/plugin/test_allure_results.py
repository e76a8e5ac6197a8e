"""Where Allure results land without ``--alluredir``, and who cleans them (the controller, once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("isolated_state")

STAGED = """
import pytest
@pytest.mark.smoke
def test_a(): pass
@pytest.mark.perf
@pytest.mark.parametrize("scenario", ["db-down"])
def test_b(scenario): pass
"""


def _results(directory: Path) -> dict[str, dict[str, object]]:
    return {d["name"]: d for d in (json.loads(p.read_text()) for p in directory.glob("*-result.json"))}


def _labels(result: dict[str, object], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]  # type: ignore[attr-defined]


def test_blissful_session_records_into_reports_and_cleans_it_from_the_controller(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  url: http://127.0.0.1:9\n")
    pytester.makepyfile(test_staged=STAGED)
    results = pytester.path / "reports" / "allure-results"
    results.mkdir(parents=True)
    (results / "old-result.json").write_text("{}")
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert not (results / "old-result.json").exists()
    found = _results(results)
    assert set(found) == {"test_a", "test_b[db-down]"}
    assert _labels(found["test_a"], "epic") == ["smoke"]
    assert _labels(found["test_a"], "parentSuite") == ["smoke"]
    assert _labels(found["test_b[db-down]"], "feature") == ["db-down"]
    assert "blissful" in _labels(found["test_b[db-down]"], "tag")


def test_explicit_alluredir_accumulates_unless_cleaned(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  url: http://127.0.0.1:9\n")
    pytester.makepyfile(test_staged=STAGED)
    pytester.runpytest_subprocess("--alluredir", "out", "-n", "2").assert_outcomes(passed=2)
    pytester.runpytest_subprocess("--alluredir", "out", "-n", "2").assert_outcomes(passed=2)
    assert len(list((pytester.path / "out").glob("*-result.json"))) == 4
    pytester.runpytest_subprocess("--alluredir", "out", "--clean-alluredir", "-n", "2").assert_outcomes(passed=2)
    assert len(list((pytester.path / "out").glob("*-result.json"))) == 2
    assert not (pytester.path / "reports" / "allure-results").exists()


def test_other_projects_and_collect_only_record_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_x(): pass")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()
    pytester.makefile(".yaml", blissful="stack:\n  url: http://127.0.0.1:9\n")
    pytester.runpytest_subprocess("--collect-only")
    assert not (pytester.path / "reports").exists()
