"""``chaos.tool: chaos-mesh`` on the real apiserver, with the project's own Chaos Mesh CRDs and no Chaos Mesh
controller (none can run here; see test_chaos_mesh.py, whose stack and watcher these tests share).

What is shown: the built-in ``network-latency`` scenario, asked for by name in a blissful.yaml that says
``tool: chaos-mesh``, runs its Chaos Mesh variant: a NetworkChaos with a 500 ms delay on the pods of
``chaos.targets.app`` in the run's namespace, graded with its Docker twin's FMEA metadata. Nothing reports it
injected, so the run is **inconclusive**. The same run with a status written into the resource, as Chaos Mesh's
controller writes one, is a pass: the grade turns on the controller's report and on nothing else (that status is
written by this test, standing in for a controller; it shows the grading switch, not that Chaos Mesh injects
anything). Either way the resource is gone afterwards and the fault ledger is empty."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pytest_blissful.chaos import chaos_mesh as cm
from pytest_blissful.chaos.ledger import FaultLedger
from pytest_blissful.chaos.verify import NO_CONTROLLER
from pytest_blissful.config import load_config
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.grading.fmea import FmeaResult
from pytest_blissful.stack.kubernetes_client import Cluster
from pytest_blissful.stack.model import Stack
from tests.kubernetes import test_chaos_mesh as shared
from tests.kubernetes.test_chaos_mesh import _resources, _Watcher

# the same fixtures: two pods of Deployment web on kwok's node, and a healthy entry point on 127.0.0.1
entry, stack = shared.entry, shared.stack
pytestmark = pytest.mark.usefixtures("isolated_state", "chaos_mesh_crds")
CONFIG = """
stack:
  kubernetes:
    manifests: [app.yaml]
chaos:
  tool: chaos-mesh
  targets: {app: web}
  baseline_duration: 2s
  load_during_chaos: 2
  mix: {"GET /health": 1}
"""


def _config(tmp_path: Path) -> BlissfulConfig:
    """The blissful.yaml a user writes, through the loader (app.yaml: the stack fixture's manifests)."""
    (tmp_path / "blissful.yaml").write_text(CONFIG)
    config = load_config(tmp_path, tmp_path / "blissful.yaml")
    assert config.chaos.tool == "chaos-mesh"
    return config


@contextmanager
def _standing_in_for_a_controller(cluster: Cluster, namespace: str) -> Iterator[list[str]]:
    """Write into each new NetworkChaos of the namespace the status Chaos Mesh's controller writes once every
    selected container is injected (records ``Injected``, ``AllInjected=True``). Yields the names it wrote to."""
    from kubernetes import client

    api, core = client.CustomObjectsApi(cluster.api), client.CoreV1Api(cluster.api)
    written: list[str] = []
    stop = threading.Event()

    def report() -> None:
        while not stop.wait(0.1):
            for item in _resources(cluster, namespace, "NetworkChaos"):
                name = item["metadata"]["name"]
                if item.get("status") or name in written:
                    continue
                labels = item["spec"]["selector"]["labelSelectors"]
                pods = core.list_namespaced_pod(namespace, label_selector=",".join(f"{k}={v}" for k, v in
                                                                                   labels.items())).items
                records = [{"id": f"{namespace}/{p.metadata.name}/main", "selectorKey": ".", "phase": "Injected",
                            "injectedCount": 1, "recoveredCount": 0} for p in pods]
                status = {"conditions": [{"type": t, "status": s} for t, s in
                                         (("Selected", "True"), ("AllInjected", "True"), ("Paused", "False"))],
                          "experiment": {"desiredPhase": "Run", "containerRecords": records}}
                api.patch_namespaced_custom_object_status(cm.GROUP, cm.VERSION, namespace, "networkchaos", name,
                                                          {"status": status})
                written.append(name)

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield written
    finally:
        stop.set()
        thread.join(10)


def _run(stack: Stack, config: BlissfulConfig, cluster: Cluster, namespace: str,
         tmp_path: Path) -> tuple[FmeaResult, Any, list[dict[str, Any]]]:
    """One FMEA run of the built-in network-latency scenario; the result, its chaos run and every NetworkChaos seen
    on the apiserver while it ran."""
    from pytest_blissful.flows.fmea import Fmea

    fmea = Fmea(stack, config, tmp_path, progress=print)
    with _Watcher(cluster, namespace, "NetworkChaos") as watcher:
        result = fmea.run("network-latency", fault_duration=1)
    chaos = fmea.runs[-1].chaos
    print(result.explain(), chaos.explain(), sep="\n")
    seen = {i["metadata"]["name"]: i for _, items, _ in watcher.seen for i in items}
    assert chaos.window.removed_at is not None
    assert all(not items for at, items, _ in watcher.seen if at > chaos.window.removed_at + 0.05)
    assert _resources(cluster, namespace, "NetworkChaos") == [], "the NetworkChaos outlived the run"
    assert FaultLedger().faults() == {}
    assert [a.name for a in chaos.activities if a.phase == "rollbacks"] == ["delete-the-network-chaos"]
    return result, chaos, list(seen.values())


def test_the_builtin_network_latency_with_chaos_mesh_is_inconclusive_without_a_controller_and_passes_with_its_report(
        cluster: Cluster, namespace: str, stack: Stack, tmp_path: Path) -> None:
    """The switch: the same scenario, stack and load, once without and once with the status a controller writes.
    Nothing else differs, and the grade goes from inconclusive to pass."""
    from kubernetes import client

    config = _config(tmp_path)
    (tmp_path / "without").mkdir()
    (tmp_path / "with").mkdir()
    result, chaos, (created,) = _run(stack, config, cluster, namespace, tmp_path / "without")

    assert created["spec"] == {"action": "delay", "delay": {"latency": "500ms"}, "duration": "10m", "mode": "all",
                               "selector": {"namespaces": [namespace], "labelSelectors": {"app": "web"}}}
    assert created["metadata"]["namespace"] == namespace == stack.namespace
    web = client.AppsV1Api(cluster.api).read_namespaced_deployment("web", namespace)
    assert web.spec.selector.match_labels == created["spec"]["selector"]["labelSelectors"]  # the target's pods
    assert [a.name for a in chaos.activities if a.phase == "method"] == ["delay-app-traffic", "hold-the-fault"]
    assert not created.get("status")
    # graded with the Docker twin's FMEA metadata (experiments/network-latency.json)
    assert result.scenario == "network-latency" and result.severity == "High"
    assert result.expected_behaviour == "requests complete within timeout, no errors" and result.weight == 2
    assert result.verdict == "inconclusive" and not result.passed
    assert NO_CONTROLLER in result.reason and chaos.inconclusive
    (check,) = [c for c in chaos.checks if c.when == "injected"]
    assert check.in_effect is False and "without a status" in check.evidence

    with _standing_in_for_a_controller(cluster, namespace) as written:
        reported, chaos, (created,) = _run(stack, config, cluster, namespace, tmp_path / "with")
    assert written == [created["metadata"]["name"]]
    checks = [c for c in chaos.checks if c.func.endswith("network_chaos")]
    assert [(c.when, c.in_effect) for c in checks] == [("injected", True), ("before-removal", True)]
    assert "injected by Chaos Mesh after" in checks[0].evidence
    assert reported.verdict == "pass" and reported.passed, reported.explain()
