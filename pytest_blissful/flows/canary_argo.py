"""The canary on Kubernetes, driven by the real Argo Rollouts controller.

:class:`ArgoCanary` applies the AnalysisTemplates and the Rollout in the run's namespace, waits for the stable
version to be Healthy, sets the new image (or another pod template change), then follows what the controller
does: ``status.currentStepIndex``, ``status.pauseConditions``, ``status.abort``, ``status.phase``/``message`` and
the AnalysisRuns it owns (their phases and measurements).  It promotes and aborts through the API exactly as
``kubectl argo rollouts promote`` / ``abort`` do (merge patches of the status subresource, and ``spec.paused``),
and returns the same :class:`~pytest_blissful.grading.canary.CanaryResult` as the local controller.

The controller decides; this module only observes, so the analysis is Argo's own.  What the plugin adds:

* the ``web`` metric provider (:mod:`pytest_blissful.flows.canary_web`): templates that read
  ``{{args.blissful-metrics-url}}/figure/<figure>`` get the plugin's figures;
* every measurement the controller took is graded again with the template's conditions by
  :func:`~pytest_blissful.grading.canary.evaluate_result` (the local grading); a disagreement is a warning in the
  result, so the same AnalysisTemplate is graded locally and by the controller and both must agree;
* step timings, weight changes and, after an abort, the rollback timing: from the failed measurement and the abort
  to the stable ReplicaSet serving all replicas again and the canary ReplicaSet at 0.

Times are seconds since the new pod template was set, observed by polling every ``poll_s`` (0.2 s): the API's
timestamps have whole seconds only.  Every wait is bounded; the Rollout and the AnalysisTemplates are deleted on
every exit path (their ReplicaSets, pods and AnalysisRuns go with them), and the run's namespace is deleted by the
stack anyway.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pytest_blissful.config.argo import METRICS_URL_ARG
from pytest_blissful.flows.canary import CanaryControls
from pytest_blissful.flows.canary_web import FigureSource, MetricServer
from pytest_blissful.grading.canary import (
    DEFAULT_ROLLBACK_SLO_S,
    CanaryResult,
    DrillRequest,
    Measurement,
    MetricSpec,
    Outcome,
    Phase,
    RollbackTiming,
    StepRecord,
    WeightChange,
    evaluate_result,
    worst,
)
from pytest_blissful.stack import StackError
from pytest_blissful.stack.kubernetes_client import Cluster, api_message
from pytest_blissful.stack.kubernetes_manifests import Manifest

__all__ = ["ArgoCanary", "has_rollouts", "run_argo_canary"]

GROUP: Final = "argoproj.io"
VERSION: Final = "v1alpha1"
_ROLLOUTS: Final = "rollouts"
_TEMPLATES: Final = "analysistemplates"
_RUNS: Final = "analysisruns"
_HASH_LABEL: Final = "rollouts-pod-template-hash"
Progress = Callable[[str], None]


def has_rollouts(cluster: Cluster) -> bool:
    """Whether the cluster serves the Rollout kind (Argo Rollouts' CRDs are installed)."""
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    try:
        DynamicClient(cluster.api).resources.get(api_version=f"{GROUP}/{VERSION}", kind="Rollout")
    except ResourceNotFoundError:
        return False
    return True


# ------------------------------------------------------------------------------------------- observations
@dataclass
class _Seen:
    """What the driver observed, in seconds since the new pod template was set."""

    steps_started: dict[int, float] = field(default_factory=dict)
    steps_finished: dict[int, float] = field(default_factory=dict)
    measurement_started: dict[tuple[str, str, int], float] = field(default_factory=dict)
    measurements: dict[tuple[str, str, int], Measurement] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → latest AnalysisRun object
    pause_since: dict[str, float] = field(default_factory=dict)  # pause reason → since
    abort_at: float | None = None
    stable_full_at: float | None = None
    canary_stopped_at: float | None = None
    promoted_at: float | None = None
    warnings: list[str] = field(default_factory=list)


class ArgoCanary:
    """One canary rollout (or rollback drill) of ``rollout`` in ``namespace``, run by the Argo Rollouts controller.

    ``image`` and ``env`` (for ``container``, default the first container) and/or ``template_patch`` (a merge
    patch of ``spec.template``) make the new version.  ``figures`` answers the ``web`` metrics of templates that read
    ``{{args.blissful-metrics-url}}``.  ``max_pause_s`` promotes a pause (timed or indefinite) once it lasted
    that long, as ``kubectl argo rollouts promote`` would; ``controls`` promote/abort on request.
    """

    def __init__(self, cluster: Cluster, namespace: str, rollout: Manifest, templates: Sequence[Manifest] = (), *,
                 run_id: str, image: str | None = None, container: str | None = None,
                 env: Mapping[str, str] | None = None, template_patch: Mapping[str, Any] | None = None,
                 figures: FigureSource | None = None,
                 name: str = "canary", drill: DrillRequest | None = None, controls: CanaryControls | None = None,
                 max_pause_s: float | None = None, deadline_s: float = 600.0, startup_timeout_s: float = 60.0,
                 rollback_slo_s: float = DEFAULT_ROLLBACK_SLO_S, rollback_timeout_s: float = 60.0,
                 cleanup_timeout_s: float = 30.0, poll_s: float = 0.2, progress: Progress | None = None) -> None:
        if rollout.kind != "Rollout":
            raise StackError(f"{rollout.source}: {rollout.ref} is not an Argo Rollout")
        if image is None and not template_patch and not env:
            raise StackError(f"{rollout.source}: {rollout.ref}: give the new image (or a pod template change) to "
                             "roll out")
        self.cluster, self.namespace = cluster, namespace
        self.rollout, self.templates = rollout, list(templates)
        self.run_id = run_id
        self.image, self.container, self.template_patch = image, container, dict(template_patch or {})
        self.env = dict(env or {})
        self.figures = figures
        self.name, self.drill = name, drill
        self.controls = controls or CanaryControls()
        self.max_pause_s, self.deadline_s = max_pause_s, deadline_s
        self.startup_timeout_s, self.rollback_timeout_s = startup_timeout_s, rollback_timeout_s
        self.cleanup_timeout_s = cleanup_timeout_s
        self.rollback_slo_s, self.poll_s = rollback_slo_s, poll_s
        self.progress = progress or (lambda _m: None)
        self.steps: list[dict[str, Any]] = list(
            (rollout.body.get("spec", {}).get("strategy", {}).get("canary") or {}).get("steps") or [])
        self.server: MetricServer | None = None
        self.seen = _Seen()
        self._t0 = time.monotonic()
        self._uid = ""
        self._stable_hash = ""
        self._versions: dict[str, str] = {}
        self._figure_of: dict[str, str] = {}  # metric → figure of the plugin's web provider
        self._claimed: dict[str, set[int]] = {}
        self._aborted_by_test = False
        self._local = self._local_specs()

    # ------------------------------------------------------------------------------------------ API
    def _co(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.cluster.api)

    def _apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.cluster.api)

    def _get(self) -> dict[str, Any]:
        obj: dict[str, Any] = self._co().get_namespaced_custom_object(GROUP, VERSION, self.namespace, _ROLLOUTS,
                                                                      self.rollout.name, _request_timeout=10)
        return obj

    def now(self) -> float:
        return time.monotonic() - self._t0

    # ------------------------------------------------------------------------------------------ run
    def run(self) -> CanaryResult:
        """Apply, wait for the stable version, roll the new one out, follow it to its end; always clean up."""
        from pytest_blissful.stack import kubernetes

        if not has_rollouts(self.cluster):
            raise StackError(f"{self.rollout.source}: {self.rollout.ref} needs Argo Rollouts, which is not installed "
                             f"in the cluster at {self.cluster.server} (no Rollout kind in {GROUP}/{VERSION}; install "
                             "its CRDs and controller: ./scripts/setup.sh kubernetes does for the local cluster)")
        self._check_namespace()
        with self._metric_server():
            try:
                manifests = [*self.templates, Manifest(self.rollout.source, self._with_metric_args())]
                kubernetes.apply(self.cluster, manifests, self.namespace, self.run_id)
                self._wait_stable()
                self._roll_out()
                outcome = self._follow()
                if outcome == "aborted":
                    self._wait_rollback()
                return self._result(outcome)
            finally:
                self._clean_up()

    def _check_namespace(self) -> None:
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        try:
            client.CoreV1Api(self.cluster.api).read_namespace(self.namespace, _request_timeout=10)
        except ApiException as exc:
            if exc.status == 404:
                raise StackError(f"namespace {self.namespace} does not exist on {self.cluster.server}: the canary "
                                 "runs in the stack's namespace (created per run)") from None
            raise StackError(f"reading namespace {self.namespace}: {api_message(exc)}") from None

    @contextlib.contextmanager
    def _metric_server(self) -> Iterator[None]:
        if not self._reads_metric_url():
            yield
            return
        if not self.cluster.local:
            raise StackError(f"{self.rollout.ref}: an AnalysisTemplate reads {{{{args.{METRICS_URL_ARG}}}}}, the "
                             f"plugin's metric endpoint on 127.0.0.1, but the cluster at {self.cluster.server} is not "
                             "on this machine: its controller cannot reach it")
        if self.figures is None:
            self.seen.warnings.append(f"the templates read {{{{args.{METRICS_URL_ARG}}}}} but no figures were given: "
                                      "the plugin answered null (no data) to every measurement")
        with MetricServer(self.figures or (lambda _figure: None)) as server:
            self.server = server
            try:
                yield
            finally:
                self.server = None

    def _reads_metric_url(self) -> bool:
        return any(METRICS_URL_ARG in json.dumps(t.body) for t in self.templates)

    def _with_metric_args(self) -> dict[str, Any]:
        """The Rollout with ``blissful-metrics-url`` given to every analysis whose templates declare it."""
        body = copy.deepcopy(self.rollout.body)
        if self.server is None:
            return body
        declaring = {t.name for t in self.templates
                     if any(a.get("name") == METRICS_URL_ARG for a in t.body.get("spec", {}).get("args") or [])}
        canary = body.get("spec", {}).get("strategy", {}).get("canary") or {}
        refs = [s["analysis"] for s in canary.get("steps") or [] if isinstance(s, dict) and "analysis" in s]
        if canary.get("analysis"):
            refs.append(canary["analysis"])
        for ref in refs:
            names = {t.get("templateName") for t in ref.get("templates") or []}
            args = ref.setdefault("args", [])
            if names & declaring and not any(a.get("name") == METRICS_URL_ARG for a in args):
                args.append({"name": METRICS_URL_ARG, "value": self.server.url})
        return body

    def _wait_stable(self) -> None:
        from pytest_blissful.stack.kubernetes_ready import observed_ok

        deadline = time.monotonic() + self.startup_timeout_s
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            obj = self._get()
            status = obj.get("status") or {}
            want = obj.get("spec", {}).get("replicas", 1)
            if (observed_ok(obj) and status.get("phase") == "Healthy" and status.get("stableRS")
                    and status.get("stableRS") == status.get("currentPodHash")
                    and status.get("availableReplicas", 0) >= want):
                self._uid = obj["metadata"]["uid"]
                self._stable_hash = status["stableRS"]
                return
            time.sleep(self.poll_s)
        raise StackError(
            f"{self.rollout.ref} in namespace {self.namespace}: the stable version was not Healthy within "
            f"{self.startup_timeout_s:g} s (phase {status.get('phase') or 'unknown'!r}"
            + (f": {status['message']}" if status.get("message") else "")
            + "; is the Argo Rollouts controller running? ./scripts/setup.sh kubernetes starts it locally)")

    def _roll_out(self) -> None:
        obj = self._get()
        template = copy.deepcopy(obj["spec"]["template"])
        containers = template.get("spec", {}).get("containers") or []
        patch: dict[str, Any] = copy.deepcopy(self.template_patch)
        if self.image is not None or self.env:
            index = 0
            if self.container is not None:
                names = [c.get("name") for c in containers]
                if self.container not in names:
                    raise StackError(f"{self.rollout.ref}: no container {self.container!r} in its pod template "
                                     f"(containers: {', '.join(map(str, names))})")
                index = names.index(self.container)
            old = containers[index].get("image", "")
            if old == self.image and not self.template_patch and not self.env:
                raise StackError(f"{self.rollout.ref}: already runs {self.image}; give a new image to roll out")
            self._versions = {"stable": old, "canary": self.image or old}
            if self.image is not None:
                containers[index]["image"] = self.image
            if self.env:
                kept = [e for e in containers[index].get("env") or [] if e.get("name") not in self.env]
                containers[index]["env"] = kept + [{"name": k, "value": v} for k, v in self.env.items()]
            patch.setdefault("spec", {})["containers"] = containers
        self.progress(f"canary: {self.rollout.ref} in {self.namespace}: new pod template"
                      + (f" (image {self.image})" if self.image else ""))
        self._t0 = time.monotonic()
        try:
            self._co().patch_namespaced_custom_object(GROUP, VERSION, self.namespace, _ROLLOUTS, self.rollout.name,
                                                      {"spec": {"template": patch}}, _request_timeout=10)
        except Exception as exc:
            raise StackError(f"{self.rollout.ref}: the API server rejected the new pod template: "
                             f"{api_message(exc)}") from None

    # ------------------------------------------------------------------------------------------ follow
    def _follow(self) -> Outcome:
        """Poll the Rollout and its AnalysisRuns until promoted, aborted, paused on an inconclusive analysis, or
        ``deadline_s``."""
        last: tuple[Any, ...] = ()
        while True:
            obj = self._get()
            status = obj.get("status") or {}
            now = self.now()
            current = status.get("currentPodHash")
            started = bool(current) and current != self._stable_hash
            index = status.get("currentStepIndex") if started else None
            if index is not None:
                self._track_steps(int(index), now)
            self._track_runs(now)
            reasons = {c.get("reason"): c for c in status.get("pauseConditions") or []}
            for reason in list(self.seen.pause_since):
                if reason not in reasons:
                    del self.seen.pause_since[reason]
            for reason in reasons:
                self.seen.pause_since.setdefault(reason, now)
            snapshot = (index, status.get("phase"), status.get("abort"), tuple(reasons), status.get("message"))
            if snapshot != last:
                self.progress(f"canary: step {index} phase {status.get('phase')}"
                              + (f" paused {','.join(map(str, reasons))}" if reasons else "")
                              + (" aborted" if status.get("abort") else "")
                              + (f": {status['message']}" if status.get("message") else ""))
                last = snapshot
            if status.get("abort"):
                self.seen.abort_at = self.seen.abort_at if self.seen.abort_at is not None else now
                return "aborted"
            if "InconclusiveAnalysisRun" in reasons:
                return "paused"
            if started and self._promoted(obj):
                self.seen.promoted_at = now
                if index is not None:
                    self._track_steps(len(self.steps), now)
                return "promoted"
            if self.controls.abort_requested:
                self._abort()
                self.seen.abort_at = self.now()
                continue
            if started and (self.controls.promote_requested or self._pause_over(reasons, now)):
                self.controls.promote_requested = False
                self._promote(obj)
            if now > self.deadline_s:
                self.seen.warnings.append(f"the rollout did not finish within {self.deadline_s:g} s")
                return "incomplete"
            time.sleep(self.poll_s)

    def _pause_over(self, reasons: Mapping[str, Any], now: float) -> bool:
        since = self.seen.pause_since.get("CanaryPauseStep")
        return "CanaryPauseStep" in reasons and self.max_pause_s is not None and since is not None and (
            now - since >= self.max_pause_s)

    def _promoted(self, obj: dict[str, Any]) -> bool:
        from pytest_blissful.stack.kubernetes_ready import observed_ok

        status = obj.get("status") or {}
        return (observed_ok(obj) and status.get("phase") == "Healthy"
                and status.get("stableRS") == status.get("currentPodHash")
                and status.get("availableReplicas", 0) >= obj.get("spec", {}).get("replicas", 1))

    def _track_steps(self, index: int, now: float) -> None:
        seen = self.seen
        for i in range(min(index, len(self.steps))):
            seen.steps_started.setdefault(i, now)
            seen.steps_finished.setdefault(i, now)
        if index < len(self.steps):
            seen.steps_started.setdefault(index, now)

    def _track_runs(self, now: float) -> None:
        listed = self._co().list_namespaced_custom_object(GROUP, VERSION, self.namespace, _RUNS, _request_timeout=10)
        for run in listed.get("items") or []:
            owners = run.get("metadata", {}).get("ownerReferences") or []
            if not any(o.get("uid") == self._uid for o in owners):
                continue
            labels = run["metadata"].get("labels") or {}
            if labels.get(_HASH_LABEL) == self._stable_hash:
                continue  # a run of the stable version's rollout, if any
            name = run["metadata"]["name"]
            self.seen.runs[name] = run
            step = int(labels["step-index"]) if str(labels.get("step-index", "")).isdigit() else None
            if step is not None:  # the run's step was reached, even if polling never saw that index (an abort
                self._track_steps(step, now)  # resets status.currentStepIndex to 0)
            for result in (run.get("status") or {}).get("metricResults") or []:
                for j, m in enumerate(result.get("measurements") or []):
                    key = (name, str(result.get("name")), j)
                    self.seen.measurement_started.setdefault(key, now)
                    phase = m.get("phase")
                    if key in self.seen.measurements or phase in (None, "Running", "Pending"):
                        continue
                    self.seen.measurements[key] = self._measurement(key, m, step, bool(result.get("dryRun")), now)

    def _measurement(self, key: tuple[str, str, int], m: Mapping[str, Any], step: int | None, dry_run: bool,
                     now: float) -> Measurement:
        phase = Phase(str(m.get("phase")))
        value = str(m.get("value") or "")
        message = str(m.get("message") or "")
        self._compare(key[1], phase, value)
        self.progress(f"  measurement {key[1]}: {phase} {value}" + (f" ({message})" if message else ""))
        started = self._answered_at(key[1], now)
        if started is None:
            started = self.seen.measurement_started[key]
        return Measurement(key[1], phase, round(started, 3), round(now, 3), value, message, step, dry_run)

    def _answered_at(self, metric: str, now: float) -> float | None:
        """When the plugin's metric server answered the controller for this measurement (the latest answer for
        the metric's figure not yet claimed by an earlier measurement): a precise start, where polling sees the
        measurement only up to ``poll_s`` later."""
        figure = self._figure_of.get(metric)
        if self.server is None or figure is None:
            return None
        claimed = self._claimed.setdefault(figure, set())
        for index, answer in reversed(list(enumerate(self.server.answers_for(figure)))):
            at = answer.at_monotonic - self._t0
            if index not in claimed and at <= now:
                claimed.add(index)
                return at
        return None

    # ------------------------------------------------------------------------------------------ local grading
    def _local_specs(self) -> dict[str, MetricSpec]:
        """The templates' metrics as the plugin reads them for a local canary (config.argo): the same conditions
        grade what the controller measured; a web metric reading the plugin's figures names its figure."""
        from pytest_blissful.config.argo import template_metrics
        from pytest_blissful.config.discovery import ConfigError

        specs: dict[str, MetricSpec] = {}
        for template in self.templates:
            try:
                metrics = template_metrics(template.body, f"{template.source} ({template.ref})")
            except ConfigError as exc:
                self.seen.warnings.append(f"not graded locally: {exc}")
                continue
            for spec in metrics:
                specs[spec.name] = spec
                if spec.provider == "blissful":
                    self._figure_of[spec.name] = spec.query
        return specs

    def _compare(self, metric: str, phase: Phase, value: str) -> None:
        spec = self._local.get(metric)
        if spec is None or phase is Phase.ERROR:
            return  # an Error is the provider's (no data, no answer): nothing to grade
        try:
            parsed: Any = json.loads(value)
        except ValueError:
            parsed = value
        local, _message = evaluate_result(parsed, spec)
        if local is not phase:
            self.seen.warnings.append(f"metric {metric}: the controller graded {value!r} {phase}, the plugin's "
                                      f"grading of the same template gives {local}")

    # ------------------------------------------------------------------------------------------ promote / abort
    def _promote(self, obj: dict[str, Any]) -> None:
        """What ``kubectl argo rollouts promote`` does: unpause the spec, clear the pause conditions, or (in the
        middle of an analysis) clear them and move to the next step."""
        status = obj.get("status") or {}
        spec_patch: dict[str, Any] | None = {"spec": {"paused": False}} if obj["spec"].get("paused") else None
        status_patch: dict[str, Any] | None = None
        if status.get("pauseConditions"):
            status_patch = {"status": {"pauseConditions": None}}
        elif status.get("currentStepIndex") is not None:
            index = min(int(status["currentStepIndex"]) + 1, len(self.steps))
            status_patch = {"status": {"pauseConditions": None, "currentStepIndex": index}}
        co = self._co()
        self.progress("canary: promote (kubectl argo rollouts promote)")
        if status_patch is not None:
            co.patch_namespaced_custom_object_status(GROUP, VERSION, self.namespace, _ROLLOUTS, self.rollout.name,
                                                     status_patch, _request_timeout=10)
        if spec_patch is not None:
            co.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, _ROLLOUTS, self.rollout.name,
                                              spec_patch, _request_timeout=10)

    def _abort(self) -> None:
        """What ``kubectl argo rollouts abort`` does: ``status.abort: true`` through the status subresource."""
        self.progress("canary: abort (kubectl argo rollouts abort)")
        self.controls.abort_requested = False
        self._aborted_by_test = True
        self._co().patch_namespaced_custom_object_status(GROUP, VERSION, self.namespace, _ROLLOUTS, self.rollout.name,
                                                         {"status": {"abort": True}}, _request_timeout=10)

    # ------------------------------------------------------------------------------------------ rollback
    def _replica_sets(self) -> list[Any]:
        items = self._apps().list_namespaced_replica_set(self.namespace, _request_timeout=10).items
        return [rs for rs in items if any(o.uid == self._uid for o in rs.metadata.owner_references or [])]

    def _wait_rollback(self) -> None:
        """Until the stable ReplicaSet serves all replicas again and the canary ReplicaSet has none."""
        deadline = time.monotonic() + self.rollback_timeout_s
        while time.monotonic() < deadline:
            obj = self._get()
            want = obj.get("spec", {}).get("replicas", 1)
            now = self.now()
            stable_ready = canary_left = 0
            for rs in self._replica_sets():
                rs_hash = (rs.metadata.labels or {}).get(_HASH_LABEL)
                if rs_hash == self._stable_hash:
                    stable_ready = rs.status.ready_replicas or 0
                else:
                    canary_left += (rs.spec.replicas or 0) + (rs.status.replicas or 0)
            self._track_runs(now)
            if self.seen.stable_full_at is None and stable_ready >= want:
                self.seen.stable_full_at = now
            if self.seen.canary_stopped_at is None and canary_left == 0:
                self.seen.canary_stopped_at = now
            if self.seen.stable_full_at is not None and self.seen.canary_stopped_at is not None:
                self.progress(f"canary: rolled back, stable serves {want}/{want} replicas")
                return
            time.sleep(self.poll_s)
        self.seen.warnings.append(f"the rollback did not complete within {self.rollback_timeout_s:g} s")

    # ------------------------------------------------------------------------------------------ cleanup
    def _clean_up(self) -> None:
        """Delete the Rollout (foreground: its ReplicaSets, pods and AnalysisRuns first) and the templates, and
        wait (bounded) until they are gone; what is left is named in the warnings (the namespace takes it)."""
        from kubernetes.client.rest import ApiException

        co = self._co()
        for plural, name in [(_ROLLOUTS, self.rollout.name), *((_TEMPLATES, t.name) for t in self.templates)]:
            try:
                co.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name,
                                                   propagation_policy="Foreground", _request_timeout=10)
            except ApiException as exc:
                if exc.status != 404:
                    self.seen.warnings.append(f"deleting {plural}/{name}: {api_message(exc)}")
            except Exception as exc:  # the cluster went away: the namespace (and the ledger) take the rest
                self.seen.warnings.append(f"deleting {plural}/{name}: {type(exc).__name__}: {exc}")
        deadline = time.monotonic() + self.cleanup_timeout_s
        left: list[str] = []
        while time.monotonic() < deadline:
            try:
                left = leftovers(self.cluster, self.namespace, self.rollout.name, [t.name for t in self.templates])
            except Exception as exc:
                self.seen.warnings.append(f"checking leftovers: {type(exc).__name__}: {exc}")
                return
            if not left:
                return
            time.sleep(self.poll_s)
        self.seen.warnings.append(f"still there {self.cleanup_timeout_s:g} s after the delete: {', '.join(left)}")

    # ------------------------------------------------------------------------------------------ result
    def status(self) -> tuple[StepRecord, ...]:
        """Per step: weight, status (Completed / Running / Pending), analysis, as observed so far."""
        return self._step_records("incomplete")

    def _step_records(self, outcome: Outcome) -> tuple[StepRecord, ...]:
        seen = self.seen
        weight = 0
        records = []
        for i, step in enumerate(self.steps):
            kind, body = next(iter(step.items())) if isinstance(step, dict) and step else ("unknown", None)
            if kind == "setWeight" and isinstance(body, int):
                weight = body
            started, finished = seen.steps_started.get(i), seen.steps_finished.get(i)
            if finished is not None:
                state = "Completed"
            elif started is not None:
                state = {"aborted": "Aborted", "paused": "Paused", "incomplete": "Running"}.get(outcome, "Completed")
            else:
                state = "Skipped" if outcome == "promoted" else "Pending"
            records.append(StepRecord(i, kind, _describe(kind, body), weight, state,
                                      None if started is None else round(started, 3),
                                      None if finished is None else round(finished, 3), self._step_analysis(i)))
        return tuple(records)

    def _step_analysis(self, index: int) -> str:
        for run in self.seen.runs.values():
            if (run["metadata"].get("labels") or {}).get("step-index") == str(index):
                status = run.get("status") or {}
                return str(status.get("phase", "Running")) + (f": {status['message']}" if status.get("message") else "")
        return ""

    def _weights(self, outcome: Outcome) -> tuple[WeightChange, ...]:
        seen = self.seen
        changes = [WeightChange(0.0, 0, "start", 0.0)]
        for i, step in enumerate(self.steps):
            if isinstance(step, dict) and "setWeight" in step and i in seen.steps_started:
                finished = seen.steps_finished.get(i)
                changes.append(WeightChange(round(seen.steps_started[i], 3), int(step["setWeight"]), f"step {i}",
                                            None if finished is None else round(finished, 3)))
        if outcome == "promoted" and seen.promoted_at is not None and changes[-1].weight != 100:
            changes.append(WeightChange(round(seen.promoted_at, 3), 100, "promote", round(seen.promoted_at, 3)))
        if outcome == "aborted" and seen.abort_at is not None:
            changes.append(WeightChange(round(seen.abort_at, 3), 0, "abort",
                                        None if seen.stable_full_at is None else round(seen.stable_full_at, 3)))
        return tuple(changes)

    def _analysis(self, outcome: Outcome, measurements: Sequence[Measurement]) -> tuple[Phase, str]:
        phase: Phase | None = None
        message = ""
        for run in self.seen.runs.values():
            status = run.get("status") or {}
            try:
                run_phase = Phase(status.get("phase") or "Running")
            except ValueError:
                continue
            if run_phase in (Phase.PENDING, Phase.RUNNING):
                continue
            if phase is None or worst(phase, run_phase) is not phase:
                phase, message = run_phase, str(status.get("message") or "")
        if phase is None:
            phase = Phase.SUCCESSFUL if outcome == "promoted" else Phase.RUNNING
        if (outcome == "aborted" and self._aborted_by_test and phase not in (Phase.FAILED, Phase.ERROR)
                and not any(m.phase is Phase.FAILED for m in measurements)):
            phase = Phase.FAILED  # aborted by the test (canary.abort()), as the local controller reports it
        if outcome == "incomplete" and phase is Phase.SUCCESSFUL:
            phase = Phase.RUNNING
        return phase, message

    def _result(self, outcome: Outcome) -> CanaryResult:
        seen = self.seen
        measurements = tuple(sorted(seen.measurements.values(), key=lambda m: (m.finished_at, m.metric)))
        phase, message = self._analysis(outcome, measurements)
        rollout_message = ""
        with contextlib.suppress(Exception):
            rollout_message = str((self._get().get("status") or {}).get("message") or "")
        if outcome == "aborted" and self._aborted_by_test and not any(m.phase is Phase.FAILED for m in measurements):
            message = "aborted by the test (canary.abort())"
        elif outcome == "aborted":
            message = rollout_message or message or "aborted"
        rollback = None
        if outcome == "aborted" and seen.abort_at is not None:
            decisive = next((m for m in measurements if not m.dry_run and m.phase in (Phase.FAILED, Phase.ERROR)),
                            None)
            failed_at = decisive.finished_at if decisive is not None else seen.abort_at
            rollback = RollbackTiming(round(failed_at, 3), round(seen.abort_at, 3),
                                      None if seen.stable_full_at is None else round(seen.stable_full_at, 3),
                                      None if seen.canary_stopped_at is None else round(seen.canary_stopped_at, 3))
        providers = sorted({str(p) for t in self.templates for m in t.body.get("spec", {}).get("metrics") or []
                            for p in (m.get("provider") or {})})
        return CanaryResult(
            name=self.name, driver="argo-rollouts", outcome=outcome, analysis_phase=phase, message=message,
            steps=self._step_records(outcome), measurements=measurements, weights=self._weights(outcome),
            drill=self.drill, rollback=rollback, rollback_slo_s=self.rollback_slo_s, duration_s=self.now(),
            versions=self._versions, provider=",".join(providers), warnings=tuple(seen.warnings),
        )


def leftovers(cluster: Cluster, namespace: str, rollout: str, templates: Sequence[str]) -> list[str]:
    """What remains of a canary in ``namespace``: the Rollout, its templates, AnalysisRuns, ReplicaSets, pods."""
    from kubernetes import client

    co = client.CustomObjectsApi(cluster.api)
    left = [f"rollout/{r['metadata']['name']}" for r in co.list_namespaced_custom_object(
        GROUP, VERSION, namespace, _ROLLOUTS, _request_timeout=10).get("items") or []
        if r["metadata"]["name"] == rollout]
    left += [f"analysistemplate/{t['metadata']['name']}" for t in co.list_namespaced_custom_object(
        GROUP, VERSION, namespace, _TEMPLATES, _request_timeout=10).get("items") or []
        if t["metadata"]["name"] in templates]
    left += [f"analysisrun/{r['metadata']['name']}" for r in co.list_namespaced_custom_object(
        GROUP, VERSION, namespace, _RUNS, _request_timeout=10).get("items") or []
        if r["metadata"]["name"].startswith(f"{rollout}-")]
    apps, core = client.AppsV1Api(cluster.api), client.CoreV1Api(cluster.api)
    left += [f"replicaset/{rs.metadata.name}" for rs in apps.list_namespaced_replica_set(
        namespace, label_selector=_HASH_LABEL, _request_timeout=10).items if rs.metadata.name.startswith(f"{rollout}-")]
    left += [f"pod/{p.metadata.name}" for p in core.list_namespaced_pod(
        namespace, label_selector=_HASH_LABEL, _request_timeout=10).items if p.metadata.name.startswith(f"{rollout}-")]
    return left


def _describe(kind: str, body: Any) -> str:
    if kind == "setWeight":
        return f"setWeight {body}"
    if kind == "pause":
        duration = body.get("duration") if isinstance(body, dict) else None
        return f"pause {duration}" if duration is not None else "pause (until promoted)"
    if kind == "analysis" and isinstance(body, dict):
        return "analysis " + ",".join(str(t.get("templateName")) for t in body.get("templates") or [])
    return kind


def run_argo_canary(cluster: Cluster, namespace: str, rollout: Manifest, templates: Sequence[Manifest] = (),
                    **options: Any) -> CanaryResult:
    """One canary (or drill) on the cluster's Argo Rollouts controller; see :class:`ArgoCanary` for the options."""
    return ArgoCanary(cluster, namespace, rollout, templates, **options).run()
