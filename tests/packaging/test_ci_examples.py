"""The CI examples users copy (docs/ci/blissful.yml, docs/ci/Jenkinsfile): linted by real tools, one stage per
marker with its JUnit XML, and every stage's command run in a service repo (smoke for real, the rest collected).
They live under docs/ci/, where neither GitHub nor a Jenkins multibranch job runs them in this repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_blissful.stages import STAGES
from tests.docs.tools import actionlint, groovy_parse

REPO = Path(__file__).resolve().parents[2]
CI_EXAMPLES = REPO / "docs" / "ci"
WORKFLOW = CI_EXAMPLES / "blissful.yml"
JENKINSFILE = CI_EXAMPLES / "Jenkinsfile"
EXAMPLE = REPO / "docs" / "example-service"


def workflow_stages() -> dict[str, str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["resilience"]["steps"]
    return {step["name"]: step["run"] for step in steps if step.get("name") in STAGES}


def jenkins_stages() -> dict[str, str]:
    stage = r"stage\('(\w+)'\)\s*\{\s*(?://[^\n]*\s*)*steps\s*\{\s*sh '([^']+)'\s*\}"
    return dict(re.findall(stage, JENKINSFILE.read_text()))


def test_the_workflow_passes_actionlint(tmp_path: Path) -> None:
    lint = [str(actionlint()), "-no-color"]
    completed = subprocess.run([*lint, str(WORKFLOW)], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    broken = tmp_path / "broken.yml"  # actionlint must object to a broken copy: the check can fail
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    stepz: []"))
    completed = subprocess.run([*lint, str(broken)], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 1 and "stepz" in completed.stdout, completed.stdout


def test_the_jenkinsfile_parses(tmp_path: Path) -> None:
    problems = groovy_parse({"Jenkinsfile.groovy": JENKINSFILE.read_text(),
                             "broken.groovy": JENKINSFILE.read_text().rstrip().removesuffix("}")}, tmp_path)
    assert list(problems) == ["broken.groovy"], problems


@pytest.mark.parametrize("stages", [workflow_stages, jenkins_stages], ids=["workflow", "jenkinsfile"])
def test_one_stage_per_marker_each_with_its_junit_xml(stages: object) -> None:
    found = stages()  # type: ignore[operator]
    assert list(found) == list(STAGES)
    for stage, command in found.items():
        assert re.search(rf"pytest -m {stage} --junitxml=reports/junit/{stage}\.xml", command), command


def test_no_example_runs_in_this_repository() -> None:
    """GitHub runs every workflow under .github/workflows/ and Jenkins a root Jenkinsfile: the examples stay out."""
    assert not (REPO / ".github" / "workflows").exists() and not (REPO / "Jenkinsfile").exists()


def test_reports_are_artifacts_and_the_summary_is_written() -> None:
    workflow = WORKFLOW.read_text()
    assert "actions/upload-artifact@" in workflow and "reports/allure-report/index.html" in workflow
    assert "python -m pytest_blissful.report html" in workflow and "$GITHUB_STEP_SUMMARY" in workflow
    jenkins = JENKINSFILE.read_text()
    assert "junit " in jenkins and "archiveArtifacts" in jenkins and "reports/allure-report/index.html" in jenkins


@pytest.mark.docker
def test_every_stage_command_runs_in_a_service_repo(tmp_path: Path, docker_engine: None) -> None:
    """Each stage's command as the CI file writes it, in the example service repo: the smoke stage for real
    (stack up, test, stack down), the others with --collect-only (they are run in full by tests/docs)."""
    repo = tmp_path / "orders"
    shutil.copytree(EXAMPLE, repo)
    (repo / "test_orders.py").write_text(
        "import pytest\n\n"
        + "".join(f"@pytest.mark.{stage}\ndef test_{stage}():\n    pass\n\n\n" for stage in STAGES if stage not in
                  {"compare", "canary"})
        + "@pytest.mark.smoke\ndef test_order(http):\n    assert http.get('/api/orders/1').json()['stock'] == 7\n")
    venv = Path(sys.executable).parent.parent
    (repo / ".venv").symlink_to(venv)
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "PYTHONPATH": str(REPO),
           "BLISSFUL_STATE_DIR": str(tmp_path / "state"),
           # pytest-base-url (if installed) owns a fixture of the same name: see the README
           "PYTEST_ADDOPTS": "-p no:cacheprovider -p no:base_url"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    for origin, stages in (("workflow", workflow_stages()), ("jenkinsfile", jenkins_stages())):
        for stage, command in stages.items():
            real = origin == "workflow" and stage == "smoke"
            script = command if real else re.sub(r"(pytest) -m", r"\1 --collect-only -q -m", command)
            completed = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True,
                                       text=True, timeout=600, check=False)
            output = completed.stdout + completed.stderr
            assert completed.returncode == 0, f"{origin} {stage}: `{script}`\n{output[-3000:]}"
            if stage in {"compare", "canary"}:
                assert "no tests collected" in output or "deselected" in output, output[-2000:]
            elif real:
                assert re.search(r"\b2 passed\b", output), output[-3000:]
                assert (repo / "reports" / "junit" / "smoke.xml").exists()
            else:
                assert re.search(rf"test_orders.py::test_{stage}\b", output), output[-2000:]
