"""Kubernetes tier: the real local cluster that ``./scripts/setup.sh kubernetes`` builds and starts (a real
kube-apiserver with kwok's simulated node for the control-plane tests, and a real kubelet + containerd node for
the demo). Like the Docker tier, a missing cluster fails these tests with how to start it; only a machine that
opted out of the step (``BLISSFUL_K8S=0``) skips them."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.kubernetes_client import Cluster, connect, local_kubeconfig

KWOK_PLACEMENT = {
    "nodeSelector": {"type": "kwok"},
    "tolerations": [{"key": "blissful.io/simulated", "operator": "Exists", "effect": "NoSchedule"}],
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.kubernetes)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    if os.environ.get("BLISSFUL_K8S") == "0":
        pytest.skip("BLISSFUL_K8S=0: this machine does not run the local Kubernetes cluster")
    try:
        return connect(local_kubeconfig(), None)
    except StackError as exc:
        pytest.fail(f"the local Kubernetes cluster is not running (./scripts/setup.sh kubernetes): {exc}",
                    pytrace=False)


@pytest.fixture
def run_id() -> str:
    return "t" + uuid.uuid4().hex[:9]


@pytest.fixture
def namespace(cluster: Cluster, run_id: str) -> Iterator[str]:
    """An ephemeral namespace for one test, always deleted afterwards."""
    from pytest_blissful.stack import kubernetes

    name = f"blissful-test-{run_id}"
    kubernetes.ensure_namespace(cluster, name, run_id, 30)
    yield name
    from kubernetes import client

    core = client.CoreV1Api(cluster.api)
    for cm in core.list_namespaced_config_map(name).items:  # a test may have left a finalizer on purpose
        if cm.metadata.finalizers:
            core.patch_namespaced_config_map(cm.metadata.name, name, {"metadata": {"finalizers": None}})
    core.delete_namespace(name)  # not waited for: the namespace lifecycle itself is tested elsewhere


def deployment(name: str, replicas: int = 1, image: str = "blissful/none:1", **pod_spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"terminationGracePeriodSeconds": 0,
                                       "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never"}],
                                       **pod_spec}}},
    }


def service(name: str, port: int = 80) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": port}]}}


@pytest.fixture
def write_manifests(tmp_path: Path) -> Callable[..., Path]:
    def write(*documents: dict[str, Any], name: str = "app.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return path

    return write


CHAOS_MESH_CRDS = Path(__file__).with_name("chaos_mesh_crds.yaml")


@pytest.fixture(scope="session")
def chaos_mesh_crds(cluster: Cluster) -> Iterator[list[str]]:
    """The project's own minimal Chaos Mesh CRDs (tests/kubernetes/chaos_mesh_crds.yaml: no controller behind them).
    Those this session created are deleted at its end (with every resource of their kinds); ones already there are
    left alone, and no other CRD is touched."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    api = client.ApiextensionsV1Api(cluster.api)
    documents = {d["metadata"]["name"]: d for d in yaml.safe_load_all(CHAOS_MESH_CRDS.read_text()) if d}
    created: list[str] = []
    deadline = time.monotonic() + 60
    while not all(_ready(api, name, documents[name], created) for name in documents):
        assert time.monotonic() < deadline, f"Chaos Mesh test CRDs not established within 60 s: {list(documents)}"
        time.sleep(0.1)
    yield list(documents)
    for name in created:
        try:
            api.delete_custom_resource_definition(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 30
    while any(_exists(api, name) for name in created) and time.monotonic() < deadline:
        time.sleep(0.2)


def _ready(api: Any, name: str, document: dict[str, Any], created: list[str]) -> bool:
    """Create the CRD when it is missing (once an earlier session's deletion finished); True once served."""
    from kubernetes.client.rest import ApiException

    try:
        crd = api.read_custom_resource_definition(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
        api.create_custom_resource_definition(document)
        if name not in created:
            created.append(name)
        return False
    if crd.metadata.deletion_timestamp is not None:
        return False  # an earlier session's, still being deleted
    return any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))


def _exists(api: Any, name: str) -> bool:
    from kubernetes.client.rest import ApiException

    try:
        api.read_custom_resource_definition(name)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True
