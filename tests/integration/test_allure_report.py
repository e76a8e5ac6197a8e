"""Allure output of a real chaos session, and the single-file HTML report rendered in headless Chromium.

An inner pytest session (``-n 2``: results come from xdist workers, session files from the controller) runs two
custom scenarios on the one-service tiny stack without ``--alluredir``; its results must land in
``reports/allure-results`` with labels, attachments, one set of session files and the "Resilience scorecard"
result. Then the report command builds ``index.html`` and Chromium renders it from ``file://``: the scorecard
and an FMEA chart must be on screen. Screenshots are kept in ``reports/screenshots/`` of this repository.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("isolated_state")

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "reports" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

TWO_SCENARIOS = """
import pytest
@pytest.mark.chaos
@pytest.mark.parametrize("scenario", ["freeze", "lossy"])
def test_scenario(fmea, scenario):
    result = fmea.run(scenario)
    assert result.passed, result.explain()
"""


def _results(directory: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text())
        found[data["name"]] = data
    return found


def _labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def _chromium(url: str, profile: Path, *, screenshot: Path | None = None) -> str:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run ./scripts/setup.sh chromium", pytrace=False)
    args = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
            "--window-size=1400,2400"]
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_allure_results_and_the_single_file_report(tiny_chaos: pytest.Pytester, tmp_path: Path) -> None:
    results_dir = tiny_chaos.path / "reports" / "allure-results"
    results_dir.mkdir(parents=True)
    (results_dir / "stale-result.json").write_text("{}")  # a previous run's: the controller cleans it
    tiny_chaos.makepyfile(test_two=TWO_SCENARIOS)
    inner = tiny_chaos.runpytest_subprocess("test_two.py", "-n", "2", "-p", "no:cacheprovider")
    assert inner.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), inner.stdout.str()
    scorecard = json.loads((tiny_chaos.path / "reports" / "scorecard.json").read_text())

    # ---- results: written by the workers, session files once by the controller
    assert not (results_dir / "stale-result.json").exists()
    names = sorted(p.name for p in results_dir.iterdir() if not re.match(r"[0-9a-f-]{36}-", p.name))
    assert names == ["categories.json", "environment.properties", "executor.json"], names
    environment = (results_dir / "environment.properties").read_text()
    assert f"resilience.score={scorecard['resilience_score']:.1f}" in environment
    assert "workers=2" in environment
    categories = [c["name"] for c in json.loads((results_dir / "categories.json").read_text())]
    assert {"SLO breached", "Fault not tolerated", "Inconclusive: steady state not met",
            "Stack failed to start"} <= set(categories)

    results = _results(results_dir)
    assert set(results) == {"test_scenario[freeze]", "test_scenario[lossy]", "Resilience scorecard"}
    for scenario in ("freeze", "lossy"):
        result = results[f"test_scenario[{scenario}]"]
        assert _labels(result, "epic") == ["chaos"]
        assert _labels(result, "parentSuite") == ["chaos"]
        assert _labels(result, "feature") == [scenario]
        assert _labels(result, "severity") == ["normal"]  # FMEA severity Medium
        assert "blissful" in _labels(result, "tag")
        attachments = {a["name"]: a for a in result["attachments"]}
        chart = attachments[f"Timeline {scenario}: latency and errors, fault window shaded"]
        assert chart["type"] == "image/svg+xml"
        svg = (results_dir / chart["source"]).read_text()
        assert svg.startswith("<svg")
        _assert_shaded_and_labelled(svg, "fault", "baseline")
        assert attachments[f"FMEA {scenario}"]["type"] == "text/html"
        load_csv = (results_dir / attachments[f"Load per endpoint {scenario}"]["source"]).read_text()
        assert load_csv.startswith("endpoint,requests,errors,")
        assert "GET /health" in load_csv
        journal = json.loads((results_dir / attachments[f"Chaos Toolkit journal {scenario}"]["source"]).read_text())
        assert "run" in journal or "status" in journal
        assert f'alt="FMEA timeline chart {scenario}"' in result["descriptionHtml"]
    verdicts = {s["name"]: s["verdict"] for s in scorecard["scenarios"]}
    assert results["test_scenario[freeze]"]["status"] == ("passed" if verdicts["freeze"] == "pass" else "failed")
    card = results["Resilience scorecard"]
    assert card["status"] == ("passed" if scorecard["passed"] else "failed")
    assert f"Resilience score {scorecard['resilience_score']:.1f}/100" in card["statusDetails"]["message"] + \
        card["description"]
    assert {p["name"]: p["value"] for p in card["parameters"]}["resilience score"] == \
        f"{scorecard['resilience_score']:.1f}"
    capability_table = next(a for a in card["attachments"] if a["type"] == "text/html")
    assert "circuit breakers" in (results_dir / capability_table["source"]).read_text()

    # ---- the single-file report, twice: Allure's history carries the first run into the second
    reports = tiny_chaos.path / "reports"
    for run in (1, 2):
        started = time.monotonic()
        build = subprocess.run([sys.executable, "-m", "pytest_blissful.report", "html", "--reports", str(reports)],
                               capture_output=True, text=True, timeout=300, check=False, cwd=REPO)
        seconds = time.monotonic() - started
        assert build.returncode == 0, build.stdout + build.stderr
        assert "allure-report/index.html" in build.stdout
        assert f"({run} runs)" in build.stdout, build.stdout
    print(f"report built in {seconds:.1f} s (command wall time)")
    index = reports / "allure-report" / "index.html"
    page = index.read_text()
    assert not re.search(r'<(script|link)[^>]+(src|href)="(?!data:|https?:)', page)  # no file beside index.html
    ids = {v["name"]: k for k, v in
           json.loads((reports / "allure-report" / "test-results.json").read_text())["byId"].items()}

    # ---- rendered from file:// in headless Chromium
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = {"allure-report.png": "", "allure-scorecard.png": ids["Resilience scorecard"],
             "allure-fmea-chart.png": ids["test_scenario[freeze]"]}
    for name, test_id in pages.items():
        shot = tmp_path / name
        _chromium(f"{index.as_uri()}#/{test_id}", tmp_path / "profile", screenshot=shot)
        assert shot.stat().st_size > 20_000, f"{name}: {shot.stat().st_size} bytes, the page did not render"
        shutil.copy(shot, SCREENSHOTS / name)

    overview = _chromium(index.as_uri(), tmp_path / "profile")
    assert "chaos" in overview  # the tree, grouped by stage first
    assert "blissful" in overview
    dom = _chromium(f"{index.as_uri()}#/{ids['Resilience scorecard']}", tmp_path / "profile")
    assert "Resilience scorecard" in dom
    description = _description(dom)
    assert "Resilience score" in description
    assert f"{scorecard['resilience_score']:.1f}/100" in description
    assert "<h4>Capabilities</h4>" in description
    assert "circuit breakers" in description
    dom = _chromium(f"{index.as_uri()}#/{ids['test_scenario[freeze]']}", tmp_path / "profile")
    description = _description(dom)
    assert "FMEA freeze: " in description
    chart = re.search(r'<img alt="FMEA timeline chart freeze"[^>]*src="data:image/svg\+xml;base64,([^"]+)"',
                      description)
    assert chart is not None, description[:2000]
    svg = base64.b64decode(chart.group(1)).decode()
    _assert_shaded_and_labelled(svg, "fault", "baseline")


def _assert_shaded_and_labelled(svg: str, *bands: str) -> None:
    """Each band is a filled span in both panels of the chart (ids set by ``charts.py``) and its label is text."""
    root = ET.fromstring(svg)
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g")}
    for band in bands:
        for panel in ("latency", "errors"):
            group = groups.get(f"{band}-window-{panel}")
            assert group is not None, f"no {band} window in the {panel} panel"
            styles = [path.get("style", "") for path in group.iter(f"{SVG}path")]
            assert any(re.search(r"fill: #[0-9a-f]{6}", style) for style in styles), styles
        assert f">{band}<" in svg
        assert groups[f"{band}-label"].findtext(f"{SVG}text") == band


def _description(dom: str) -> str:
    """The test's description as rendered: the report puts it in an iframe's ``srcdoc``."""
    found = re.search(r'<iframe data-testid="test-result-description-frame"[^>]*srcdoc="([^"]*)"', dom)
    assert found is not None, "no description frame in the rendered page"
    return html.unescape(found.group(1))
