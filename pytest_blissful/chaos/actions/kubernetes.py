"""Pod faults on a Kubernetes stack, through chaostoolkit-kubernetes' pod actions.

In an experiment (see ``fixtures/demo/k8s/experiments/pod-kill.json``)::

    {"type": "action", "name": "kill-one-pod",
     "provider": {"type": "python", "module": "pytest_blissful.chaos.actions.kubernetes",
                  "func": "kill_pod", "arguments": {"target": "app1"}}}

``target`` names a Deployment, StatefulSet or Service of the stack bound into the configuration
(``blissful_stack``, a ``kubernetes`` stack); its selector picks the pods. The namespace, kubeconfig and
context come from the stack, so the action can only reach the run's own namespace. A cluster whose API server
is not on this machine is refused unless chaos was allowed (``--blissful-allow-chaos``).

Killing a pod needs no rollback: its controller replaces it. ``wait_ready`` (a rollback or a probe) waits until
the workload is ready again and returns how long that took.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest_blissful.chaos.safety as safety
from pytest_blissful.chaos.errors import ChaosError, ChaosRefused
from pytest_blissful.chaos.targets import stack_from
from pytest_blissful.stack import kubernetes_client, kubernetes_resources
from pytest_blissful.stack.model import Stack

Configuration = dict[str, Any] | None

__all__ = ["kill_pod", "kubernetes_stack", "pod_states", "pods_ready", "wait_ready", "workload_selector"]

_ENV_LOCK = threading.Lock()


def _stack(configuration: Configuration) -> Stack:
    stack = stack_from(configuration)
    if stack is None or stack.kind != "kubernetes" or not stack.namespace:
        kind = stack.kind if stack else "none"
        raise ChaosError(f"Kubernetes fault actions need a Kubernetes stack bound as blissful_stack (got: {kind})")
    if not stack.kubernetes.get("local") and not safety.allow_remote(configuration):
        raise ChaosRefused(f"refusing chaos against the Kubernetes cluster at {stack.kubernetes.get('server')}: it is "
                           "not on this machine (loopback); pass --blissful-allow-chaos (or set "
                           "BLISSFUL_ALLOW_CHAOS=1) if you really mean it")
    return stack


@contextmanager
def _kubeconfig(stack: Stack) -> Iterator[dict[str, str]]:
    """chaostoolkit-kubernetes reads $KUBECONFIG (and KUBERNETES_CONTEXT from the secrets): point it at the
    stack's cluster for the call only."""
    from kubernetes.config import kube_config

    path = str(stack.kubernetes["kubeconfig"])
    with _ENV_LOCK:
        previous = os.environ.get("KUBECONFIG")
        # load_kube_config() reads a module default taken from $KUBECONFIG when kubernetes was imported
        previous_default = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
        os.environ["KUBECONFIG"] = path
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = path
        try:
            context = stack.kubernetes.get("context")
            yield {"KUBERNETES_CONTEXT": context} if context else {}
        finally:
            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = previous_default
            if previous is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = previous


def _selector(stack: Stack, target: str, cluster: kubernetes_client.Cluster | None = None) -> str:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    cluster = cluster or kubernetes_client.cluster_of(stack.kubernetes)
    namespace = str(stack.namespace)
    core, apps = client.CoreV1Api(cluster.api), client.AppsV1Api(cluster.api)
    readers: list[tuple[str, Callable[[], Any]]] = [
        ("deployment", lambda: apps.read_namespaced_deployment(target, namespace).spec.selector),
        ("statefulset", lambda: apps.read_namespaced_stateful_set(target, namespace).spec.selector),
        ("service", lambda: core.read_namespaced_service(target, namespace).spec),
    ]
    for kind, read in readers:
        try:
            found = read()
        except ApiException as exc:
            if exc.status == 404:
                continue
            raise ChaosError(f"reading {kind} {target} in namespace {namespace}: {exc.reason}") from None
        labels = found.match_labels if kind != "service" else found.selector
        if labels:
            return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    raise ChaosError(f"no Deployment, StatefulSet or Service named {target!r} in namespace {namespace}")


def kubernetes_stack(configuration: Configuration) -> Stack:
    """The Kubernetes stack bound into the configuration, refused when its cluster is not on this machine and chaos
    was not allowed (the rule every Kubernetes fault action follows)."""
    return _stack(configuration)


def workload_selector(stack: Stack, target: str, cluster: kubernetes_client.Cluster | None = None) -> str:
    """The label selector (``k=v,...``) of the Deployment, StatefulSet or Service ``target`` of the stack (on
    ``cluster`` when already connected)."""
    return _selector(stack, target, cluster)


def kill_pod(target: str, replicas: str | int = "one", grace_period: int = 1,
             configuration: Configuration = None, secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Delete pod(s) of ``target`` (``replicas``: ``"one"`` or ``"all"``) with chaostoolkit-kubernetes'
    ``terminate_pods``: SIGTERM, then SIGKILL after ``grace_period`` seconds. 0 is a *forced* deletion: the API
    object goes at once while the kubelet is still stopping the container, so a replacement can start next to
    it (with host ports, it then fails to bind). Returns the deleted pods and when they were deleted."""
    from chaosk8s.pod.actions import terminate_pods

    stack = _stack(configuration)
    selector = _selector(stack, target)
    if replicas not in ("one", "first", "all"):
        raise ChaosError(f"replicas={replicas!r} for target {target!r}: use 'one' or 'all'")
    with _kubeconfig(stack) as k8s_secrets:
        deleted = terminate_pods(label_selector=selector, ns=str(stack.namespace), all=replicas == "all",
                                 qty=1, grace_period=grace_period, secrets={**(secrets or {}), **k8s_secrets})
    if not deleted:
        raise ChaosError(f"no pod of {target!r} to kill in namespace {stack.namespace} (selector {selector})")
    return {"target": target, "pods": list(deleted), "deleted_at": time.time(), "namespace": stack.namespace}


def pod_states(pods: list[str], configuration: Configuration = None) -> dict[str, str]:
    """Probe: what became of the named pods of the stack's namespace: ``gone``, ``terminating`` or its phase."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    stack = _stack(configuration)
    core = client.CoreV1Api(kubernetes_client.cluster_of(stack.kubernetes).api)
    states: dict[str, str] = {}
    for name in pods:
        try:
            pod = core.read_namespaced_pod(name, str(stack.namespace))
        except ApiException as exc:
            if exc.status == 404:
                states[name] = "gone"
                continue
            raise ChaosError(f"reading pod {name} in namespace {stack.namespace}: {exc.reason}") from None
        states[name] = "terminating" if pod.metadata.deletion_timestamp else str(pod.status.phase or "unknown")
    return states


def pods_ready(target: str, configuration: Configuration = None) -> bool:
    """Probe: is the workload ``target`` ready (every replica available)?"""
    from kubernetes import client

    stack = _stack(configuration)
    cluster = kubernetes_client.cluster_of(stack.kubernetes)
    namespace = str(stack.namespace)
    for kind in ("deployment", "statefulset"):
        status = kubernetes_resources.status(cluster, namespace, f"{kind}/{target}")
        if status.exists:
            break
    else:
        raise ChaosError(f"no Deployment or StatefulSet named {target!r} in namespace {namespace}")
    if not status.ready:
        return False
    # the workload's status lags behind a deletion: also every pod must be Ready and none terminating
    core = client.CoreV1Api(cluster.api)
    selector = _selector(stack, target)
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    return bool(pods) and all(
        p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
        for p in pods)


def wait_ready(target: str, timeout: float = 120.0, configuration: Configuration = None) -> float:
    """Wait (bounded by ``timeout`` s) until ``target`` is ready again; return the seconds it took."""
    started = time.monotonic()
    while not pods_ready(target, configuration):
        if time.monotonic() - started > float(timeout):
            raise ChaosError(f"{target} not ready again within {float(timeout):.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started
