"""Control-plane tier: a real kube-apiserver, controller-manager and scheduler with kwok's simulated node.
Manifests, readiness waits and their errors, the namespace lifecycle, leftover cleanup, and the
chaostoolkit-kubernetes pod action."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pytest_blissful.chaos.errors import ChaosRefused
from pytest_blissful.stack import kubernetes, kubernetes_resources
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.kubernetes_client import Cluster, connect, local_kubeconfig
from pytest_blissful.stack.kubernetes_manifests import RUN_LABEL, load_manifests
from pytest_blissful.stack.ledger import LEDGER_KIND, Ledger
from pytest_blissful.stack.model import Stack
from pytest_blissful.stack.reaper import reap_orphans
from tests.kubernetes.conftest import KWOK_PLACEMENT, deployment, service

Write = Callable[..., Path]


def _namespace_exists(cluster: Cluster, name: str) -> bool:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    try:
        client.CoreV1Api(cluster.api).read_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return False
    return True


def test_apply_waits_until_ready_and_reports_status(cluster: Cluster, namespace: str, run_id: str,
                                                     write_manifests: Write) -> None:
    path = write_manifests(deployment("web", replicas=2, **KWOK_PLACEMENT), service("web"))
    manifests = load_manifests([path])
    started = time.monotonic()
    kubernetes.apply(cluster, manifests, namespace, run_id)
    kubernetes.wait_ready(cluster, manifests, namespace, timeout_s=30)
    elapsed = time.monotonic() - started
    print(f"2 pods on the kwok node ready {elapsed:.2f} s after the apply")

    web = kubernetes_resources.status(cluster, namespace, "deployment/web")
    assert web.exists and web.ready, web.explain()
    assert "2/2" in web.reason
    assert kubernetes_resources.status(cluster, namespace, "service/web").ready  # 2 ready endpoints
    missing = kubernetes_resources.status(cluster, namespace, "deployment/nope")
    assert not missing.exists and not missing.ready and "not found" in missing.reason
    from kubernetes import client

    labels = client.AppsV1Api(cluster.api).read_namespaced_deployment("web", namespace).metadata.labels
    assert labels[RUN_LABEL] == run_id


def test_kustomize_directory_is_built(cluster: Cluster, namespace: str, run_id: str, write_manifests: Write,
                                      tmp_path: Path) -> None:
    write_manifests(deployment("api", **KWOK_PLACEMENT), name="kust/api.yaml")
    (tmp_path / "kust" / "kustomization.yaml").write_text(
        "resources: [api.yaml]\nnamePrefix: shop-\nlabels:\n- pairs: {team: payments}\n")
    manifests = load_manifests([tmp_path / "kust"])
    assert [m.ref for m in manifests] == ["deployment/shop-api"]
    kubernetes.apply(cluster, manifests, namespace, run_id)
    kubernetes.wait_ready(cluster, manifests, namespace, timeout_s=30)
    assert kubernetes_resources.status(cluster, namespace, "deployment/shop-api").ready


def test_rejected_manifest_names_file_and_message(cluster: Cluster, namespace: str, run_id: str,
                                                  write_manifests: Write) -> None:
    bad = deployment("bad", **KWOK_PLACEMENT)
    bad["spec"]["replicas"] = -1
    path = write_manifests(bad, name="broken.yaml")
    with pytest.raises(StackError) as caught:
        kubernetes.apply(cluster, load_manifests([path]), namespace, run_id)
    message = str(caught.value)
    assert "rejected deployment/bad" in message and str(path) in message
    assert "spec.replicas" in message and "greater than or equal to 0" in message


def test_not_ready_names_the_resource_and_why(cluster: Cluster, namespace: str, run_id: str,
                                              write_manifests: Write) -> None:
    path = write_manifests(deployment("stuck", nodeSelector={"kubernetes.io/hostname": "no-such-node"}))
    manifests = load_manifests([path])
    kubernetes.apply(cluster, manifests, namespace, run_id)
    with pytest.raises(StackError) as caught:
        kubernetes.wait_ready(cluster, manifests, namespace, timeout_s=3)
    message = str(caught.value)
    assert "deployment/stuck: not ready (0/1 replicas ready" in message
    assert "not scheduled" in message and "node(s) didn't match" in message


def test_rollout_kind_without_its_crd_is_a_clear_error(cluster: Cluster, namespace: str, run_id: str,
                                                       write_manifests: Write) -> None:
    rollout = {"apiVersion": "argoproj.io/v1alpha9", "kind": "Rollout", "metadata": {"name": "canary"}, "spec": {}}
    path = write_manifests(rollout, name="rollout.yaml")
    with pytest.raises(StackError) as caught:
        kubernetes.apply(cluster, load_manifests([path]), namespace, run_id)
    assert "rollout/canary needs Argo Rollouts, which is not installed" in str(caught.value)
    assert str(path) in str(caught.value)


def test_unreachable_and_unauthorised_clusters(tmp_path: Path, cluster: Cluster) -> None:
    config = yaml.safe_load(local_kubeconfig().read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    unreachable = tmp_path / "unreachable.kubeconfig"
    unreachable.write_text(yaml.safe_dump(config))
    with pytest.raises(StackError, match=r"unreachable at https://127\.0\.0\.1:1 .*connection refused"):
        connect(unreachable, None)

    config = yaml.safe_load(local_kubeconfig().read_text())
    config["users"][0]["user"] = {"token": "not-a-valid-token"}
    stranger = tmp_path / "stranger.kubeconfig"
    stranger.write_text(yaml.safe_dump(config))
    with pytest.raises(StackError, match=r"refused the credentials .*HTTP 40[13].*unauthorised"):
        connect(stranger, None)

    with pytest.raises(StackError, match="kubeconfig not found"):
        connect(tmp_path / "missing.kubeconfig", None)
    with pytest.raises(StackError, match="no-such-context"):
        connect(local_kubeconfig(), "no-such-context")


def test_namespace_stuck_terminating_is_named(cluster: Cluster, namespace: str) -> None:
    from kubernetes import client

    core = client.CoreV1Api(cluster.api)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "held", "finalizers": ["blissful.io/hold"]}})
    core.delete_namespace(namespace)
    deadline = time.monotonic() + 60  # the namespace controller reports what blocks it after a few seconds
    while time.monotonic() < deadline and not any(
            c.type == "NamespaceFinalizersRemaining" and c.status == "True"
            for c in (core.read_namespace(namespace).status.conditions or [])):
        time.sleep(0.25)
    details = {"kubeconfig": cluster.kubeconfig, "context": None, "namespace": namespace, "owned_namespace": True}
    with pytest.raises(StackError) as caught:
        kubernetes.down(details, timeout_s=2)
    assert f"namespace {namespace} is stuck terminating" in str(caught.value)
    assert "blissful.io/hold" in str(caught.value)
    # the fixture removes the finalizer and the namespace goes


def test_killed_runs_namespace_is_reaped_by_the_next_run(cluster: Cluster, run_id: str, tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    name = f"blissful-{run_id}"
    kubernetes.ensure_namespace(cluster, name, run_id, 30)
    ledger = Ledger(tmp_path)
    key = kubernetes.ledger_key(cluster.server, name)
    ledger.record(key, LEDGER_KIND, dead.pid, target="kubernetes", kubeconfig=cluster.kubeconfig, context=None,
                  namespace=name, owned_namespace=True, run_id=run_id, applied=[], forwarders=[])
    try:
        messages: list[str] = []
        assert reap_orphans(ledger, progress=messages.append) == [key]
        assert not _namespace_exists(cluster, name)
        assert json.loads((tmp_path / "ledger.json").read_text()) == {}
        assert any(name in m for m in messages)
    finally:
        kubernetes.down({"kubeconfig": cluster.kubeconfig, "namespace": name, "owned_namespace": True}, 30)


def test_kill_pod_action_really_deletes_a_pod(cluster: Cluster, namespace: str, run_id: str,
                                              write_manifests: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes import client

    from pytest_blissful.chaos.actions import kubernetes as k8s_actions

    manifests = load_manifests([write_manifests(deployment("web", replicas=2, **KWOK_PLACEMENT))])
    kubernetes.apply(cluster, manifests, namespace, run_id)
    kubernetes.wait_ready(cluster, manifests, namespace, timeout_s=30)
    core = client.CoreV1Api(cluster.api)
    before = {p.metadata.name for p in core.list_namespaced_pod(namespace).items}
    stack = Stack(name="t", kind="kubernetes", base_url="http://127.0.0.1:1",
                  kubernetes={"kubeconfig": cluster.kubeconfig, "context": None, "namespace": namespace,
                              "local": True, "server": cluster.server})
    configuration = {"blissful_stack": stack.to_dict()}

    killed = k8s_actions.kill_pod("web", configuration=configuration)
    assert len(killed["pods"]) == 1 and killed["pods"][0] in before
    took = k8s_actions.wait_ready("web", timeout=30, configuration=configuration)
    after = {p.metadata.name for p in core.list_namespaced_pod(namespace).items
             if p.metadata.deletion_timestamp is None}
    assert killed["pods"][0] not in after and len(after) == 2
    print(f"pod {killed['pods'][0]} replaced; deployment ready again after {took:.2f} s")

    monkeypatch.delenv("BLISSFUL_ALLOW_CHAOS", raising=False)
    remote = Stack.from_dict({**stack.to_dict(), "kubernetes": {**stack.kubernetes, "local": False,
                                                                  "server": "https://10.1.2.3:6443"}})
    with pytest.raises(ChaosRefused, match="not on this machine"):
        k8s_actions.kill_pod("web", configuration={"blissful_stack": remote.to_dict()})


def test_rollout_is_ready_when_argo_reports_it_healthy(cluster: Cluster, namespace: str, run_id: str,
                                                       write_manifests: Write) -> None:
    template = deployment("shop", replicas=2, **KWOK_PLACEMENT)["spec"]
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "shop"},
               "spec": {**template, "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}}}
    manifests = load_manifests([write_manifests(rollout, name="rollout.yaml")])
    kubernetes.apply(cluster, manifests, namespace, run_id)
    kubernetes.wait_ready(cluster, manifests, namespace, timeout_s=60)  # the real Argo Rollouts controller
    status = kubernetes_resources.status(cluster, namespace, "rollout/shop")
    assert status.ready and status.reason.startswith("phase Healthy"), status.explain()
