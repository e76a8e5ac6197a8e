"""Real-node tier: the demo stack on the local cluster's real kubelet + containerd node, brought up through the
stack manager exactly as ``--blissful-config fixtures/demo/k8s.yaml`` does, and FMEA scenarios graded there:
pod-kill (a real pod deleted through chaostoolkit-kubernetes) and a Toxiproxy dependency fault."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_blissful.config import BlissfulConfig
from pytest_blissful.config.loader import load_config
from pytest_blissful.stack import kubernetes, kubernetes_resources
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.kubernetes_client import Cluster
from pytest_blissful.stack.kubernetes_manifests import load_manifests
from pytest_blissful.stack.ledger import Ledger
from pytest_blissful.stack.manager import StackManager
from pytest_blissful.stack.model import Stack
from tests.kubernetes.conftest import deployment

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "fixtures" / "demo" / "k8s.yaml"
DEPLOYMENTS = ("lb", "app1", "app2", "upstream", "postgres", "redis", "toxiproxy")


@dataclass
class Demo:
    stack: Stack
    config: BlissfulConfig
    cluster: Cluster
    up_s: float


@pytest.fixture(scope="module")
def demo(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    config = load_config(REPO, DEMO_CONFIG)
    state = tmp_path_factory.mktemp("k8s-state")
    manager = StackManager(config, "t" + uuid.uuid4().hex[:9], state, os.getpid(), ledger=Ledger(state),
                           progress=print)
    started = time.monotonic()
    stack = manager.get()
    up_s = time.monotonic() - started
    print(f"demo up on the real node and healthy in {up_s:.1f} s")
    try:
        yield Demo(stack, config, cluster, up_s)
    finally:
        manager.teardown()
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        with pytest.raises(ApiException) as gone:
            client.CoreV1Api(cluster.api).read_namespace(str(stack.namespace))
        assert gone.value.status == 404, f"namespace {stack.namespace} still there after teardown"
        assert json.loads((state / "ledger.json").read_text()) == {}


def test_demo_serves_through_the_port_forward(demo: Demo) -> None:
    stack = demo.stack
    assert stack.kind == "kubernetes" and stack.namespace and stack.namespace.startswith("blissful-t")
    for name in DEPLOYMENTS:
        status = stack.resource(f"deployment/{name}")
        assert status.ready, status.explain()
    assert stack.base_url.startswith("http://127.0.0.1:")
    hello = httpx.get(stack.base_url + "/hello", timeout=5)
    assert hello.status_code == 200 and hello.json() == {"message": "Hello, World!"}
    assert httpx.get(stack.base_url + "/ready", timeout=5).status_code == 200  # postgres + redis via Toxiproxy
    toxiproxy = stack.endpoint("toxiproxy", 8474)
    assert sorted(httpx.get(toxiproxy + "/proxies", timeout=5).json()) == ["postgres", "redis", "upstream"]
    assert "demo service started" in stack.logs("app1")
    assert "demo service started" in stack.logs("app2", tail=200)


def _kill_output(journal_path: Path | None) -> dict[str, object]:
    assert journal_path is not None
    journal = json.loads(journal_path.read_text())
    for activity in journal["run"]:
        if activity["activity"]["name"] == "kill-one-pod":
            output: dict[str, object] = activity["output"]
            return output
    raise AssertionError("no kill-one-pod activity in the journal")


def _graded(fmea: Any, scenario: str, snapshot: Callable[[], list[str]] = list) -> tuple[Any, list[str]]:
    """Run ``scenario`` (with ``snapshot()`` taken just before); again (at most 3 runs) while the baseline before the
    fault is not steady (a busy shared machine): that makes a run inconclusive, which says nothing about the fault."""
    for _ in range(20):  # warm the services' connection pools first
        httpx.get(fmea.stack.base_url + "/dependency", timeout=5)
    for _attempt in range(3):
        before = snapshot()
        result = fmea.run(scenario, fault_duration=4, users=5)
        if result.verdict != "inconclusive" or "steady state not met before the fault" not in result.reason:
            break
        print(f"{scenario}: baseline not steady, running it again: {result.reason}")
    return result, before


def test_pod_kill_is_graded_on_the_real_node(demo: Demo, tmp_path: Path) -> None:
    from pytest_blissful.flows.fmea import Fmea

    namespace = str(demo.stack.namespace)
    fmea = Fmea(demo.stack, demo.config, tmp_path, progress=print)
    result, before = _graded(fmea, "pod-kill", lambda: kubernetes_resources.pods_of(demo.cluster, namespace, "app1"))
    run = fmea.runs[-1]
    print(result.reason, f"detection={result.detection_s} recovery={result.recovery_s}")

    killed = _kill_output(run.chaos.journal_path)
    assert killed["pods"] == before  # the one app1 pod, really deleted...
    after = kubernetes_resources.pods_of(demo.cluster, namespace, "app1")
    assert len(after) == 1 and after[0] not in before  # ...and replaced by its Deployment
    assert demo.stack.resource("deployment/app1").ready
    assert result.verdict in ("pass", "fail"), result.reason  # graded, not inconclusive
    # the deletion happens inside the injection action: after it started, before the action returned (fault_start)
    assert run.timing.injection_start is not None
    assert run.timing.injection_start <= float(str(killed["deleted_at"])) <= run.timing.fault_start


def test_db_latency_through_toxiproxy_on_the_real_node(demo: Demo, tmp_path: Path) -> None:
    from pytest_blissful.flows.fmea import Fmea

    fmea = Fmea(demo.stack, demo.config, tmp_path, progress=print)
    result, _ = _graded(fmea, "db-latency")
    run = fmea.runs[-1]
    print(result.reason)
    assert run.chaos.window.injected, run.chaos.explain()
    assert result.verdict in ("pass", "fail"), result.reason
    toxics = httpx.get(demo.stack.endpoint("toxiproxy", 8474) + "/proxies/postgres/toxics", timeout=5).json()
    assert toxics == []  # removed again


def test_missing_image_fails_fast_naming_pod_image_and_node(cluster: Cluster, namespace: str, run_id: str,
                                                            write_manifests: Callable[..., Path]) -> None:
    path = write_manifests(deployment("ghost", image="blissful/does-not-exist:1",
                                      nodeSelector={"kubernetes.io/hostname": "localhost"}))
    manifests = load_manifests([path])
    kubernetes.apply(cluster, manifests, namespace, run_id)
    started = time.monotonic()
    with pytest.raises(StackError) as caught:
        kubernetes.wait_ready(cluster, manifests, namespace, timeout_s=90)
    message = str(caught.value)
    assert "image 'blissful/does-not-exist:1' not found on node localhost" in message
    assert "ErrImageNeverPull" in message
    assert time.monotonic() - started < 60  # it does not wait for the timeout
