"""Figures of the Argo Rollouts driver (issue 13): canaries run by the real controller of the local cluster.

Per run, in a namespace of its own (deleted afterwards), on kwok's node, with the demo's web AnalysisTemplate
(``fixtures/demo/canary/analysis-template-web.yaml``) answered by the plugin's metric endpoint:

* a healthy canary (setWeight 25 → pause 1 s → analysis, 2 measurements 1 s apart → setWeight 50 → pause, promoted
  after 1 s): time from the new image to the Rollout Healthy on it;
* a drill (the plugin measures 5% errors): the failed measurement → the abort seen → the stable ReplicaSet serving
  all replicas again and the canary ReplicaSet at 0 (goal: rollback ≤ 10 s after the failed measurement).

    KUBECONFIG=/var/tmp/blissful-k8s/kc/admin.kubeconfig .venv/bin/python bench/argo_canary.py --runs 5

The times are observed by polling every 0.2 s; the script prints ``uptime`` before and after (a busy machine
makes them longer).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import uuid
from typing import Any

from pytest_blissful.flows.canary import canary_compose_file
from pytest_blissful.flows.canary_argo import ArgoCanary
from pytest_blissful.grading.canary import CanaryResult, DrillRequest
from pytest_blissful.stack import kubernetes
from pytest_blissful.stack.kubernetes_client import Cluster, connect, local_kubeconfig
from pytest_blissful.stack.kubernetes_manifests import Manifest, load_manifests

REPLICAS = 4
STEPS: list[dict[str, Any]] = [{"setWeight": 25}, {"pause": {"duration": "1s"}},
                               {"analysis": {"templates": [{"templateName": "error-rate"}]}},
                               {"setWeight": 50}, {"pause": {}}]


def _rollout() -> Manifest:
    labels = {"app": "shop"}
    return Manifest("bench", {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "shop"},
        "spec": {"replicas": REPLICAS, "revisionHistoryLimit": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "terminationGracePeriodSeconds": 0, "nodeSelector": {"type": "kwok"},
                     "tolerations": [{"key": "blissful.io/simulated", "operator": "Exists", "effect": "NoSchedule"}],
                     "containers": [{"name": "main", "image": "blissful/shop:1", "imagePullPolicy": "Never"}]}},
                 "strategy": {"canary": {"steps": STEPS}}},
    })


def _one(cluster: Cluster, error_rate: float, drill: DrillRequest | None) -> CanaryResult:
    run_id = "b" + uuid.uuid4().hex[:9]
    namespace = f"blissful-bench-{run_id}"
    kubernetes.ensure_namespace(cluster, namespace, run_id, 30)
    try:
        template = load_manifests([canary_compose_file().parent / "analysis-template-web.yaml"])
        return ArgoCanary(cluster, namespace, _rollout(), template, run_id=run_id, image="blissful/shop:2",
                          figures={"error_rate": error_rate}.get, drill=drill, max_pause_s=1.0, deadline_s=120,
                          rollback_slo_s=10).run()
    finally:
        kubernetes.down({"kubeconfig": cluster.kubeconfig, "context": cluster.context, "namespace": namespace,
                         "owned_namespace": True}, timeout_s=60)


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no values"
    return (f"{name}: median {statistics.median(values):.2f} s, min {min(values):.2f} s, max {max(values):.2f} s "
            f"({len(values)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip())
    cluster = connect(local_kubeconfig(), None)
    promoted: list[float] = []
    to_abort: list[float] = []
    abort_to_stable: list[float] = []
    rollback: list[float] = []
    for i in range(args.runs):
        ok = _one(cluster, 0.2, None)
        healthy = ok.weights[-1].applied_at if ok.outcome == "promoted" and ok.weights else None
        print(f"run {i + 1}: healthy canary {ok.outcome} ({ok.verdict})"
              + (f", Healthy on the new image after {healthy:.2f} s" if healthy is not None else ""))
        if healthy is not None:
            promoted.append(healthy)
        bad = _one(cluster, 5.0, DrillRequest("error-rate", "5%"))
        r = bad.rollback
        print(f"run {i + 1}: drill {bad.outcome} ({bad.verdict}): {bad.reason}")
        if r is not None and r.completed_s is not None and r.stable_full_at is not None:
            to_abort.append(r.rollback_started_at - r.first_failed_at)
            abort_to_stable.append(r.stable_full_at - r.rollback_started_at)
            rollback.append(r.completed_s)
    print(_summary("new image → Rollout Healthy on it (healthy canary)", promoted))
    print(_summary("failed measurement → abort seen", to_abort))
    print(_summary(f"abort → stable ReplicaSet {REPLICAS}/{REPLICAS}", abort_to_stable))
    print(_summary("rollback completed (failed measurement → stable all replicas, canary 0; goal ≤ 10 s)", rollback))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip())


if __name__ == "__main__":
    main()
