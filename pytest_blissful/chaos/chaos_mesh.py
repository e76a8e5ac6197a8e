"""Chaos Mesh custom resources (``chaos-mesh.org/v1alpha1``): create, read, delete, and what their status says.

Chaos Mesh injects a fault when its controller (and its chaos-daemon on the node) acts on a custom resource; the
resource alone does nothing. So a created resource is a fault *requested*, and only the controller's status says it
is in place (:func:`injection_state`): at least one container record, every record ``Injected`` (its
``AllInjected`` condition), not paused, not being stopped.

The ``kubernetes`` package is imported inside the functions that call the API server.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_blissful.chaos.errors import ChaosError

GROUP = "chaos-mesh.org"
VERSION = "v1alpha1"
PLURALS = {"NetworkChaos": "networkchaos", "StressChaos": "stresschaos", "DNSChaos": "dnschaos"}
FAULT_LABEL = "blissful.io/fault"
INSTALL_HINT = ("Chaos Mesh must be installed in the cluster (its CRDs, controller manager and chaos-daemon) for "
                "Chaos Mesh faults")


class NotCreated(ChaosError):
    """The API server refused to create the resource (a 4xx answer): there is nothing to delete."""


@dataclass(frozen=True)
class Injection:
    """What the controller reports about one resource: ``injected`` only when every selected container is."""

    injected: bool
    acted: bool  # the controller wrote a status at all (False: no Chaos Mesh controller acted on it)
    evidence: str
    exists: bool = True


def plural(kind: str) -> str:
    try:
        return PLURALS[kind]
    except KeyError:
        raise ChaosError(f"unknown Chaos Mesh kind {kind!r}: use one of {', '.join(sorted(PLURALS))}") from None


def crd_name(kind: str) -> str:
    return f"{plural(kind)}.{GROUP}"


def _api(cluster: Any) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(cluster.api)


def _message(exc: Any) -> str:
    from pytest_blissful.stack.kubernetes_client import api_message

    return api_message(exc)


def require_crd(cluster: Any, namespace: str, kind: str) -> None:
    """Raise a :class:`ChaosError` naming the CRD when the cluster does not serve ``kind`` (Chaos Mesh missing).

    Asks for the kind in the namespace itself, so a user who may not read CRDs gets the same answer."""
    from kubernetes.client.rest import ApiException

    try:
        _api(cluster).list_namespaced_custom_object(GROUP, VERSION, namespace, plural(kind), limit=1)
    except ApiException as exc:
        if exc.status == 404:
            raise ChaosError(f"the {kind} CRD ({crd_name(kind)}, {GROUP}/{VERSION}) is not installed in the cluster "
                             f"at {cluster.server}: {INSTALL_HINT}") from None
        raise ChaosError(f"listing {kind} in namespace {namespace} at {cluster.server}: HTTP {exc.status} "
                         f"{_message(exc)}") from None


def create(cluster: Any, namespace: str, kind: str, name: str, spec: Mapping[str, Any],
           labels: Mapping[str, str]) -> dict[str, Any]:
    from kubernetes.client.rest import ApiException

    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)}, "spec": dict(spec)}
    try:
        created: dict[str, Any] = _api(cluster).create_namespaced_custom_object(GROUP, VERSION, namespace,
                                                                                plural(kind), body)
    except ApiException as exc:
        if exc.status == 404:
            require_crd(cluster, namespace, kind)  # gone since the check: say so
        message = f"the API server at {cluster.server} {{}} {kind} {name} in namespace {namespace}: {_message(exc)}"
        if exc.status is not None and 400 <= int(exc.status) < 500:
            raise NotCreated(message.format("rejected")) from None
        raise ChaosError(message.format(f"answered HTTP {exc.status} to the creation of")) from None
    return created


def read(cluster: Any, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    """The resource, or None when it (or its namespace, or its CRD) is gone."""
    from kubernetes.client.rest import ApiException

    try:
        found: dict[str, Any] = _api(cluster).get_namespaced_custom_object(GROUP, VERSION, namespace, plural(kind),
                                                                           name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise ChaosError(f"reading {kind} {name} in namespace {namespace} at {cluster.server}: HTTP {exc.status} "
                         f"{_message(exc)}") from None
    return found


def delete(cluster: Any, namespace: str, kind: str, name: str, timeout_s: float = 30.0) -> float:
    """Delete the resource and wait until the API server no longer has it (Chaos Mesh's finalizer holds it until
    its controller has recovered the fault). Returns the seconds that took. A resource, namespace or CRD already
    gone counts as deleted; one still there after ``timeout_s`` is an error naming its finalizers."""
    from kubernetes.client.rest import ApiException
    from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

    started = time.monotonic()
    try:
        _api(cluster).delete_namespaced_custom_object(GROUP, VERSION, namespace, plural(kind), name)
    except ApiException as exc:
        if exc.status == 404:
            return time.monotonic() - started
        raise ChaosError(f"deleting {kind} {name} in namespace {namespace} at {cluster.server}: HTTP {exc.status} "
                         f"{_message(exc)}") from None
    last: list[dict[str, Any] | None] = [None]

    def still_there() -> bool:
        last[0] = read(cluster, namespace, kind, name)
        return last[0] is not None

    try:
        Retrying(stop=stop_after_delay(timeout_s), wait=wait_fixed(0.1), retry=retry_if_result(bool))(still_there)
    except RetryError:
        finalizers = ((last[0] or {}).get("metadata") or {}).get("finalizers") or []
        raise ChaosError(f"{kind} {name} in namespace {namespace} still exists {timeout_s:.0f} s after its deletion "
                         f"(finalizers: {', '.join(finalizers) or 'none'}): Chaos Mesh's controller has not "
                         "recovered the fault") from None
    return time.monotonic() - started


def injection_state(resource: Mapping[str, Any] | None) -> Injection:
    """Read the controller's status of a Chaos Mesh resource (pure: no I/O)."""
    if resource is None:
        return Injection(False, False, "the resource is gone (deleted before it was checked)", exists=False)
    kind = resource.get("kind", "resource")
    status = resource.get("status") or {}
    conditions = {str(c.get("type")): str(c.get("status")) for c in status.get("conditions") or []
                  if isinstance(c, Mapping)}
    experiment = status.get("experiment") or {}
    records = [r for r in experiment.get("containerRecords") or [] if isinstance(r, Mapping)]
    if not conditions and not records and not experiment:
        return Injection(False, False, f"{kind} has no status: no Chaos Mesh controller has acted on it")
    phases = [str(r.get("phase")) for r in records]
    injected = [r for r in records if r.get("phase") == "Injected"]
    listed = ", ".join(f"{r.get('id')} {r.get('phase')}" for r in records[:4]) + (" ..." if len(records) > 4 else "")
    facts = [f"{len(injected)}/{len(records)} container record(s) Injected" + (f" ({listed})" if listed else "")]
    facts += [f"{name}={conditions[name]}" for name in ("Selected", "AllInjected", "Paused") if name in conditions]
    if experiment.get("desiredPhase"):
        facts.append(f"desiredPhase {experiment['desiredPhase']}")
    failures = [str(e.get("message")) for r in records for e in r.get("events") or []
                if isinstance(e, Mapping) and e.get("type") == "Failed" and e.get("message")]
    if failures:
        facts.append(f"last failure: {failures[-1]}")
    evidence = "; ".join(facts)
    if conditions.get("Paused") == "True":
        return Injection(False, True, f"{kind} is paused: {evidence}")
    if experiment.get("desiredPhase") == "Stop":
        return Injection(False, True, f"{kind} is being stopped (its duration ended or it was paused): {evidence}")
    if not records:
        return Injection(False, True, f"{kind} selected no container: {evidence}")
    ok = all(p == "Injected" for p in phases) and conditions.get("AllInjected", "True") == "True"
    return Injection(ok, True, evidence)


__all__ = [
    "GROUP",
    "PLURALS",
    "VERSION",
    "Injection",
    "NotCreated",
    "crd_name",
    "create",
    "delete",
    "injection_state",
    "plural",
    "read",
    "require_crd",
]
