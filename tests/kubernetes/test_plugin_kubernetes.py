"""The plugin's fixtures on a Kubernetes stack, as a user runs them: an inner pytest session deploys a one-service
app to the real node through ``stack.kubernetes``, uses ``stack``/``http``/``stack.resource``/``stack.logs``, and
leaves no namespace behind — also when it is SIGKILLed (the next session removes it through the ledger)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pytest_blissful.stack import kubernetes
from pytest_blissful.stack.kubernetes_client import Cluster

PORT = 17190  # hostNetwork on the local node: bound to 127.0.0.1 only
APP = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo"},
     "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "echo"}},
              "template": {"metadata": {"labels": {"app": "echo"}}, "spec": {
                  "hostNetwork": True, "terminationGracePeriodSeconds": 1,
                  "nodeSelector": {"kubernetes.io/hostname": "localhost"},
                  "containers": [{
                      "name": "echo", "image": "blissful/demo-app:1", "imagePullPolicy": "Never",
                      "command": ["python", "-c", "import uvicorn; run = uvicorn.run; uvicorn.run = lambda *a, **k: "
                                  "run(*a, **{**k, 'host': '127.0.0.1'}); from demo.upstream import main; main()"],
                      "env": [{"name": "PORT", "value": str(PORT)}, {"name": "INSTANCE_NAME", "value": "echo"}],
                      "ports": [{"name": "http", "containerPort": PORT}],
                      "readinessProbe": {"httpGet": {"host": "127.0.0.1", "path": "/health", "port": "http"},
                                         "periodSeconds": 1}}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
     "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": "http"}]}},
]
CONFIG = "stack:\n  kubernetes: {manifests: [app.yaml]}\n  entry_service: echo\n  entry_port: 80\n" \
         "  startup_timeout: 90s\n"


@pytest.fixture
def app(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cluster: Cluster) -> Iterator[pytest.Pytester]:
    state = pytester.path / "state"
    state.mkdir()
    monkeypatch.setenv("BLISSFUL_STATE_DIR", str(state))
    (pytester.path / "app.yaml").write_text(yaml.safe_dump_all(APP))
    pytester.makefile(".yaml", blissful=CONFIG)
    yield pytester
    ledger = state / "ledger.json"  # whatever a failed test left: removed, never kept
    for entry in (json.loads(ledger.read_text()) if ledger.exists() else {}).values():
        if entry.get("target") == "kubernetes":
            kubernetes.down(entry, timeout_s=60)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def _gone(cluster: Cluster, namespace: str, timeout_s: float = 30) -> bool:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            client.CoreV1Api(cluster.api).read_namespace(namespace)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        time.sleep(0.25)
    return False


def test_fixtures_work_unchanged_on_kubernetes(app: pytest.Pytester, cluster: Cluster) -> None:
    app.makepyfile(
        """
        import pathlib, httpx
        def test_app(stack):
            pathlib.Path("namespace.txt").write_text(stack.namespace)
            assert stack.kind == "kubernetes" and stack.base_url.startswith("http://127.0.0.1:")
            assert stack.resource("deployment/echo").ready
            assert not stack.resource("deployment/missing").exists
            assert httpx.get(stack.base_url + "/health").json() == {"status": "healthy"}
            assert "upstream service started" in stack.logs("echo")
        """
    )
    result = app.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*deploying 2 object(s) to namespace blissful-*",
                                 "*ready in *s (workloads *s), entry http://127.0.0.1:*"])
    namespace = (app.path / "namespace.txt").read_text()
    assert _gone(cluster, namespace, timeout_s=5), f"namespace {namespace} left behind"


def test_sigkilled_runs_namespace_is_removed_by_the_next_run(app: pytest.Pytester, cluster: Cluster) -> None:
    app.makepyfile(
        test_hang="""
        import pathlib, time
        def test_hang(stack):
            pathlib.Path("namespace.txt").write_text(stack.namespace)
            time.sleep(120)
        """
    )
    marker = app.path / "namespace.txt"
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_hang.py"],
                               cwd=app.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ}, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.25)
        assert marker.exists(), "the inner run never got its stack"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    namespace = marker.read_text()
    assert not _gone(cluster, namespace, timeout_s=1), "a SIGKILLed run cannot clean up: the namespace must remain"

    (entry,) = json.loads((app.path / "state" / "ledger.json").read_text()).values()
    time.sleep(1.5)  # the port-forward supervisor notices its owner is gone and exits with its kubectl
    assert entry["forwarders"] and not any(_alive(pid) for pid in entry["forwarders"])

    app.makepyfile(test_next="def test_nothing():\n    pass\n")
    result = app.runpytest_subprocess("test_next.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*removing leftovers of a killed run (Kubernetes namespace {namespace})*"])
    assert _gone(cluster, namespace, timeout_s=5)
