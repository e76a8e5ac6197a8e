"""The session's scorecard from real FMEA runs: the same with and without xdist, and its CI outputs.

Two custom scenarios on the one-service tiny stack with known outcomes (freezing the only instance fails,
a busy CPU passes) run in inner pytest sessions with ``-n 0`` and ``-n 2``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_blissful.report.scorecard_files import SCHEMA_PATH

pytestmark = pytest.mark.usefixtures("isolated_state")

TWO_SCENARIOS = """
import pytest
@pytest.mark.chaos
@pytest.mark.parametrize("name", ["freeze", "busy"])
def test_scenario(fmea, name):
    result = fmea.run(name)
    assert result.passed, result.explain()
"""


def _run(tiny: pytest.Pytester, *args: str) -> tuple[dict[str, Any], pytest.RunResult]:
    tiny.makepyfile(test_two=TWO_SCENARIOS)
    result = tiny.runpytest_subprocess("test_two.py", "--junitxml=junit.xml", *args)
    result.assert_outcomes(passed=1, failed=1)
    return json.loads((tiny.path / "reports" / "scorecard.json").read_text()), result


def _essentials(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "score": document["resilience_score"],
        "pass_rate": document["fmea_pass_rate"],
        "verdicts": {s["name"]: s["verdict"] for s in document["scenarios"]},
        "capabilities": {c["name"]: c["status"] for c in document["capabilities"]},
    }


def test_same_scorecard_with_and_without_xdist_and_its_outputs(tiny_chaos: pytest.Pytester, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    serial, result = _run(tiny_chaos)
    result.stdout.fnmatch_lines(["*blissful: FMEA*", "*freeze*fail*", "*busy*pass*",
                                 "*blissful: resilience scorecard*", "Resilience score: *"])
    parallel, _ = _run(tiny_chaos, "-n", "2")
    assert _essentials(serial) == _essentials(parallel)
    assert _essentials(serial)["verdicts"] == {"freeze": "fail", "busy": "pass"}
    jsonschema.validate(parallel, json.loads(SCHEMA_PATH.read_text()))

    history = (tiny_chaos.path / "reports" / "history.jsonl").read_text().splitlines()
    assert len(history) == 2
    assert parallel["trend"].startswith("→ +0.0 vs previous run")

    text = summary.read_text()
    assert text.startswith("## Resilience scorecard")
    assert text.count("## Resilience scorecard") == 2, "one scorecard per run, never one per xdist worker"
    assert "| freeze | fail |" in text

    suite = ET.parse(tiny_chaos.path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property") if p.get("name") != "stage"}
    assert properties["resilience_score"] == f"{parallel['resilience_score']:.1f}"
    assert properties["fmea_pass_rate"] == "50.0"
