"""The comparison's bad input that needs no Docker: unknown metrics and thresholds are usage errors naming file,
key and line; the fixture and marker are documented; the terminal table renders from the JSON document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_blissful.grading.comparison import MetricSamples, compare
from pytest_blissful.report.comparison import step_summary_markdown, terminal_table, write_json

pytestmark = pytest.mark.usefixtures("isolated_state")
SCHEMA = Path(__file__).parents[2] / "pytest_blissful" / "report" / "comparison.schema.json"


def _usage_error(pytester: pytest.Pytester, *patterns: str) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(list(patterns))
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_unknown_critical_metric_names_file_and_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="comparison:\n  test_duration: 1m\n  critical_metrics: [p95_latency_ms, p95]\n")
    _usage_error(pytester, "*blissful.yaml:3: comparison.critical_metrics: unknown metric 'p95'; known metrics: *")


def test_unknown_threshold_names_file_and_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="comparison:\n  thresholds:\n    p95_latency_ms: 100\n    p90_ms: 5\n")
    _usage_error(pytester, "*blissful.yaml:4: comparison.thresholds.p90_ms: unknown key*")


def test_image_and_ref_together_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="comparison:\n  new:\n    image: app:2\n    ref: HEAD\n")
    _usage_error(pytester, "*blissful.yaml:2: comparison.new: give either image or ref, not both*")


def test_fixture_and_marker_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["compare_versions -- *", "*Compare two versions side by side*"])
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.compare: pipeline stage 'compare'*"])


def test_renderers_share_one_document(tmp_path: Path) -> None:
    import jsonschema

    old = tuple(20.0 + (i % 3) * 0.1 for i in range(12))
    result = compare([MetricSamples("p95_latency_ms", 20.1, 26.1, old, tuple(v + 6 for v in old)),
                      MetricSamples("cpu_percent", 30.0, 30.0, (30.0,) * 12, (30.0,) * 12)],
                     old_label="app 1.4", new_label="app 1.5")
    document = {"test": "t::x", **result.to_dict()}
    table = terminal_table(document)
    lines = table.splitlines()
    assert lines[1].split(" | ") == ["Metric       ", "Old     ", "New     ", "Change (98% CI)                  ",
                                     "Winner"]
    assert lines[3].startswith("p95 latency * | 20.10 ms | 26.10 ms | +6.00 ms (+29.9%) [+5.90 … +6.10] | old ✓")
    assert lines[4].endswith("| no significant difference")
    assert lines[-1] == ("Recommendation: Keep old version — winner: old version, with 98% confidence "
                         "(p95 latency significantly worse: +6.00 ms (+29.9%) [98% CI +5.90 … +6.10])")
    path = write_json(tmp_path, [document])
    jsonschema.validate(json.loads(path.read_text()), json.loads(SCHEMA.read_text()))
    assert "| app 1.4 | app 1.5 | Keep old version | old |" in step_summary_markdown([document])
