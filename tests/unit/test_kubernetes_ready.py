"""Readiness of Kubernetes objects and the reasons given when they are not ready (pure functions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.kubernetes_manifests import RUN_LABEL, labelled, load_manifests
from pytest_blissful.stack.kubernetes_ready import image_error, pod_problem, readiness


def _deployment(want: int, ready: int, updated: int | None = None, generation: int = 2, observed: int = 2) -> dict:
    return {"kind": "Deployment", "metadata": {"generation": generation},
            "spec": {"replicas": want},
            "status": {"observedGeneration": observed, "replicas": want, "readyReplicas": ready,
                       "availableReplicas": ready, "updatedReplicas": want if updated is None else updated}}


def test_deployment_ready_only_when_every_replica_is_available_and_updated() -> None:
    assert readiness(_deployment(2, 2)) == (True, "2/2 replicas ready, 2 updated")
    assert readiness(_deployment(2, 1))[0] is False
    assert readiness(_deployment(2, 2, updated=1))[0] is False
    assert readiness(_deployment(2, 2, generation=3, observed=2))[0] is False  # the controller has not seen it yet


def test_pod_reasons_name_image_scheduling_and_crash_loops() -> None:
    missing = {"kind": "Pod", "metadata": {"name": "api-1"}, "spec": {"nodeName": "localhost"},
               "status": {"phase": "Pending", "containerStatuses": [
                   {"name": "api", "image": "shop/api:2", "ready": False,
                    "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}}}]}}
    assert image_error(missing) == ("pod api-1: image 'shop/api:2' not found on node localhost "
                                    "(ErrImageNeverPull: image not present)")
    unscheduled = {"kind": "Pod", "metadata": {"name": "api-2"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "message": "0/2 nodes are available"}]}}
    assert pod_problem(unscheduled) == "pod api-2 not scheduled: 0/2 nodes are available"
    assert image_error(unscheduled) is None
    crashing = {"kind": "Pod", "metadata": {"name": "api-3"}, "status": {"phase": "Running", "containerStatuses": [
        {"name": "api", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
         "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}}
    assert readiness(crashing) == (False, "phase Running, pod api-3: container api CrashLoopBackOff "
                                          "(last exit code 3, Error): back-off")


def test_rollout_and_service_readiness() -> None:
    healthy = {"kind": "Rollout", "metadata": {"generation": 4}, "status": {"observedGeneration": "4",
                                                                           "phase": "Healthy"}}
    assert readiness(healthy)[0] is True
    paused = {"kind": "Rollout", "metadata": {"generation": 4},
              "status": {"observedGeneration": "4", "phase": "Paused", "message": "CanaryPauseStep"}}
    assert readiness(paused) == (False, "phase Paused: CanaryPauseStep")
    svc = {"kind": "Service", "spec": {"selector": {"app": "x"}}}
    assert readiness(svc, 0) == (False, "0 ready endpoint(s)")
    assert readiness(svc, 2)[0] is True


def test_manifest_files_are_loaded_labelled_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "app.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: other}\n---\n"
                    "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n")
    manifests = load_manifests([good])
    assert [m.ref for m in manifests] == ["configmap/a", "secret/s"]
    body = labelled(manifests[0], "run1", "blissful-run1")
    assert body["metadata"]["namespace"] == "blissful-run1" and body["metadata"]["labels"][RUN_LABEL] == "run1"
    assert manifests[0].body["metadata"]["namespace"] == "other"  # the loaded object is not changed

    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(StackError, match=r"bad\.yaml: document 1 is not a Kubernetes object"):
        load_manifests([bad])
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [\n")
    with pytest.raises(StackError, match=r"broken\.yaml:2: invalid YAML"):
        load_manifests([broken])
    with pytest.raises(StackError, match="manifest path not found"):
        load_manifests([tmp_path / "nope"])


def test_stack_kubernetes_config_errors_name_key_and_line(tmp_path: Path) -> None:
    from pytest_blissful.config import ConfigError, load_config

    path = tmp_path / "blissful.yaml"
    path.write_text("stack:\n  kubernetes:\n    manifests: [k8s]\n    namespace: Team_A\n")
    with pytest.raises(ConfigError, match=r"blissful\.yaml:4: stack\.kubernetes\.namespace: .*'Team_A' is not a valid"):
        load_config(tmp_path, path)
    path.write_text("stack:\n  kubernetes: {}\n")
    with pytest.raises(ConfigError, match=r"blissful\.yaml:2: stack\.kubernetes\.manifests: Field required"):
        load_config(tmp_path, path)
    path.write_text("stack:\n  compose: [compose.yaml]\n  kubernetes: {manifests: [k8s]}\n")
    with pytest.raises(ConfigError, match=r"either stack\.compose or stack\.kubernetes"):
        load_config(tmp_path, path)
    path.write_text("stack:\n  kubernetes: {manifests: [k8s/overlays/local]}\n")
    config = load_config(tmp_path, path)
    assert config.stack.kubernetes is not None and not config.uses_demo_stack
    assert config.stack.kubernetes.delete_timeout == 60.0
