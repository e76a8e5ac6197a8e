"""The ``canary`` fixture on a Kubernetes stack, as a user runs it: an inner pytest session deploys a one-service
app to the real node (the stack's entry), and ``canary.run()`` / ``canary.drill()`` hand the Argo Rollout of
``canary.rollout`` (on kwok's node) to the real Argo Rollouts controller in the stack's namespace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from pytest_blissful.flows.canary import canary_compose_file
from pytest_blissful.stack import kubernetes
from pytest_blissful.stack.kubernetes_client import Cluster
from tests.kubernetes.conftest import KWOK_PLACEMENT, deployment
from tests.kubernetes.test_plugin_kubernetes import APP

ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "shop"},
    "spec": {**deployment("shop", replicas=2, image="blissful/shop:1", **KWOK_PLACEMENT)["spec"],
             "strategy": {"canary": {"steps": [
                 {"setWeight": 50}, {"analysis": {"templates": [{"templateName": "error-rate"}]}}, {"pause": {}}]}}},
}
CONFIG = """\
stack:
  kubernetes: {manifests: [app.yaml]}
  entry_service: echo
  entry_port: 80
  startup_timeout: 90s
canary:
  rollout: rollout.yaml
  analysisTemplates: [analysis.yaml]
  image: blissful/shop:2
  max_pause: 1s
  rollback_slo: 10s
"""


INNER = """\
import pathlib

def test_rollout(canary, stack):
    pathlib.Path("namespace.txt").write_text(stack.namespace)
    seen = []
    result = canary.run(figures={"error_rate": 0.3}.get,
                        on_progress=lambda message: seen.append([s.status for s in canary.status()]))
    # canary.status() from on_progress is the live rollout: the pause step (1 s) is seen running after the steps
    # before it completed (the inline analysis can start and end between two progress calls, so it is not asked for)
    assert ["Completed", "Completed", "Running"] in seen, seen
    order = {"Pending": 0, "Running": 1, "Completed": 2}
    assert all(order[a] <= order[b] for earlier, later in zip(seen, seen[1:]) for a, b in zip(earlier, later)), seen
    assert result.passed and result.driver == "argo-rollouts", result.explain()
    assert result.versions == {"stable": "blissful/shop:1", "canary": "blissful/shop:2"}
    assert [m.value for m in result.measurements] == ["0.3", "0.3"]

def test_drill(canary):
    result = canary.drill("error-rate", "5%", figures={"error_rate": 5.0}.get)
    assert result.passed and result.outcome == "aborted", result.explain()
    assert result.reason.startswith("Rollback completed in"), result.reason
    assert [s.status for s in result.steps] == ["Completed", "Aborted", "Pending"], result.explain()
"""


@pytest.fixture
def app(cluster: Cluster, tmp_path: Path) -> Iterator[Path]:
    """A service repo: the app, the Rollout, the demo's web template, blissful.yaml and a test module.
    (A plain directory and a pytest subprocess: pytester's sys.modules snapshot would drop the kubernetes client's
    lazily imported modules that the session's cluster object uses.)"""
    (tmp_path / "state").mkdir()
    (tmp_path / "app.yaml").write_text(yaml.safe_dump_all(APP))
    (tmp_path / "rollout.yaml").write_text(yaml.safe_dump(ROLLOUT))
    (tmp_path / "analysis.yaml").write_text((canary_compose_file().parent / "analysis-template-web.yaml").read_text())
    (tmp_path / "blissful.yaml").write_text(CONFIG)
    (tmp_path / "test_canary.py").write_text(INNER)
    yield tmp_path
    ledger = tmp_path / "state" / "ledger.json"
    for entry in (json.loads(ledger.read_text()) if ledger.exists() else {}).values():
        if entry.get("target") == "kubernetes":
            kubernetes.down(entry, timeout_s=60)


def test_canary_fixture_drives_argo_rollouts_on_a_kubernetes_stack(app: Path, cluster: Cluster) -> None:
    env = {**os.environ, "BLISSFUL_STATE_DIR": str(app / "state")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_canary.py"],
                          cwd=app, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "2 passed" in out, out[-5000:]
    lines = out.splitlines()
    assert any(fnmatch(line, "*canary (argo-rollouts)*PASS*") for line in lines), out[-3000:]
    assert any(fnmatch(line, "*ollback drill drill error-rate=5% (argo-rollouts)*PASS*Rollback completed in*")
               for line in lines), out[-3000:]
    data = json.loads((app / "reports" / "canary.json").read_text())
    assert [(r["driver"], r["outcome"], r["verdict"]) for r in data["results"]] == [
        ("argo-rollouts", "promoted", "pass"), ("argo-rollouts", "aborted", "pass")]
    import jsonschema

    from pytest_blissful.report.canary_allure import canary_chart_svg

    schema = Path(__file__).parents[2] / "pytest_blissful" / "report" / "canary.schema.json"
    jsonschema.validate(data, json.loads(schema.read_text()))
    for one in data["results"]:  # the Allure chart renders a result without traffic (none is recorded on a cluster)
        assert canary_chart_svg(one).lstrip().startswith(("<?xml", "<svg"))
    namespace = (app / "namespace.txt").read_text()
    try:
        phase = client.CoreV1Api(cluster.api).read_namespace(namespace).status.phase
    except ApiException as exc:
        phase = "gone" if exc.status == 404 else str(exc.status)
    assert phase in ("gone", "Terminating"), f"namespace {namespace}: {phase}"
