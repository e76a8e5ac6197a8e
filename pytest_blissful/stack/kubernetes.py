"""The Kubernetes stack target: manifests applied in a namespace of the run, waited for, reached through a
port-forward on 127.0.0.1, and removed on every exit path.

- ``up``: connect (clear errors for an unreachable or unauthorised cluster), write a ledger entry, create the
  ephemeral namespace ``blissful-<run id>`` (labelled with the run id) or use ``stack.kubernetes.namespace``,
  apply every object with server-side apply (a rejected object names its file and the API server's message),
  wait until every workload is ready (naming what is not ready and why; an image the node cannot find fails
  at once), port-forward the entry Service (and ``forward``), wait for ``health_path``.
- ``down``: stop the port-forwards, delete the namespace (or, in a namespace we did not create, the objects we
  applied) and wait until it is gone; a namespace stuck terminating is an error naming what blocks it.
- ``reap``: the same for a ledger entry whose run was killed.

Reading what is in the namespace (an object's readiness, the pods behind a name, their logs) is
``stack.kubernetes_resources``; connecting is ``stack.kubernetes_client``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_blissful.config import BlissfulConfig
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.health import TargetUnreachable, wait_healthy
from pytest_blissful.stack.kubernetes_client import (
    Cluster,
    api_message,
    cluster_of,
    connect,
    dynamic_client,
    kubectl,
    resolve_kubeconfig,
)
from pytest_blissful.stack.kubernetes_forward import free_port, is_forwarder, start_forward, stop_forward
from pytest_blissful.stack.kubernetes_manifests import MANAGED_BY, RUN_LABEL, Manifest, labelled, load_manifests
from pytest_blissful.stack.kubernetes_ready import ResourceStatus, image_error, pod_problem
from pytest_blissful.stack.kubernetes_resources import status
from pytest_blissful.stack.ledger import LEDGER_KIND, Ledger
from pytest_blissful.stack.model import ServiceHandle, Stack

Progress = Callable[[str], None]
TARGET = "kubernetes"
POLL_S = 0.25
ARGO_GROUP = "argoproj.io"


def ledger_key(cluster_server: str, namespace: str) -> str:
    return f"k8s:{cluster_server}:{namespace}"


# --- up ----------------------------------------------------------------------------------------------------------

def up(config: BlissfulConfig, run_id: str, owner_pid: int, ledger: Ledger, state_dir: Path,
       progress: Progress) -> Stack:
    stack_config = config.stack
    k8s = stack_config.kubernetes
    assert k8s is not None
    kubeconfig = resolve_kubeconfig((config.base_dir / k8s.kubeconfig) if k8s.kubeconfig else None)
    cluster = connect(kubeconfig, k8s.context)
    manifests = load_manifests([(config.base_dir / p).resolve() for p in k8s.manifests])
    namespace = k8s.namespace or f"blissful-{run_id}"
    key = ledger_key(cluster.server, namespace)
    details: dict[str, Any] = {"target": TARGET, "kubeconfig": cluster.kubeconfig, "context": cluster.context,
               "namespace": namespace, "owned_namespace": False, "run_id": run_id,
               "applied": [_ref_of(m) for m in manifests], "forwarders": []}
    ledger.record(key, LEDGER_KIND, owner_pid, **details)
    progress(f"blissful: deploying {len(manifests)} object(s) to namespace {namespace} on {cluster.server} ...")
    started = time.monotonic()
    stack: Stack | None = None
    try:
        def owned_from_now() -> None:  # a namespace this run creates is this run's to delete
            details["owned_namespace"] = True
            ledger.record(key, LEDGER_KIND, owner_pid, **details)

        ensure_namespace(cluster, namespace, run_id, k8s.delete_timeout, owned_from_now)
        apply(cluster, manifests, namespace, run_id)
        remaining = max(1.0, stack_config.startup_timeout - (time.monotonic() - started))
        wait_ready(cluster, manifests, namespace, remaining)
        ready_s = time.monotonic() - started
        tool = kubectl()
        services: dict[str, tuple[ServiceHandle, ...]] = {}
        forwarders: list[int] = []
        entry_service, entry_port = stack_config.entry_service, stack_config.entry_port
        if entry_service is None or entry_port is None:
            raise StackError("stack.kubernetes needs stack.entry_service (the Service that receives the traffic) "
                             "and stack.entry_port (its port) in blissful.yaml")
        for service in dict.fromkeys([entry_service, *k8s.forward]):
            ports = _service_ports(cluster, namespace, service)
            local = {port: free_port() for port in ports}
            pid = start_forward(tool, cluster.kubeconfig, cluster.context, namespace, service, local, owner_pid,
                                state_dir / "kubernetes", follow_pods=True)
            forwarders.append(pid)
            details["forwarders"] = forwarders
            ledger.record(key, LEDGER_KIND, owner_pid, **details)
            services[service] = (ServiceHandle(service=service, container_id=f"svc/{service}",
                                               container_name=f"{namespace}/{service}", published=local),)
        entry = services[entry_service][0]
        if entry_port not in entry.published:
            raise StackError(f"entry Service {entry_service!r} has no port {entry_port} "
                             f"(ports: {sorted(entry.published)}; set stack.entry_port)")
        stack = Stack(name=f"{cluster.server}/{namespace}", kind="kubernetes",
                      base_url=entry.url(entry_port), project=key, services=services,
                      kubernetes={**details, "server": cluster.server, "local": cluster.local,
                                  "ready_s": round(ready_s, 3)})
        wait_healthy(stack.base_url + stack_config.health_path,
                     max(1.0, stack_config.startup_timeout - (time.monotonic() - started)))
    except (StackError, TargetUnreachable) as exc:
        _down_quietly(cluster, details, progress)
        ledger.forget(key)
        raise StackError(str(exc)) from None
    except BaseException:
        _down_quietly(cluster, details, progress)
        ledger.forget(key)
        raise
    progress(f"blissful: namespace {namespace} ready in {time.monotonic() - started:.1f} s "
             f"(workloads {ready_s:.1f} s), entry {stack.base_url}")
    return stack


def _ref_of(manifest: Manifest) -> dict[str, str]:
    return {"apiVersion": manifest.api_version, "kind": manifest.kind, "name": manifest.name}


def ensure_namespace(cluster: Cluster, namespace: str, run_id: str, timeout_s: float,
                     before_create: Callable[[], None] | None = None) -> bool:
    """Make sure ``namespace`` exists (one still terminating is waited for); return True when it was created
    here. ``before_create`` runs first (the ledger then says the namespace is this run's to delete)."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(cluster.api)
    try:
        existing = core.read_namespace(namespace)
    except ApiException as exc:
        if exc.status == 403:
            raise StackError(f"not allowed to read namespace {namespace} on {cluster.describe()}: "
                             f"{api_message(exc)}") from None
        if exc.status != 404:
            raise StackError(f"reading namespace {namespace}: {api_message(exc)}") from None
        existing = None
    if existing is not None and existing.status.phase == "Terminating":
        wait_gone(cluster, namespace, timeout_s)
        existing = None
    if existing is not None:
        return False
    if before_create is not None:
        before_create()
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace, labels={**MANAGED_BY, RUN_LABEL: run_id}))
    try:
        core.create_namespace(body)
    except ApiException as exc:
        raise StackError(f"creating namespace {namespace} on {cluster.describe()}: {api_message(exc)}") from None
    return True


def apply(cluster: Cluster, manifests: list[Manifest], namespace: str, run_id: str) -> None:
    from kubernetes.client.rest import ApiException
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    dynamic = dynamic_client(cluster)
    for manifest in manifests:
        try:
            resource = dynamic.resources.get(api_version=manifest.api_version, kind=manifest.kind)
        except ResourceNotFoundError:
            if manifest.api_version.startswith(ARGO_GROUP + "/"):
                raise StackError(
                    f"{manifest.source}: {manifest.ref} needs Argo Rollouts, which is not installed in the cluster "
                    f"at {cluster.server} (no {manifest.kind} kind in {manifest.api_version}; install its CRDs and "
                    "controller: ./scripts/setup.sh kubernetes does for the local cluster)") from None
            raise StackError(f"{manifest.source}: {manifest.ref}: the cluster at {cluster.server} does not know kind "
                             f"{manifest.kind} in {manifest.api_version} (a missing CRD?)") from None
        body = labelled(manifest, run_id, namespace if resource.namespaced else None)
        try:
            resource.server_side_apply(body=body, name=manifest.name,
                                       namespace=namespace if resource.namespaced else None,
                                       field_manager="pytest-blissful", force_conflicts=True)
        except ApiException as exc:
            raise StackError(f"the API server rejected {manifest.ref} from {manifest.source}: "
                             f"{api_message(exc)}") from None


def wait_ready(cluster: Cluster, manifests: list[Manifest], namespace: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending: list[ResourceStatus] = []
    while True:
        pods = _pods(cluster, namespace)
        for pod in pods:
            problem = image_error(pod)
            if problem:
                raise StackError(f"namespace {namespace}: {problem}")
        pending = [s for s in (status(cluster, namespace, m.ref, m.api_version) for m in manifests) if not s.ready]
        if not pending:
            return
        if time.monotonic() + POLL_S > deadline:
            break
        time.sleep(POLL_S)
    problems = sorted({p for p in (pod_problem(pod) for pod in pods) if p})
    lines = [f"namespace {namespace}: not ready within {timeout_s:.0f} s:"]
    lines += [f"  {s.explain()}" for s in pending]
    lines += [f"  {p}" for p in problems]
    raise StackError("\n".join(lines))


def _pods(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    from kubernetes import client

    listed = client.CoreV1Api(cluster.api).list_namespaced_pod(namespace)
    pods: list[dict[str, Any]] = cluster.api.sanitize_for_serialization(listed).get("items", [])
    for pod in pods:
        pod.setdefault("kind", "Pod")
    return pods


def _service_ports(cluster: Cluster, namespace: str, service: str) -> list[int]:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    try:
        found = client.CoreV1Api(cluster.api).read_namespaced_service(service, namespace)
    except ApiException as exc:
        if exc.status == 404:
            raise StackError(f"no Service {service!r} in namespace {namespace} to port-forward (stack.entry_service "
                             "or stack.kubernetes.forward)") from None
        raise StackError(f"reading Service {service}: {api_message(exc)}") from None
    return [int(port.port) for port in found.spec.ports or []]


# --- down ----------------------------------------------------------------------------------------------------------

def down(details: dict[str, Any], timeout_s: float = 60.0, progress: Progress | None = None) -> None:
    """Remove what ``up`` made (``details``: a ledger entry or ``Stack.kubernetes``); raise StackError when the
    namespace does not go away in ``timeout_s``."""
    for pid in details.get("forwarders", []):
        if is_forwarder(int(pid)):
            stop_forward(int(pid))
    cluster = cluster_of(details)
    namespace = details["namespace"]
    if details.get("owned_namespace"):
        _delete_namespace(cluster, namespace, timeout_s)
    else:
        _delete_applied(cluster, details, namespace)
    if progress:
        progress(f"blissful: removed namespace {namespace}" if details.get("owned_namespace")
                 else f"blissful: removed this run's objects from namespace {namespace}")


def _down_quietly(cluster: Cluster, details: dict[str, Any], progress: Progress) -> None:
    try:
        down(details, progress=None)
    except StackError as exc:
        progress(f"blissful: cleanup after a failed start: {exc}")


def _delete_namespace(cluster: Cluster, namespace: str, timeout_s: float) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    try:
        client.CoreV1Api(cluster.api).delete_namespace(namespace, propagation_policy="Background")
    except ApiException as exc:
        if exc.status == 404:
            return
        raise StackError(f"deleting namespace {namespace}: {api_message(exc)}") from None
    wait_gone(cluster, namespace, timeout_s)


def wait_gone(cluster: Cluster, namespace: str, timeout_s: float) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(cluster.api)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = core.read_namespace(namespace)
        except ApiException as exc:
            if exc.status == 404:
                return
            raise StackError(f"reading namespace {namespace}: {api_message(exc)}") from None
        if time.monotonic() + POLL_S > deadline:
            break
        time.sleep(POLL_S)
    blocking = [f"{c.type}: {c.message}" for c in (found.status.conditions or []) if c.status == "True"]
    raise StackError(f"namespace {namespace} is stuck terminating after {timeout_s:.0f} s"
                     + (": " + "; ".join(dict.fromkeys(blocking)) if blocking else
                        f" (finalizers: {found.spec.finalizers or found.metadata.finalizers or 'none'})"))


def _delete_applied(cluster: Cluster, details: dict[str, Any], namespace: str) -> None:
    from kubernetes.client.rest import ApiException
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    dynamic = dynamic_client(cluster)
    for ref in reversed(details.get("applied", [])):
        try:
            resource = dynamic.resources.get(api_version=ref["apiVersion"], kind=ref["kind"])
            current = resource.get(name=ref["name"], namespace=namespace if resource.namespaced else None)
            labels = (current.metadata.labels or {})
            if labels.get(RUN_LABEL) != details.get("run_id"):
                continue  # not ours (any more)
            resource.delete(name=ref["name"], namespace=namespace if resource.namespaced else None,
                            propagation_policy="Background")
        except (NotFoundError, ResourceNotFoundError):
            continue
        except ApiException as exc:
            raise StackError(f"deleting {ref['kind']}/{ref['name']} in {namespace}: {api_message(exc)}") from None


def reap(entry: dict[str, Any], progress: Progress | None = None) -> None:
    """Remove what a killed run left: its port-forwards and its namespace (or its objects)."""
    if progress:
        progress(f"blissful: removing leftovers of a killed run (Kubernetes namespace {entry.get('namespace')})")
    down(entry, timeout_s=float(entry.get("delete_timeout", 60.0)), progress=None)
