"""What is in a Kubernetes stack's namespace, read through the API: an object's readiness, the pods behind a
name, their logs. ``Stack.resource`` and ``Stack.logs`` call these; the stack's lifecycle (up, down, reap) is
``stack.kubernetes``.

The ``kubernetes`` package is imported inside each function: only a Kubernetes stack pays for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.kubernetes_client import Cluster, api_message, dynamic_client
from pytest_blissful.stack.kubernetes_ready import ResourceStatus, readiness

_KINDS = {
    "deployment": ("apps/v1", "Deployment"), "deploy": ("apps/v1", "Deployment"),
    "statefulset": ("apps/v1", "StatefulSet"), "sts": ("apps/v1", "StatefulSet"),
    "daemonset": ("apps/v1", "DaemonSet"), "ds": ("apps/v1", "DaemonSet"),
    "replicaset": ("apps/v1", "ReplicaSet"), "rs": ("apps/v1", "ReplicaSet"),
    "pod": ("v1", "Pod"), "po": ("v1", "Pod"), "service": ("v1", "Service"), "svc": ("v1", "Service"),
    "job": ("batch/v1", "Job"), "configmap": ("v1", "ConfigMap"), "cm": ("v1", "ConfigMap"),
    "secret": ("v1", "Secret"), "persistentvolumeclaim": ("v1", "PersistentVolumeClaim"),
    "pvc": ("v1", "PersistentVolumeClaim"), "rollout": ("argoproj.io/v1alpha1", "Rollout"),
    "ingress": ("networking.k8s.io/v1", "Ingress"), "serviceaccount": ("v1", "ServiceAccount"),
}


def status(cluster: Cluster, namespace: str, ref: str, api_version: str | None = None) -> ResourceStatus:
    """Readiness of ``kind/name`` (e.g. ``deployment/api``) in ``namespace``."""
    from kubernetes.client.rest import ApiException
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    kind_part, _, name = ref.partition("/")
    if not name:
        raise ValueError(f"resource {ref!r}: use KIND/NAME, e.g. deployment/api")
    known = _KINDS.get(kind_part.lower())
    version, kind = (api_version or known[0], known[1]) if known else (api_version, kind_part)
    dynamic = dynamic_client(cluster)
    try:
        resource = dynamic.resources.get(api_version=version, kind=kind) if version else \
            dynamic.resources.get(kind=kind)
        obj = resource.get(name=name, namespace=namespace if resource.namespaced else None).to_dict()
    except (NotFoundError, ResourceNotFoundError):
        return ResourceStatus(ref=ref, exists=False, ready=False, reason=f"not found in namespace {namespace}")
    except ApiException as exc:
        return ResourceStatus(ref=ref, exists=False, ready=False, reason=api_message(exc))
    endpoints = _ready_endpoints(cluster, namespace, name) if kind == "Service" else None
    ready, reason = readiness(obj, endpoints)
    return ResourceStatus(ref=ref, exists=True, ready=ready, reason=reason)


def _ready_endpoints(cluster: Cluster, namespace: str, service: str) -> int:
    from kubernetes import client

    slices = client.DiscoveryV1Api(cluster.api).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}")
    return sum(1 for s in slices.items for e in (s.endpoints or []) if e.conditions is None or e.conditions.ready)


def pods_of(cluster: Cluster, namespace: str, name: str) -> list[str]:
    """Pod names behind ``name``: a Service's selector, a workload's selector, else a pod of that name."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core, apps = client.CoreV1Api(cluster.api), client.AppsV1Api(cluster.api)
    selector: dict[str, str] | None = None
    readers: list[Callable[[], dict[str, str] | None]] = [
        lambda: core.read_namespaced_service(name, namespace).spec.selector,
        lambda: apps.read_namespaced_deployment(name, namespace).spec.selector.match_labels,
        lambda: apps.read_namespaced_stateful_set(name, namespace).spec.selector.match_labels,
    ]
    for read in readers:
        try:
            selector = read()
            break
        except ApiException as exc:
            if exc.status != 404:
                raise StackError(f"reading {name} in {namespace}: {api_message(exc)}") from None
    if not selector:
        return [name]
    labels = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = core.list_namespaced_pod(namespace, label_selector=labels).items
    return sorted(p.metadata.name for p in pods if p.metadata.deletion_timestamp is None)


def logs(cluster: Cluster, namespace: str, name: str, tail: int | None = None) -> str:
    """Logs of every container of every pod behind ``name`` (Service, Deployment, StatefulSet or pod)."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(cluster.api)
    chunks = []
    for pod in pods_of(cluster, namespace, name):
        try:
            spec = core.read_namespaced_pod(pod, namespace).spec
            for container in spec.containers:
                kwargs: dict[str, Any] = {"container": container.name}
                if tail is not None:
                    kwargs["tail_lines"] = tail
                chunks.append(core.read_namespaced_pod_log(pod, namespace, **kwargs))
        except ApiException as exc:
            raise StackError(f"logs of pod {pod} in namespace {namespace}: {api_message(exc)}") from None
    if not chunks:
        raise StackError(f"no pods behind {name!r} in namespace {namespace}")
    return "".join(chunks)
