"""The canary on real Docker: Argo manifests read verbatim, a real Prometheus answering the PromQL, nginx weights
matching the observed traffic split, PromQL errors as Error measurements, nothing left behind (even after SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_blissful.config.argo import plan_from_rollout
from pytest_blissful.flows.canary import run_docker_canary
from pytest_blissful.grading.canary import Phase, SetWeightStep

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "canary"

BAD_METRIC = """
    - name: broken-promql
      interval: 2s
      successCondition: result[0] < 1
      provider:
        prometheus:
          query: sum(rate(http_requests_total{version="canary"[1m]))
  dryRun:
    - metricName: broken-promql
"""


def _project_containers(project: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return out.split()


@pytest.mark.usefixtures("isolated_state")
def test_argo_manifests_against_a_real_prometheus(tmp_path: Path) -> None:
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text((DEMO / "rollout.yaml").read_text().replace("10s", "4s"))
    template = tmp_path / "template.yaml"
    # the p95 bound is raised: this test checks the mechanics, not how fast a busy CI machine is
    template.write_text((DEMO / "analysis-template.yaml").read_text().replace("interval: 5s", "interval: 2s")
                        .replace("result[0] < 200", "result[0] < 5000") + BAD_METRIC)
    plan = plan_from_rollout(rollout, [template])
    result = run_docker_canary(plan, name="argo", load_rate=40.0)

    measured = [m for m in result.measurements if m.metric == "error-rate" and m.phase is not Phase.ERROR]
    assert measured, f"Prometheus never answered the error-rate query:\n{result.explain()}"
    assert all(m.value.startswith("[") for m in measured)  # a vector, as Argo's provider shapes it
    broken = [m for m in result.measurements if m.metric == "broken-promql"]
    assert broken and all(m.phase is Phase.ERROR and "PromQL error" in m.message for m in broken)
    assert all(m.dry_run for m in broken)  # its errors did not decide the rollout
    assert result.provider == "prometheus"

    # the router's weights are what the traffic shows: seconds well inside each step, ±3 points
    weights = [s.weight for s in plan.steps if isinstance(s, SetWeightStep)]
    # from the router's confirmation of this weight to the request of the next one
    changes = [(w.applied_at if w.applied_at is not None else w.at, w.at, w.weight) for w in result.weights]
    ends = [asked for _, asked, _ in changes[1:]] + [result.duration_s]
    for (start, _, weight), end in zip(changes, ends, strict=True):
        if weight not in weights or weight in (0, 100):
            continue
        inside = [p for p in result.traffic if start + 1.0 <= p.at and p.at + 1.0 <= end]
        total = sum(p.stable_requests + p.canary_requests for p in inside)
        canary = sum(p.canary_requests for p in inside)
        if end - start < 4.0:
            continue  # an aborted step: too short to judge the split
        assert total >= 20, f"too little traffic during the {weight}% step: {inside}"
        assert abs(100.0 * canary / total - weight) <= 3.0, (weight, canary, total)
    if result.outcome == "promoted":
        assert result.weights[-1].weight == 100
    data = result.to_dict()
    json.dumps(data, allow_nan=False)  # JSON-ready, no NaN


def test_sigkilled_run_leaves_nothing_after_the_next_session(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    env = {**os.environ, "BLISSFUL_STATE_DIR": str(state)}
    script = (
        "import time\n"
        "from pytest_blissful.flows.canary import DockerCanary\n"
        "c = DockerCanary(load_rate=10.0, load_duration_s=120.0)\n"
        "c.__enter__()\n"
        "print(c.project, flush=True)\n"
        "time.sleep(300)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        project = child.stdout.readline().strip()
        assert project.startswith("blissful-canary-"), project
        assert _project_containers(project)
        ledger = json.loads((state / "ledger.json").read_text())
        assert project in ledger
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co", str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while _project_containers(project) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _project_containers(project), result.stdout + result.stderr
    assert project not in json.loads((state / "ledger.json").read_text())
