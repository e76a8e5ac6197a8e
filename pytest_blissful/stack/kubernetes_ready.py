"""Is a Kubernetes object ready, and if not, why: pure functions over the objects' JSON (``to_dict()``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGE_ERRORS = {"ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName"}


@dataclass(frozen=True)
class ResourceStatus:
    """``stack.resource("deployment/api")``: does it exist, is it ready, and why not."""

    ref: str
    exists: bool
    ready: bool
    reason: str

    def explain(self) -> str:
        state = "ready" if self.ready else ("not ready" if self.exists else "missing")
        return f"{self.ref}: {state} ({self.reason})"

    def __str__(self) -> str:
        return self.explain()


def _get(obj: dict[str, Any], *path: str, default: Any = None) -> Any:
    value: Any = obj
    for key in path:
        if not isinstance(value, dict) or value.get(key) is None:
            return default
        value = value[key]
    return value


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in _get(obj, "status", "conditions", default=[]) or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def readiness(obj: dict[str, Any], ready_endpoints: int | None = None) -> tuple[bool, str]:
    """(ready, reason) for one object; kinds without a notion of readiness are ready once they exist.
    ``ready_endpoints`` is the number of ready endpoints of a Service (None: not counted)."""
    kind = obj.get("kind", "")
    generation = _get(obj, "metadata", "generation", default=0)
    observed = _get(obj, "status", "observedGeneration", default=0)
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        want = _get(obj, "spec", "replicas", default=1)
        ready = _get(obj, "status", "readyReplicas", default=0)
        updated = _get(obj, "status", "updatedReplicas", default=0) if kind != "ReplicaSet" else want
        available = _get(obj, "status", "availableReplicas", default=ready) if kind == "Deployment" else ready
        total = _get(obj, "status", "replicas", default=0)
        progressing = _condition(obj, "Progressing")
        stalled = progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded"
        ok = observed >= generation and ready >= want and available >= want and updated >= want and total == want
        reason = f"{ready}/{want} replicas ready, {updated} updated"
        if stalled and progressing:
            reason += f"; {progressing.get('message', 'progress deadline exceeded')}"
        return ok, reason
    if kind == "DaemonSet":
        want = _get(obj, "status", "desiredNumberScheduled", default=0)
        ready = _get(obj, "status", "numberReady", default=0)
        return observed >= generation and ready >= want, f"{ready}/{want} pods ready"
    if kind == "Pod":
        phase = _get(obj, "status", "phase", default="Pending")
        condition = _condition(obj, "Ready")
        if phase == "Succeeded":
            return True, "Succeeded"
        ok = condition is not None and condition.get("status") == "True"
        return ok, f"phase {phase}" + ("" if ok else f", {pod_problem(obj) or 'containers not ready'}")
    if kind == "Job":
        complete = _condition(obj, "Complete")
        failed = _condition(obj, "Failed")
        if failed and failed.get("status") == "True":
            return False, f"failed: {failed.get('message', failed.get('reason'))}"
        return bool(complete and complete.get("status") == "True"), "complete" if complete else "running"
    if kind == "Rollout":
        phase = _get(obj, "status", "phase", default="")
        message = _get(obj, "status", "message", default="")
        detail = f"phase {phase or 'unknown'}" + (f": {message}" if message else "")
        return observed_ok(obj) and phase == "Healthy", detail
    if kind == "PersistentVolumeClaim":
        phase = _get(obj, "status", "phase", default="Pending")
        return phase == "Bound", f"phase {phase}"
    if kind == "Service" and ready_endpoints is not None and _get(obj, "spec", "selector"):
        return ready_endpoints > 0, f"{ready_endpoints} ready endpoint(s)"
    return True, "exists"


def observed_ok(obj: dict[str, Any]) -> bool:
    # Argo Rollouts writes observedGeneration as a string
    generation = str(_get(obj, "metadata", "generation", default=""))
    observed = str(_get(obj, "status", "observedGeneration", default=""))
    return not generation or observed == generation


def pod_problem(pod: dict[str, Any]) -> str:
    """Why a pod is not ready, in one line: unschedulable, image missing, crash-looping, probe failing..."""
    name = _get(pod, "metadata", "name", default="?")
    scheduled = _condition(pod, "PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        return f"pod {name} not scheduled: {scheduled.get('message') or scheduled.get('reason')}"
    statuses = (_get(pod, "status", "initContainerStatuses", default=[]) or []) + \
        (_get(pod, "status", "containerStatuses", default=[]) or [])
    for status in statuses:
        waiting = _get(status, "state", "waiting")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            detail = waiting.get("message") or ""
            if waiting.get("reason") in IMAGE_ERRORS:
                return (f"pod {name}: image {status.get('image')!r} not found on node "
                        f"{_get(pod, 'spec', 'nodeName', default='?')} ({waiting['reason']}: {detail})")
            last = _get(status, "lastState", "terminated")
            exit_info = f" (last exit code {last.get('exitCode')}, {last.get('reason')})" if last else ""
            return f"pod {name}: container {status.get('name')} {waiting['reason']}{exit_info}: {detail}".rstrip(": ")
        terminated = _get(status, "state", "terminated")
        if terminated and terminated.get("exitCode", 0) != 0:
            return f"pod {name}: container {status.get('name')} exited {terminated.get('exitCode')} " \
                   f"({terminated.get('reason')})"
        if not status.get("ready"):
            return f"pod {name}: container {status.get('name')} not ready (readiness probe failing or starting)"
    return ""


def image_error(pod: dict[str, Any]) -> str | None:
    """The pod's image problem (an image the node cannot find/pull), if any: waiting will not fix it."""
    statuses = (_get(pod, "status", "initContainerStatuses", default=[]) or []) + \
        (_get(pod, "status", "containerStatuses", default=[]) or [])
    for status in statuses:
        if (_get(status, "state", "waiting", "reason") or "") in IMAGE_ERRORS:
            return pod_problem(pod)
    return None
