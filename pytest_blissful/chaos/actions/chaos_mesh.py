"""Chaos Mesh faults on a Kubernetes stack: NetworkChaos, StressChaos and DNSChaos resources in the run's namespace.

In an experiment (YAML or JSON)::

    - type: action
      name: delay-app-traffic
      provider:
        type: python
        module: pytest_blissful.chaos.actions.chaos_mesh
        func: network_chaos
        arguments: {action: delay, target: app1, latency: 500ms}

and ``delete_chaos`` among the rollbacks. The pods are chosen by ``target`` (a Deployment, StatefulSet or Service of
the stack: its selector's labels) or ``labels``, always in the stack's own namespace; the cluster is the stack's, and
one whose API server is not on this machine is refused unless chaos was allowed (``--blissful-allow-chaos``).

Each resource is written to the fault ledger (kubeconfig, context, namespace, kind, name) *before* it is created, so
``delete_chaos``, the end of the run, or the next session after a SIGKILL deletes it. The resource is only a request:
Chaos Mesh's controller and chaos-daemon inject the fault, and the fault check
(:mod:`pytest_blissful.chaos.verify`) waits for the controller to report it injected; without a Chaos Mesh
controller the run is inconclusive. A cluster without the CRD is refused with the CRD's name.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pytest_blissful.chaos.chaos_mesh as chaos_mesh
from pytest_blissful.chaos.actions.kubernetes import kubernetes_stack, workload_selector
from pytest_blissful.chaos.errors import ChaosError
from pytest_blissful.chaos.ledger import RUN_ID_KEY, find_faults, forget_fault, record_fault, remove_fault
from pytest_blissful.stack import kubernetes_client
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.kubernetes_manifests import MANAGED_BY, RUN_LABEL
from pytest_blissful.stack.model import Stack

Configuration = dict[str, Any] | None
FAMILY = "chaos-mesh"
MODES = ("one", "all", "fixed", "fixed-percent", "random-max-percent")
_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)?$", re.IGNORECASE)

__all__ = ["delete_chaos", "dns_chaos", "network_chaos", "stress_chaos"]


# --- argument checks: each error names the argument and the action ------------------------------------------------

def _duration(value: str | float | None, argument: str, where: str, unit: str = "s") -> str | None:
    """A Go duration (``"500ms"``, ``"1m30s"``); a bare number means ``unit``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ChaosError(f"{where}: {argument}={value!r} is not a duration (e.g. '500ms', '30s')")
    if isinstance(value, int | float):
        if value <= 0:
            raise ChaosError(f"{where}: {argument}={value!r} must be above 0")
        return f"{value:g}{unit}"
    text = str(value).strip()
    if text.isdigit():
        return _duration(int(text), argument, where, unit)
    if not _DURATION.match(text) or not re.search(r"[1-9]", text):
        raise ChaosError(f"{where}: {argument}={value!r} is not a duration (e.g. '500ms', '30s', '1m30s')")
    return text


def _percent(value: str | float | None, argument: str, where: str) -> str | None:
    if value is None:
        return None
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise ChaosError(f"{where}: {argument}={value!r} is not a percentage (0-100)") from None
    if not 0 <= number <= 100:
        raise ChaosError(f"{where}: {argument}={value!r} is outside 0-100 (a percentage)")
    return f"{number:g}"


def _choice(value: str, argument: str, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ChaosError(f"{where}: {argument}={value!r} is not one of {', '.join(choices)}")
    return value


def _unused(where: str, action: str, **given: Any) -> None:
    extra = sorted(name for name, value in given.items() if value is not None)
    if extra:
        raise ChaosError(f"{where}: argument(s) {', '.join(extra)} do not apply to action {action!r}")


def _labels(cluster: Any, stack: Stack, target: str | None, labels: Mapping[str, Any] | None, where: str,
            argument: str = "target") -> dict[str, str]:
    """The pods' labels: those of the workload/Service ``target`` of the stack, or ``labels`` (exactly one)."""
    other = "labels" if argument == "target" else "peer_labels"
    if (target is None) == (labels is None):
        raise ChaosError(f"{where}: give either {argument} (a Deployment, StatefulSet or Service of the stack) or "
                         f"{other} (a mapping of pod labels), not {'both' if target is not None else 'neither'}")
    if labels is not None:
        if not isinstance(labels, Mapping) or not labels or not all(isinstance(k, str) for k in labels):
            raise ChaosError(f"{where}: {other}={labels!r} must be a non-empty mapping of label names to values")
        return {str(k): str(v) for k, v in labels.items()}
    selector = workload_selector(stack, str(target), cluster)
    return dict(pair.split("=", 1) for pair in selector.split(","))


def _pod_selector(cluster: Any, stack: Stack, labels: dict[str, str], mode: str, value: str | None,
                  where: str) -> dict[str, Any]:
    """Chaos Mesh's pod selector, pinned to the stack's namespace; refused when it would select no pod."""
    from kubernetes import client

    namespace = str(stack.namespace)
    _choice(mode, "mode", where, MODES)
    if mode.startswith("fixed") or mode == "random-max-percent":
        if value is None or not str(value).strip():
            raise ChaosError(f"{where}: mode={mode!r} needs value (a number of pods, or a percentage)")
    elif value is not None:
        raise ChaosError(f"{where}: value={value!r} applies only to the modes fixed, fixed-percent and "
                         "random-max-percent")
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = client.CoreV1Api(cluster.api).list_namespaced_pod(namespace, label_selector=selector).items
    if not pods:
        raise ChaosError(f"{where}: no pod in namespace {namespace} matches {selector}: the fault would select "
                         "nothing")
    spec: dict[str, Any] = {"mode": mode, "selector": {"namespaces": [namespace], "labelSelectors": labels}}
    if value is not None:
        spec["value"] = str(value)
    return spec


# --- create and delete --------------------------------------------------------------------------------------------

def _cluster(stack: Stack) -> Any:
    try:
        return kubernetes_client.cluster_of(stack.kubernetes)
    except StackError as exc:
        raise ChaosError(str(exc)) from None


def _inject(stack: Stack, cluster: Any, kind: str, fault: str, spec: dict[str, Any],
            duration: str | None, configuration: Configuration) -> dict[str, Any]:
    namespace = str(stack.namespace)
    if duration is not None:
        spec["duration"] = duration
    name = f"blissful-{fault}-{uuid.uuid4().hex[:10]}"
    run_id = str((configuration or {}).get(RUN_ID_KEY) or "none")
    labels = {**MANAGED_BY, RUN_LABEL: re.sub(r"[^A-Za-z0-9_.-]", "-", run_id)[:63].strip("-_.") or "none"}
    key = record_fault(FAMILY, configuration, fault=fault, chaos_kind=kind, name=name, namespace=namespace,
                       kubeconfig=str(stack.kubernetes["kubeconfig"]), context=stack.kubernetes.get("context"),
                       server=cluster.server)
    try:
        chaos_mesh.create(cluster, namespace, kind, name, spec, {**labels, chaos_mesh.FAULT_LABEL: key})
    except chaos_mesh.NotCreated:
        forget_fault(key)  # refused: nothing was created (any other failure keeps the entry, so it is deleted later)
        raise
    return {"kind": kind, "name": name, "namespace": namespace, "fault": fault, "ledger_key": key,
            "created_at": time.time(), "spec": spec}


def network_chaos(action: str = "delay", target: str | None = None, labels: Mapping[str, str] | None = None,
                  mode: str = "all", value: str | None = None, latency: str | float | None = None,
                  jitter: str | float | None = None, loss: str | float | None = None,
                  correlation: str | float | None = None, direction: str | None = None,
                  peer: str | None = None, peer_labels: Mapping[str, str] | None = None,
                  duration: str | float | None = None, configuration: Configuration = None) -> dict[str, Any]:
    """A NetworkChaos on the pods of ``target`` (or ``labels``):

    - ``action="delay"``: ``latency`` (``"500ms"``; a number is milliseconds), optional ``jitter``, ``correlation``;
    - ``action="loss"``: ``loss`` percent of packets dropped, optional ``correlation``;
    - ``action="partition"``: no traffic between them and ``peer`` (a workload of the stack) or ``peer_labels``,
      ``direction`` ``to`` (default), ``from`` or ``both``.

    ``mode`` (``all``, ``one``, ``fixed`` ...) and ``value`` pick among the pods; ``duration`` (``"30s"``; a number
    is seconds) bounds the fault on Chaos Mesh's side too. Returns the resource's kind, name and namespace."""
    where = f"network_chaos(action={action!r})"
    _choice(action, "action", where, ("delay", "loss", "partition"))
    stack = kubernetes_stack(configuration)
    spec: dict[str, Any] = {"action": action}
    if action == "delay":
        _unused(where, action, loss=loss, peer=peer, peer_labels=peer_labels, direction=direction)
        if latency is None:
            raise ChaosError(f"{where}: latency is required (e.g. '500ms')")
        delay = {"latency": _duration(latency, "latency", where, "ms")}
        if jitter is not None:
            delay["jitter"] = _duration(jitter, "jitter", where, "ms")
        if correlation is not None:
            delay["correlation"] = _percent(correlation, "correlation", where)
        spec["delay"] = delay
    elif action == "loss":
        _unused(where, action, latency=latency, jitter=jitter, peer=peer, peer_labels=peer_labels,
                direction=direction)
        if loss is None:
            raise ChaosError(f"{where}: loss is required (the percentage of packets dropped, e.g. 50)")
        spec["loss"] = {"loss": _percent(loss, "loss", where)}
        if correlation is not None:
            spec["loss"]["correlation"] = _percent(correlation, "correlation", where)
    else:
        _unused(where, action, latency=latency, jitter=jitter, loss=loss, correlation=correlation)
        spec["direction"] = _choice(direction or "to", "direction", where, ("to", "from", "both"))
    seconds = _duration(duration, "duration", where)
    cluster = _cluster(stack)
    chaos_mesh.require_crd(cluster, str(stack.namespace), "NetworkChaos")
    spec.update(_pod_selector(cluster, stack, _labels(cluster, stack, target, labels, where), mode, value, where))
    if action == "partition":
        other = _labels(cluster, stack, peer, peer_labels, where, argument="peer")
        spec["target"] = _pod_selector(cluster, stack, other, "all", None, f"{where} peer")
    return _inject(stack, cluster, "NetworkChaos", f"network-{action}", spec, seconds, configuration)


def stress_chaos(target: str | None = None, labels: Mapping[str, str] | None = None, mode: str = "all",
                 value: str | None = None, cpu_workers: int | None = None, cpu_load: int | None = None,
                 memory_workers: int | None = None, memory_size: str | None = None,
                 duration: str | float | None = None, configuration: Configuration = None) -> dict[str, Any]:
    """A StressChaos in the pods of ``target`` (or ``labels``): ``cpu_workers`` busy workers at ``cpu_load`` percent
    each, and/or ``memory_workers`` workers holding ``memory_size`` (``"256MB"``, ``"90%"``) each."""
    where = "stress_chaos"
    stressors: dict[str, Any] = {}
    if cpu_workers is not None or cpu_load is not None:
        load = float(_percent(cpu_load if cpu_load is not None else 100, "cpu_load", where) or 0)
        if load < 1:
            raise ChaosError(f"{where}: cpu_load={cpu_load!r} must be 1-100 (percent of a CPU per worker)")
        stressors["cpu"] = {"workers": _count(cpu_workers if cpu_workers is not None else 1, "cpu_workers", where),
                            "load": round(load)}
    if memory_workers is not None or memory_size is not None:
        if memory_size is None or not _SIZE.match(str(memory_size).strip()):
            raise ChaosError(f"{where}: memory_size={memory_size!r} is not a size (e.g. '256MB', '1GB', '90%')")
        stressors["memory"] = {"workers": _count(memory_workers if memory_workers is not None else 1,
                                                 "memory_workers", where), "size": str(memory_size).strip()}
    if not stressors:
        raise ChaosError(f"{where}: give a CPU stressor (cpu_workers, cpu_load) and/or a memory stressor "
                         "(memory_size, memory_workers)")
    seconds = _duration(duration, "duration", where)
    stack = kubernetes_stack(configuration)
    cluster = _cluster(stack)
    chaos_mesh.require_crd(cluster, str(stack.namespace), "StressChaos")
    spec = {**_pod_selector(cluster, stack, _labels(cluster, stack, target, labels, where), mode, value, where),
            "stressors": stressors}
    fault = "stress-" + "-".join(sorted(stressors))
    return _inject(stack, cluster, "StressChaos", fault, spec, seconds, configuration)


def _count(value: Any, argument: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit() or int(value) < 1:
        raise ChaosError(f"{where}: {argument}={value!r} must be a whole number ≥ 1")
    return int(value)


def dns_chaos(action: str = "error", patterns: list[str] | None = None, target: str | None = None,
              labels: Mapping[str, str] | None = None, mode: str = "all", value: str | None = None,
              duration: str | float | None = None, configuration: Configuration = None) -> dict[str, Any]:
    """A DNSChaos for the pods of ``target`` (or ``labels``): lookups of names matching ``patterns`` (``"*"``
    wildcards; all names when omitted) fail (``action="error"``) or get random addresses (``"random"``). Chaos
    Mesh answers through its own DNS server, which must be deployed with it."""
    where = f"dns_chaos(action={action!r})"
    _choice(action, "action", where, ("error", "random"))
    if patterns is not None and (not isinstance(patterns, list) or not patterns
                                 or not all(isinstance(p, str) and p.strip() for p in patterns)):
        raise ChaosError(f"{where}: patterns={patterns!r} must be a non-empty list of name patterns "
                         "(e.g. ['postgres', '*.svc.cluster.local'])")
    seconds = _duration(duration, "duration", where)
    stack = kubernetes_stack(configuration)
    cluster = _cluster(stack)
    chaos_mesh.require_crd(cluster, str(stack.namespace), "DNSChaos")
    pods = _labels(cluster, stack, target, labels, where)
    spec = {"action": action, **_pod_selector(cluster, stack, pods, mode, value, where)}
    if patterns is not None:
        spec["patterns"] = list(patterns)
    return _inject(stack, cluster, "DNSChaos", f"dns-{action}", spec, seconds, configuration)


def delete_chaos(kind: str | None = None, configuration: Configuration = None) -> list[str]:
    """Rollback: delete the Chaos Mesh resources this run created in the stack's namespace (only ``kind`` when
    given), wait until each is gone, and cross them out of the fault ledger. Returns their names."""
    if kind is not None:
        chaos_mesh.plural(kind)  # an unknown kind is an error naming the known ones
    stack = kubernetes_stack(configuration)
    match: dict[str, Any] = {"family": FAMILY, "namespace": stack.namespace,
                             "kubeconfig": str(stack.kubernetes["kubeconfig"])}
    run_id = (configuration or {}).get(RUN_ID_KEY)
    if run_id:
        match["run_id"] = str(run_id)
    if kind is not None:
        match["chaos_kind"] = kind
    removed = []
    for key, entry in find_faults(**match).items():
        if int(entry.get("owner_pid", -1)) != os.getpid():
            continue  # another process's fault (its own run removes it)
        remove_fault(key, entry)
        removed.append(str(entry["name"]))
    return removed
