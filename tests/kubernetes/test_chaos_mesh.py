"""Chaos Mesh faults on the real apiserver, with the project's own minimal Chaos Mesh CRDs and **no** Chaos Mesh
controller (none can run here: its images cannot be pulled). What is shown: the resources are written to the fault
ledger before they are created, created in the run's namespace with the selector asked for, never taken for a
fault in place (the run is inconclusive: no controller reported them injected), and always deleted: by the
rollback, by the end of the run, and by the next session after a SIGKILL. Bad input and a missing CRD are clear
errors that create nothing."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_blissful.chaos import ChaosError, ChaosRefused
from pytest_blissful.chaos import chaos_mesh as cm
from pytest_blissful.chaos.actions import chaos_mesh as actions
from pytest_blissful.chaos.ledger import FaultLedger, remove_all_faults, remove_orphan_faults
from pytest_blissful.chaos.verify import CHAOS_MESH_WAIT_S, NO_CONTROLLER
from pytest_blissful.stack import kubernetes
from pytest_blissful.stack.kubernetes_client import Cluster
from pytest_blissful.stack.kubernetes_manifests import load_manifests
from pytest_blissful.stack.model import Stack
from tests.kubernetes.conftest import KWOK_PLACEMENT, deployment

pytestmark = pytest.mark.usefixtures("isolated_state", "chaos_mesh_crds")
REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO / "fixtures" / "demo" / "k8s" / "experiments" / "chaos-mesh-network-latency.yaml"


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"healthy"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def entry() -> Iterator[str]:
    """The entry point the experiment's steady-state probe asks (the pods on kwok's node serve nothing)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stack(cluster: Cluster, namespace: str, run_id: str, write_manifests: Callable[..., Path], entry: str) -> Stack:
    """Two pods of ``web`` on kwok's node (Running, no containers) in the test's namespace, as a Kubernetes stack."""
    manifests = load_manifests([write_manifests(deployment("web", replicas=2, **KWOK_PLACEMENT))])
    kubernetes.apply(cluster, manifests, namespace, run_id)
    kubernetes.wait_ready(cluster, manifests, namespace, timeout_s=30)
    return Stack(name="t", kind="kubernetes", base_url=entry,
                 kubernetes={"kubeconfig": cluster.kubeconfig, "context": None, "namespace": namespace,
                             "local": True, "server": cluster.server})


def _resources(cluster: Cluster, namespace: str, kind: str) -> list[dict[str, Any]]:
    from kubernetes import client

    listed = client.CustomObjectsApi(cluster.api).list_namespaced_custom_object(cm.GROUP, cm.VERSION, namespace,
                                                                                cm.plural(kind))
    return list(listed["items"])


class _Watcher:
    """Samples, every 0.1 s while a run goes on, the Chaos Mesh resources of the namespace and the fault ledger."""

    def __init__(self, cluster: Cluster, namespace: str, kind: str) -> None:
        self.seen: list[tuple[float, list[dict[str, Any]], dict[str, dict[str, Any]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(cluster, namespace, kind), daemon=True)

    def _run(self, cluster: Cluster, namespace: str, kind: str) -> None:
        while not self._stop.wait(0.1):
            at, items = time.time(), _resources(cluster, namespace, kind)  # the resources first, then the ledger
            ledger = {k: e for k, e in FaultLedger().faults().items() if e.get("family") == "chaos-mesh"}
            self.seen.append((at, items, ledger))

    def __enter__(self) -> _Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_without_a_chaos_mesh_controller_the_fmea_run_is_inconclusive_and_the_resource_deleted(
        cluster: Cluster, namespace: str, stack: Stack, tmp_path: Path) -> None:
    """The docs' experiment (fixtures/demo/k8s/experiments/chaos-mesh-network-latency.yaml) as an FMEA scenario,
    under load: the NetworkChaos is recorded, then created as asked; no controller ever reports it injected, so the
    scenario is inconclusive with that reason (never a pass), and afterwards neither the resource nor its ledger
    entry is left."""
    from pytest_blissful.config.schema import BlissfulConfig
    from pytest_blissful.flows.fmea import Fmea

    config = BlissfulConfig.model_validate({"chaos": {
        "experiments": {"network-latency": str(EXPERIMENT)}, "targets": {"app": "web"}, "baseline_duration": "2s",
        "load_during_chaos": 2, "mix": {"GET /health": 1}}})
    fmea = Fmea(stack, config, tmp_path, progress=print)
    with _Watcher(cluster, namespace, "NetworkChaos") as watcher:
        result = fmea.run("network-latency", fault_duration=1)
    chaos = fmea.runs[-1].chaos
    print(result.explain(), chaos.explain(), sep="\n")

    assert result.verdict == "inconclusive" and not result.passed
    assert NO_CONTROLLER in result.reason
    assert chaos.inconclusive and chaos.reason is not None and NO_CONTROLLER in chaos.reason
    (check,) = [c for c in chaos.checks if c.when == "injected"]
    assert check.in_effect is False and check.took_s >= CHAOS_MESH_WAIT_S - 0.5
    assert "without a status" in check.evidence and "NetworkChaos" in check.evidence

    during = [(at, items, ledger) for at, items, ledger in watcher.seen if items]
    assert during, "the NetworkChaos was never seen on the apiserver"
    _, (created,), ledger = during[0]
    (entry,) = ledger.values()  # written before the resource was created: there whenever the resource is
    name = created["metadata"]["name"]
    assert entry["chaos_kind"] == "NetworkChaos" and entry["name"] == name and entry["namespace"] == namespace
    assert entry["kubeconfig"] == cluster.kubeconfig and entry["server"] == cluster.server
    assert created["spec"] == {
        "action": "delay", "delay": {"latency": "500ms", "jitter": "10ms"}, "duration": "10m", "mode": "all",
        "selector": {"namespaces": [namespace], "labelSelectors": {"app": "web"}}}
    assert not created.get("status")
    assert chaos.window.removed_at is not None
    assert all(not items for at, items, _ in watcher.seen if at > chaos.window.removed_at + 0.05)

    assert _resources(cluster, namespace, "NetworkChaos") == []
    assert FaultLedger().faults() == {}
    assert [a.name for a in chaos.activities if a.phase == "rollbacks"] == ["delete-the-network-chaos"]


def test_stress_and_dns_chaos_are_created_as_asked_and_deleted_by_the_rollback(
        cluster: Cluster, namespace: str, stack: Stack) -> None:
    configuration = {"blissful_stack": stack.to_dict()}
    stress = actions.stress_chaos(labels={"app": "web"}, mode="fixed", value="1", cpu_workers=2, cpu_load=80,
                                  memory_size="256MB", duration=30, configuration=configuration)
    dns = actions.dns_chaos(action="random", patterns=["postgres", "*.example"], target="web",
                            configuration=configuration)
    (stress_cr,) = _resources(cluster, namespace, "StressChaos")
    (dns_cr,) = _resources(cluster, namespace, "DNSChaos")
    selector = {"namespaces": [namespace], "labelSelectors": {"app": "web"}}
    assert stress_cr["metadata"]["name"] == stress["name"]
    assert stress_cr["spec"] == {"mode": "fixed", "value": "1", "selector": selector, "duration": "30s",
                                 "stressors": {"cpu": {"workers": 2, "load": 80},
                                               "memory": {"workers": 1, "size": "256MB"}}}
    assert dns_cr["spec"] == {"action": "random", "mode": "all", "selector": selector,
                              "patterns": ["postgres", "*.example"]}
    assert dns_cr["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pytest-blissful"
    assert sorted(e["chaos_kind"] for e in FaultLedger().faults().values()) == ["DNSChaos", "StressChaos"]

    assert actions.delete_chaos("DNSChaos", configuration=configuration) == [dns["name"]]
    assert _resources(cluster, namespace, "DNSChaos") == []
    assert [e["chaos_kind"] for e in FaultLedger().faults().values()] == ["StressChaos"]
    assert actions.delete_chaos(configuration=configuration) == [stress["name"]]
    assert _resources(cluster, namespace, "StressChaos") == []
    assert FaultLedger().faults() == {}
    assert actions.delete_chaos(configuration=configuration) == []

    # no rollback at all: the end-of-session safety net (the plugin's remove_all_faults) deletes it
    loss = actions.network_chaos(action="loss", target="web", loss="25%", correlation=10, configuration=configuration)
    assert _resources(cluster, namespace, "NetworkChaos")[0]["spec"]["loss"] == {"loss": "25", "correlation": "10"}
    assert remove_all_faults() == [loss["ledger_key"]]
    assert _resources(cluster, namespace, "NetworkChaos") == []
    assert FaultLedger().faults() == {}


INJECT_AND_HANG = """
import json, sys, time
from pytest_blissful.chaos.actions import chaos_mesh
made = chaos_mesh.network_chaos(action="partition", target="web", peer_labels={"app": "web"}, direction="both",
                                configuration={"blissful_stack": json.loads(sys.argv[1])})
print(made["name"], flush=True)
time.sleep(600)
"""


def test_a_sigkilled_runs_chaos_mesh_resource_is_deleted_by_the_next_session(
        cluster: Cluster, namespace: str, stack: Stack, pytester: pytest.Pytester) -> None:
    child = subprocess.Popen([sys.executable, "-c", INJECT_AND_HANG, json.dumps(stack.to_dict())],
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert child.stdout is not None
    try:
        name = child.stdout.readline().strip()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
    assert name.startswith("blissful-network-partition-")
    (partition,) = _resources(cluster, namespace, "NetworkChaos")
    assert partition["metadata"]["name"] == name, "SIGKILL cannot clean up: the resource must still be there"
    assert partition["spec"]["target"] == {"mode": "all", "selector": {"namespaces": [namespace],
                                                                       "labelSelectors": {"app": "web"}}}
    (orphan,) = FaultLedger().orphans("fault").values()
    assert orphan["name"] == name and orphan["family"] == "chaos-mesh"

    pytester.makepyfile("def test_nothing():\n    pass\n")
    outcome = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1)
    outcome.stdout.fnmatch_lines([f"*removing fault network-partition-* (chaos-mesh network-partition on "
                                  f"NetworkChaos {namespace}/{name})*"])
    assert _resources(cluster, namespace, "NetworkChaos") == []
    assert FaultLedger().faults() == {}


def _dead_pid() -> int:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(dead.stdout)


def test_orphans_already_gone_count_as_removed_and_an_unreachable_cluster_keeps_its_entry(
        cluster: Cluster, tmp_path: Path) -> None:
    import yaml

    gone = {"family": "chaos-mesh", "fault": "dns-error", "chaos_kind": "DNSChaos", "name": "blissful-dns-error-x",
            "kubeconfig": cluster.kubeconfig, "context": None, "server": cluster.server}
    FaultLedger().record("dns-error-gone", "fault", _dead_pid(), **gone, namespace="blissful-no-such-namespace")
    assert remove_orphan_faults() == ["dns-error-gone"]  # the apiserver says 404: nothing left to delete

    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    unreachable = tmp_path / "unreachable.kubeconfig"
    unreachable.write_text(yaml.safe_dump(config))
    FaultLedger().record("dns-error-away", "fault", _dead_pid(), **{**gone, "kubeconfig": str(unreachable)},
                         namespace="blissful-x")
    with pytest.raises(ChaosError, match=r"(?s)dns-error-away: DNSChaos blissful-dns-error-x in namespace "
                                         r"blissful-x: Kubernetes cluster unreachable at https://127\.0\.0\.1:1"):
        remove_orphan_faults()
    assert list(FaultLedger().faults()) == ["dns-error-away"]  # it may still be there: retried next session
    FaultLedger().forget("dns-error-away")


BAD_INPUT: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda c: actions.network_chaos(action="jitter", target="web", configuration=c),
     r"network_chaos\(action='jitter'\): action='jitter' is not one of delay, loss, partition"),
    (lambda c: actions.network_chaos(target="web", configuration=c),
     r"network_chaos\(action='delay'\): latency is required"),
    (lambda c: actions.network_chaos(target="web", latency="slow", configuration=c),
     r"latency='slow' is not a duration"),
    (lambda c: actions.network_chaos(action="loss", target="web", loss=50, latency="1s", configuration=c),
     r"network_chaos\(action='loss'\): argument\(s\) latency do not apply to action 'loss'"),
    (lambda c: actions.network_chaos(action="loss", target="web", loss=150, configuration=c),
     r"loss=150 is outside 0-100"),
    (lambda c: actions.network_chaos(action="partition", target="web", configuration=c),
     r"give either peer .* or peer_labels .*, not neither"),
    (lambda c: actions.network_chaos(target="web", labels={"app": "web"}, latency=100, configuration=c),
     r"give either target .* or labels .*, not both"),
    (lambda c: actions.network_chaos(target="web", latency=100, mode="some", configuration=c),
     r"mode='some' is not one of one, all, fixed"),
    (lambda c: actions.network_chaos(target="web", latency=100, mode="fixed", configuration=c),
     r"mode='fixed' needs value"),
    (lambda c: actions.network_chaos(target="nope", latency=100, configuration=c),
     r"no Deployment, StatefulSet or Service named 'nope'"),
    (lambda c: actions.network_chaos(labels={"app": "nope"}, latency=100, configuration=c),
     r"no pod in namespace blissful-test-\w+ matches app=nope: the fault would select nothing"),
    (lambda c: actions.stress_chaos(target="web", configuration=c),
     r"stress_chaos: give a CPU stressor .* and/or a memory stressor"),
    (lambda c: actions.stress_chaos(target="web", cpu_workers=0, configuration=c),
     r"stress_chaos: cpu_workers=0 must be a whole number ≥ 1"),
    (lambda c: actions.stress_chaos(target="web", cpu_load=0, configuration=c),
     r"stress_chaos: cpu_load=0 must be 1-100"),
    (lambda c: actions.stress_chaos(target="web", memory_size="lots", configuration=c),
     r"memory_size='lots' is not a size"),
    (lambda c: actions.dns_chaos(action="nxdomain", target="web", configuration=c),
     r"dns_chaos\(action='nxdomain'\): action='nxdomain' is not one of error, random"),
    (lambda c: actions.dns_chaos(patterns="postgres", target="web", configuration=c),  # type: ignore[arg-type]
     r"patterns='postgres' must be a non-empty list"),
    (lambda c: actions.dns_chaos(target="web", duration="-5s", configuration=c),
     r"duration='-5s' is not a duration"),
    (lambda c: actions.delete_chaos("PodChaos", configuration=c),
     r"unknown Chaos Mesh kind 'PodChaos': use one of DNSChaos, NetworkChaos, StressChaos"),
]


def test_bad_input_is_a_clear_error_and_creates_nothing(stack: Stack, cluster: Cluster, namespace: str) -> None:
    configuration = {"blissful_stack": stack.to_dict()}
    for call, message in BAD_INPUT:
        with pytest.raises(ChaosError, match=message):
            call(configuration)
    assert FaultLedger().faults() == {}
    assert all(_resources(cluster, namespace, kind) == [] for kind in cm.PLURALS)


def test_unknown_argument_in_an_experiment_names_it(stack: Stack) -> None:
    from pytest_blissful.chaos.runner import load

    broken = {"title": "t", "description": "d", "method": [
        {"type": "action", "name": "delay", "provider": {
            "type": "python", "module": "pytest_blissful.chaos.actions.chaos_mesh", "func": "network_chaos",
            "arguments": {"target": "web", "latency": "100ms", "jiter": "10ms"}}}]}
    with pytest.raises(ChaosError,
                       match=r"argument 'jiter' is not part of the function signature in activity 'network_chaos'"):
        load(broken)


def test_a_missing_crd_is_named_and_nothing_is_recorded(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster that does not serve the kind: here the real apiserver asked for a version of the group that no CRD
    serves (v1alpha9; the test's own CRDs serve v1alpha1), which it answers exactly as a cluster without Chaos
    Mesh does: 404."""
    monkeypatch.setattr(cm, "VERSION", "v1alpha9")
    configuration = {"blissful_stack": stack.to_dict()}
    with pytest.raises(ChaosError, match=r"the NetworkChaos CRD \(networkchaos\.chaos-mesh\.org, "
                                         r"chaos-mesh\.org/v1alpha9\) is not installed in the cluster at "
                                         r"https://127\.0\.0\.1:\d+: Chaos Mesh must be installed"):
        actions.network_chaos(target="web", latency="100ms", configuration=configuration)
    with pytest.raises(ChaosError, match=r"the DNSChaos CRD \(dnschaos\.chaos-mesh\.org"):
        actions.dns_chaos(target="web", configuration=configuration)
    assert FaultLedger().faults() == {}


def test_a_cluster_elsewhere_is_refused(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLISSFUL_ALLOW_CHAOS", raising=False)
    remote = Stack.from_dict({**stack.to_dict(), "kubernetes": {**stack.kubernetes, "local": False,
                                                                  "server": "https://10.1.2.3:6443"}})
    with pytest.raises(ChaosRefused, match=r"https://10\.1\.2\.3:6443: it is not on this machine"):
        actions.stress_chaos(target="web", cpu_workers=1, configuration={"blissful_stack": remote.to_dict()})
    compose = Stack(name="c", kind="compose", base_url=stack.base_url, project="p")
    with pytest.raises(ChaosError, match=r"need a Kubernetes stack bound as blissful_stack \(got: compose\)"):
        actions.dns_chaos(target="web", configuration={"blissful_stack": compose.to_dict()})
    with pytest.raises(ChaosError, match=r"\(got: none\)"):
        actions.delete_chaos()
    assert FaultLedger().faults() == {}
